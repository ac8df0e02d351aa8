package ollama

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/providertest"
	ollamawire "github.com/llmservice/llmservice/internal/wire/ollama"
)

// TestToWireDropsThinking is the translation table of thinking parts toward
// this provider, one row per family that may have produced them: none can
// be sent here, so each is dropped, and the rest of the turn goes through.
func TestToWireDropsThinking(t *testing.T) {
	for _, family := range []string{"anthropic", "openai", "gemini", "ollama", ""} {
		req := llm.ChatRequest{Model: "m", Messages: providertest.ThinkingHistory(family)}
		w, err := toWire(&req, false)
		if err != nil {
			t.Fatalf("toWire(thinking of %q) = %v; want the thinking dropped", family, err)
		}
		b, _ := json.Marshal(w)
		if strings.Contains(string(b), "SECRET") || !strings.Contains(string(b), "Hello") {
			t.Errorf("toWire(thinking of %q) = %s; want the text without the thinking", family, b)
		}
	}
}

// TestFromWireThinking checks that a thinking model's reasoning comes back
// as a thinking part of the ollama family, before the text.
func TestFromWireThinking(t *testing.T) {
	var r ollamawire.ChatResponse
	if err := json.Unmarshal([]byte(`{"model":"qwen3","message":{"role":"assistant","content":"Hello","thinking":"The user says hi."},"done":true,"done_reason":"stop"}`), &r); err != nil {
		t.Fatal(err)
	}
	got := fromWire(&r).Choices[0].Message.Content
	want := []llm.Part{{Type: llm.PartThinking, Text: "The user says hi.", Family: "ollama"}, {Type: llm.PartText, Text: "Hello"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fromWire content mismatch (-want +got):\n%s", diff)
	}
}
