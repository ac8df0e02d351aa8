package gemini

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/providertest"
	geminiwire "github.com/llmservice/llmservice/internal/wire/gemini"
)

// TestToWireDropsThinking is the translation table of thinking parts toward
// Gemini, one row per family that may have produced them: other families'
// reasoning is dropped and the rest of the turn goes through (Gemini's own
// row is TestToWireGeminiSignatures).
func TestToWireDropsThinking(t *testing.T) {
	for _, family := range []string{"anthropic", "openai", "ollama", ""} {
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

// TestToWireGeminiSignatures checks that Gemini's thought signatures read
// from an answer go back on the part they came on: the text or image part
// after them, else the turn's first function call instead of the
// placeholder; the thought text itself is not sent back.
func TestToWireGeminiSignatures(t *testing.T) {
	resp, err := fromWire(&geminiwire.GenerateContentResponse{Candidates: []geminiwire.Candidate{{Content: &geminiwire.Content{Parts: []geminiwire.Part{
		{Text: "pondering", Thought: true},
		{Text: "Answer.", ThoughtSignature: "sigA"},
		{FunctionCall: &geminiwire.FunctionCall{Name: "f", Args: json.RawMessage(`{}`)}, ThoughtSignature: "sigB"},
		{FunctionCall: &geminiwire.FunctionCall{Name: "g", Args: json.RawMessage(`{}`)}},
	}}}}})
	if err != nil {
		t.Fatal(err)
	}
	req := llm.ChatRequest{Model: "gemini-3-pro-preview", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "Hi"), resp.Choices[0].Message}}
	w, err := toWire(&req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(w.Contents[1])
	want := `{"role":"model","parts":[{"text":"Answer.","thoughtSignature":"sigA"},{"functionCall":{"name":"f","args":{}},"thoughtSignature":"sigB"},` +
		`{"functionCall":{"name":"g","args":{}},"thoughtSignature":"skip_thought_signature_validator"}]}`
	if string(got) != want {
		t.Errorf("model turn = %s; want %s", got, want)
	}
}
