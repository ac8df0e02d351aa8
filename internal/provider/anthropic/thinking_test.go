package anthropic

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice/internal/llm"
)

// TestToWireThinkingByFamily is the translation table of thinking parts
// toward Anthropic, one row per family that may have produced them: only
// Anthropic's own signed blocks go back, verbatim; anything the API could
// not verify is dropped, and a turn left empty by the drop disappears.
func TestToWireThinkingByFamily(t *testing.T) {
	call := []llm.ToolCall{{ID: "toolu_1", Name: "f", Arguments: `{"a":1}`}}
	turn := func(parts ...llm.Part) llm.ChatRequest {
		return llm.ChatRequest{Model: "m", Messages: []llm.Message{
			user("Hi"),
			{Role: llm.RoleAssistant, Content: parts, ToolCalls: call},
			{Role: llm.RoleTool, ToolCallID: "toolu_1", Content: []llm.Part{{Type: llm.PartText, Text: "42"}}},
		}}
	}
	const tail = `{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"42"}]}]}`
	const toolUse = `{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}`
	tests := []struct {
		name string
		req  llm.ChatRequest
		want string
	}{{
		name: "anthropic signed thinking and redacted thinking go back byte for byte, first",
		req: turn(
			llm.Part{Type: llm.PartThinking, Text: "Let me think.", Signature: "EqQBCgIYAhIM+/==", Family: "anthropic"},
			llm.Part{Type: llm.PartRedactedThinking, Data: "EmwKAhgB", Family: "anthropic"},
			llm.Part{Type: llm.PartText, Text: "Calling."}),
		want: `[{"role":"user","content":[{"type":"text","text":"Hi"}]},
			{"role":"assistant","content":[{"type":"thinking","thinking":"Let me think.","signature":"EqQBCgIYAhIM+/=="},
				{"type":"redacted_thinking","data":"EmwKAhgB"},{"type":"text","text":"Calling."},` + toolUse + `]},` + tail + `]`,
	}, {
		name: "anthropic thinking with an empty text keeps both fields",
		req:  turn(llm.Part{Type: llm.PartThinking, Signature: "sig", Family: "anthropic"}),
		want: `[{"role":"user","content":[{"type":"text","text":"Hi"}]},
			{"role":"assistant","content":[{"type":"thinking","thinking":"","signature":"sig"},` + toolUse + `]},` + tail + `]`,
	}, {
		name: "anthropic thinking without a signature is dropped",
		req:  turn(llm.Part{Type: llm.PartThinking, Text: "unsigned", Family: "anthropic"}),
		want: `[{"role":"user","content":[{"type":"text","text":"Hi"}]},{"role":"assistant","content":[` + toolUse + `]},` + tail + `]`,
	}, {
		name: "openai reasoning is dropped",
		req: turn(llm.Part{Type: llm.PartThinking, Text: "r", Signature: "x", Family: "openai"},
			llm.Part{Type: llm.PartRedactedThinking, Data: "gAAAA", Family: "openai"}),
		want: `[{"role":"user","content":[{"type":"text","text":"Hi"}]},{"role":"assistant","content":[` + toolUse + `]},` + tail + `]`,
	}, {
		name: "gemini thought signatures are dropped",
		req:  turn(llm.Part{Type: llm.PartThinking, Text: "thought", Signature: "CiQB", Family: "gemini"}),
		want: `[{"role":"user","content":[{"type":"text","text":"Hi"}]},{"role":"assistant","content":[` + toolUse + `]},` + tail + `]`,
	}, {
		name: "ollama and unknown-family thinking are dropped",
		req: turn(llm.Part{Type: llm.PartThinking, Text: "local", Family: "ollama"},
			llm.Part{Type: llm.PartThinking, Text: "who", Signature: "s"}),
		want: `[{"role":"user","content":[{"type":"text","text":"Hi"}]},{"role":"assistant","content":[` + toolUse + `]},` + tail + `]`,
	}, {
		name: "a turn holding only another family's thinking disappears",
		req: llm.ChatRequest{Model: "m", Messages: []llm.Message{
			user("Hi"),
			{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartThinking, Text: "r", Family: "openai"}}},
			user("Again"),
		}},
		want: `[{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"text","text":"Again"}]}]`,
	}, {
		name: "thinking in a user turn is never sent",
		req: llm.ChatRequest{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{
			{Type: llm.PartThinking, Text: "x", Signature: "s", Family: "anthropic"},
			{Type: llm.PartText, Text: "Hi"}}}}},
		want: `[{"role":"user","content":[{"type":"text","text":"Hi"}]}]`,
	}, {
		name: "cache_control travels on text and image blocks as written",
		req: llm.ChatRequest{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{
			{Type: llm.PartText, Text: "long document", CacheControl: json.RawMessage(`{"type":"ephemeral","ttl":"1h"}`)},
			{Type: llm.PartImage, ImageURL: "https://x/y.png", CacheControl: json.RawMessage(`{"type":"ephemeral"}`)},
		}}}},
		want: `[{"role":"user","content":[{"type":"text","text":"long document","cache_control":{"type":"ephemeral","ttl":"1h"}},
			{"type":"image","source":{"type":"url","url":"https://x/y.png"},"cache_control":{"type":"ephemeral"}}]}]`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := toWire(&tt.req)
			if err != nil {
				t.Fatalf("toWire: %v", err)
			}
			got, err := json.Marshal(r.Messages)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(jsonValue(t, []byte(tt.want)), jsonValue(t, got)); diff != "" {
				t.Errorf("toWire(%s) messages mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

// TestToWireSystemCacheControl checks that a cached system prompt keeps its
// breakpoint, and that the thinking option of an OpenAI-style request
// reaches the API as written.
func TestToWireSystemCacheControlAndThinking(t *testing.T) {
	req := llm.ChatRequest{Model: "m", Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: []llm.Part{{Type: llm.PartText, Text: "rules", CacheControl: json.RawMessage(`{"type":"ephemeral"}`)}}},
		user("Hi"),
	}, Extra: map[string]json.RawMessage{"thinking": json.RawMessage(`{"type":"enabled","budget_tokens":1024}`)}}
	r, err := toWire(&req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(r)
	want := `{"model":"m","max_tokens":4096,"system":[{"type":"text","text":"rules","cache_control":{"type":"ephemeral"}}],
		"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"thinking":{"type":"enabled","budget_tokens":1024}}`
	if diff := cmp.Diff(jsonValue(t, []byte(want)), jsonValue(t, got)); diff != "" {
		t.Errorf("toWire mismatch (-want +got):\n%s", diff)
	}
	req.Extra["thinking"] = json.RawMessage(`"high"`)
	if _, err := toWire(&req); err == nil {
		t.Errorf("toWire(thinking: \"high\") = nil error; want invalid thinking")
	}
}
