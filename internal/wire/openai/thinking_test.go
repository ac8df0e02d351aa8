package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmservice/llmservice/internal/llm"
)

// TestFromLLMDropsThinking is the translation table of thinking parts
// toward Chat Completions, one row per producing family: there is no place
// for them, so each is dropped and never sent as text.
func TestFromLLMDropsThinking(t *testing.T) {
	for _, family := range []string{"anthropic", "openai", "gemini", "ollama", ""} {
		req := llm.ChatRequest{Model: "m", Messages: []llm.Message{
			llm.TextMessage(llm.RoleUser, "Hi"),
			{Role: llm.RoleAssistant, Content: []llm.Part{
				{Type: llm.PartThinking, Text: "SECRET-THOUGHT", Signature: "SECRET-SIG", Family: family},
				{Type: llm.PartRedactedThinking, Data: "SECRET-DATA", Family: family},
				{Type: llm.PartText, Text: "Hello"},
			}},
		}}
		b, _ := json.Marshal(FromLLM(&req))
		if strings.Contains(string(b), "SECRET") || !strings.Contains(string(b), `"content":"Hello"`) {
			t.Errorf("FromLLM(thinking of %q) = %s; want the text alone", family, b)
		}
	}
}
