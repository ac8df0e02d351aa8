package gemini

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// TestToWireDropsThinking is the translation table of thinking parts toward
// this provider, one row per family that may have produced them: none can
// be sent here, so each is dropped, and the rest of the turn goes through.
func TestToWireDropsThinking(t *testing.T) {
	for _, family := range []string{"anthropic", "openai", "gemini", "ollama", ""} {
		req := llm.ChatRequest{Model: "m", Messages: providertest.ThinkingHistory(family)}
		w, err := toWire(&req)
		if err != nil {
			t.Fatalf("toWire(thinking of %q) = %v; want the thinking dropped", family, err)
		}
		b, _ := json.Marshal(w)
		if strings.Contains(string(b), "SECRET") || !strings.Contains(string(b), "Hello") {
			t.Errorf("toWire(thinking of %q) = %s; want the text without the thinking", family, b)
		}
	}
}
