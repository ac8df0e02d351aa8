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

// TestCompletionFromLLMHidesThinking checks an answer with reasoning and a
// tool call: the reasoning is not shown, and content stays null as for any
// tool-call-only answer.
func TestCompletionFromLLMHidesThinking(t *testing.T) {
	resp := &llm.ChatResponse{Choices: []llm.Choice{{Message: llm.Message{Role: llm.RoleAssistant,
		Content:   []llm.Part{{Type: llm.PartThinking, Text: "SECRET", Signature: "SECRET-SIG", Family: "anthropic"}},
		ToolCalls: []llm.ToolCall{{ID: "c1", Name: "f", Arguments: "{}"}}}, FinishReason: llm.FinishToolCalls}}}
	b, _ := json.Marshal(CompletionFromLLM(resp, "id", "m"))
	if strings.Contains(string(b), "SECRET") || !strings.Contains(string(b), `"content":null`) {
		t.Errorf("CompletionFromLLM = %s; want content null and no thinking", b)
	}
	for _, c := range []llm.Chunk{{Thinking: "x"}, {Signature: "s"}, {RedactedThinking: "d"}} {
		if !c.ThinkingOnly() {
			t.Errorf("%+v.ThinkingOnly() = false; want true", c)
		}
	}
	if c := (llm.Chunk{Thinking: "x", Text: "y"}); c.ThinkingOnly() {
		t.Errorf("%+v.ThinkingOnly() = true; want false", c)
	}
}
