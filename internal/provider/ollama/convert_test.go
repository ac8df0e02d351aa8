package ollama

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	ollamawire "github.com/llmservice/llmservice/internal/wire/ollama"
)

func ptr[T any](v T) *T { return &v }

func user(text string) llm.Message { return llm.TextMessage(llm.RoleUser, text) }

// jsonValue decodes s so that two JSON texts compare by value.
func jsonValue(t *testing.T, s []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(s, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", s, err)
	}
	return v
}

func TestToWire(t *testing.T) {
	tests := []struct {
		name   string
		req    llm.ChatRequest
		stream bool
		want   string
	}{
		{
			name: "minimal sends stream false explicitly",
			req:  llm.ChatRequest{Model: "llama3.2", Messages: []llm.Message{user("hi")}},
			want: `{"model":"llama3.2","stream":false,"messages":[{"role":"user","content":"hi"}]}`,
		},
		{
			name:   "stream true",
			req:    llm.ChatRequest{Model: "llama3.2", Messages: []llm.Message{user("hi")}},
			stream: true,
			want:   `{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		},
		{
			name: "options",
			req: llm.ChatRequest{
				Model: "m", Messages: []llm.Message{user("hi")},
				Temperature: ptr(0.2), TopP: ptr(0.9), MaxTokens: ptr(100), NumCtx: ptr(8192),
				Stop: []string{"\n", "user:"}, Seed: ptr(int64(42)),
				FrequencyPenalty: ptr(0.5), PresencePenalty: ptr(-0.5),
				N: ptr(1), User: "end-user-7",
			},
			want: `{"model":"m","stream":false,"messages":[{"role":"user","content":"hi"}],
				"options":{"temperature":0.2,"top_p":0.9,"num_predict":100,"num_ctx":8192,"stop":["\n","user:"],
				"seed":42,"frequency_penalty":0.5,"presence_penalty":-0.5}}`,
		},
		{
			name: "zero options are sent, not dropped",
			req:  llm.ChatRequest{Model: "m", Messages: []llm.Message{user("hi")}, Temperature: ptr(0.0)},
			want: `{"model":"m","stream":false,"messages":[{"role":"user","content":"hi"}],"options":{"temperature":0}}`,
		},
		{
			name: "roles, developer becomes system, text parts joined",
			req: llm.ChatRequest{Model: "m", Messages: []llm.Message{
				llm.TextMessage(llm.RoleSystem, "be brief"),
				llm.TextMessage(llm.RoleDeveloper, "use metric units"),
				{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: "a "}, {Type: llm.PartText, Text: "b"}}},
				llm.TextMessage(llm.RoleAssistant, "ok"),
			}},
			want: `{"model":"m","stream":false,"messages":[
				{"role":"system","content":"be brief"},
				{"role":"system","content":"use metric units"},
				{"role":"user","content":"a b"},
				{"role":"assistant","content":"ok"}]}`,
		},
		{
			name: "image parts become base64 images",
			req: llm.ChatRequest{Model: "llava", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{
				{Type: llm.PartText, Text: "what is this?"},
				{Type: llm.PartImage, ImageURL: "data:image/png;base64,iVBORw0KGgo=", Detail: "high"},
				{Type: llm.PartImage, ImageURL: "data:image/jpeg;base64,/9j/4AAQ"},
			}}}},
			want: `{"model":"llava","stream":false,"messages":[
				{"role":"user","content":"what is this?","images":["iVBORw0KGgo=","/9j/4AAQ"]}]}`,
		},
		{
			name: "json_object",
			req:  llm.ChatRequest{Model: "m", Messages: []llm.Message{user("hi")}, ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONObject}},
			want: `{"model":"m","stream":false,"messages":[{"role":"user","content":"hi"}],"format":"json"}`,
		},
		{
			name: "json_schema sends the schema object",
			req: llm.ChatRequest{Model: "m", Messages: []llm.Message{user("hi")}, ResponseFormat: &llm.ResponseFormat{
				Type: llm.FormatJSONSchema, Name: "person", Strict: ptr(true),
				Schema: json.RawMessage(` {"type":"object","properties":{"age":{"type":"integer"}},"required":["age"]}`),
			}},
			want: `{"model":"m","stream":false,"messages":[{"role":"user","content":"hi"}],
				"format":{"type":"object","properties":{"age":{"type":"integer"}},"required":["age"]}}`,
		},
		{
			name: "text format sends nothing",
			req:  llm.ChatRequest{Model: "m", Messages: []llm.Message{user("hi")}, ResponseFormat: &llm.ResponseFormat{Type: llm.FormatText}},
			want: `{"model":"m","stream":false,"messages":[{"role":"user","content":"hi"}]}`,
		},
		{
			name: "tools with auto",
			req: llm.ChatRequest{Model: "m", Messages: []llm.Message{user("weather?")}, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, Tools: []llm.Tool{
				{Name: "get_weather", Description: "Get the weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)},
				{Name: "now"},
			}},
			want: `{"model":"m","stream":false,"messages":[{"role":"user","content":"weather?"}],"tools":[
				{"type":"function","function":{"name":"get_weather","description":"Get the weather",
					"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
				{"type":"function","function":{"name":"now"}}]}`,
		},
		{
			name: "tool_choice none withholds the tools",
			req: llm.ChatRequest{Model: "m", Messages: []llm.Message{user("hi")}, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceNone},
				Tools: []llm.Tool{{Name: "get_weather"}}},
			want: `{"model":"m","stream":false,"messages":[{"role":"user","content":"hi"}]}`,
		},
		{
			name: "tool call round trip: arguments as an object, tool_name found by call ID",
			req: llm.ChatRequest{Model: "m", Messages: []llm.Message{
				user("weather in Paris and the time?"),
				{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
					{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`},
					{ID: "call_b", Name: "now", Arguments: ""},
				}},
				{Role: llm.RoleTool, ToolCallID: "call_b", Content: []llm.Part{{Type: llm.PartText, Text: "12:00"}}},
				{Role: llm.RoleTool, ToolCallID: "call_a", Content: []llm.Part{{Type: llm.PartText, Text: "sunny"}}},
				{Role: llm.RoleTool, ToolCallID: "unknown", Name: "legacy_fn", Content: []llm.Part{{Type: llm.PartText, Text: "x"}}},
			}},
			want: `{"model":"m","stream":false,"messages":[
				{"role":"user","content":"weather in Paris and the time?"},
				{"role":"assistant","content":"","tool_calls":[
					{"id":"call_a","function":{"name":"get_weather","arguments":{"city":"Paris"}}},
					{"id":"call_b","function":{"name":"now","arguments":{}}}]},
				{"role":"tool","content":"12:00","tool_name":"now","tool_call_id":"call_b"},
				{"role":"tool","content":"sunny","tool_name":"get_weather","tool_call_id":"call_a"},
				{"role":"tool","content":"x","tool_name":"legacy_fn","tool_call_id":"unknown"}]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := toWire(&tc.req, tc.stream)
			if err != nil {
				t.Fatalf("toWire() error: %v", err)
			}
			got, err := json.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(jsonValue(t, []byte(tc.want)), jsonValue(t, got)); diff != "" {
				t.Errorf("toWire(%s) mismatch (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func TestToWireUnsupported(t *testing.T) {
	msgs := []llm.Message{user("hi")}
	img := func(u string) []llm.Message {
		return []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: "x"}, {Type: llm.PartImage, ImageURL: u}}}}
	}
	tests := []struct {
		name      string
		req       llm.ChatRequest
		wantParam string
	}{
		{"n greater than 1", llm.ChatRequest{Messages: msgs, N: ptr(2)}, "n"},
		{"tool_choice required", llm.ChatRequest{Messages: msgs, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceRequired}}, "tool_choice"},
		{"tool_choice function", llm.ChatRequest{Messages: msgs, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "f"}}, "tool_choice"},
		{"https image", llm.ChatRequest{Messages: img("https://example.com/cat.png")}, "messages[0].content[1].image_url"},
		{"http image", llm.ChatRequest{Messages: img("http://example.com/cat.png")}, "messages[0].content[1].image_url"},
		{"data URL not base64", llm.ChatRequest{Messages: img("data:image/svg+xml,<svg/>")}, "messages[0].content[1].image_url"},
		{"empty data URL", llm.ChatRequest{Messages: img("data:image/png;base64,")}, "messages[0].content[1].image_url"},
		{"other image scheme", llm.ChatRequest{Messages: img("file:///etc/passwd")}, "messages[0].content[1].image_url"},
		{"unknown part", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{{Type: "input_audio"}}}}}, "messages[0].content[0].type"},
		{"unknown role", llm.ChatRequest{Messages: []llm.Message{llm.TextMessage("function", "x")}}, "messages[0].role"},
		{"participant name", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Name: "bob", Content: []llm.Part{{Type: llm.PartText, Text: "x"}}}}}, "messages[0].name"},
		{"tool arguments not an object", llm.ChatRequest{Messages: []llm.Message{user("x"), {Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f", Arguments: `"{}"`}}}}}, "messages[1].tool_calls[0].function.arguments"},
		{"tool arguments invalid JSON", llm.ChatRequest{Messages: []llm.Message{user("x"), {Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f", Arguments: `{"a":`}}}}}, "messages[1].tool_calls[0].function.arguments"},
		{"tool parameters not an object", llm.ChatRequest{Messages: msgs, Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(`[1]`)}}}, "tools[0].function.parameters"},
		{"json_schema without schema", llm.ChatRequest{Messages: msgs, ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema}}, "response_format.json_schema.schema"},
		{"unknown response format", llm.ChatRequest{Messages: msgs, ResponseFormat: &llm.ResponseFormat{Type: "grammar"}}, "response_format.type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := toWire(&tc.req, false)
			var e *llmservice.Error
			if !errors.As(err, &e) || e.Kind != llmservice.Invalid || e.Param != tc.wantParam {
				t.Fatalf("toWire() error = %#v; want Invalid with Param %q", err, tc.wantParam)
			}
			if e.Message == "" {
				t.Error("error has no message")
			}
		})
	}
}

func TestFromWire(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *llm.ChatResponse
	}{
		{
			name: "text",
			body: `{"model":"llama3.2","created_at":"2023-12-12T14:13:43.416799Z","message":{"role":"assistant","content":"Hello! How are you today?"},
				"done":true,"done_reason":"stop","total_duration":5191566416,"load_duration":2154458,"prompt_eval_count":26,
				"prompt_eval_duration":383809000,"eval_count":298,"eval_duration":4799921000}`,
			want: &llm.ChatResponse{
				Model: "llama3.2", Created: 1702390423,
				Choices:  []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "Hello! How are you today?"), FinishReason: llm.FinishStop}},
				Usage:    llm.Usage{PromptTokens: 26, CompletionTokens: 298},
				HasUsage: true,
			},
		},
		{
			name: "tool calls get IDs and JSON text arguments",
			body: `{"model":"qwen3","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"",
				"tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}},{"id":"up_9","function":{"name":"now","arguments":{}}}]},
				"done":true,"done_reason":"stop","prompt_eval_count":10,"eval_count":5}`,
			want: &llm.ChatResponse{
				Model: "qwen3", Created: 1735689600,
				Choices: []llm.Choice{{
					Message: llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
						{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`},
						{ID: "up_9", Name: "now", Arguments: `{}`},
					}},
					FinishReason: llm.FinishToolCalls,
				}},
				Usage:    llm.Usage{PromptTokens: 10, CompletionTokens: 5},
				HasUsage: true,
			},
		},
		{
			name: "length, no counts, bad timestamp",
			body: `{"model":"m","created_at":"yesterday","message":{"role":"assistant","content":"Once upon"},"done":true,"done_reason":"length"}`,
			want: &llm.ChatResponse{
				Model:   "m",
				Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "Once upon"), FinishReason: llm.FinishLength}},
			},
		},
		{
			name: "empty answer keeps an empty text part",
			body: `{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"load"}`,
			want: &llm.ChatResponse{
				Model:   "m",
				Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, ""), FinishReason: llm.FinishStop}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r ollamawire.ChatResponse
			if err := json.Unmarshal([]byte(tc.body), &r); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, fromWire(&r)); diff != "" {
				t.Errorf("fromWire(%s) mismatch (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func TestFinishFromWire(t *testing.T) {
	tests := []struct {
		reason string
		tools  bool
		want   string
	}{
		{"stop", false, llm.FinishStop},
		{"stop", true, llm.FinishToolCalls},
		{"length", false, llm.FinishLength},
		{"length", true, llm.FinishToolCalls},
		{"load", false, llm.FinishStop},
		{"", false, llm.FinishStop},
	}
	for _, tc := range tests {
		if got := finishFromWire(tc.reason, tc.tools); got != tc.want {
			t.Errorf("finishFromWire(%q, %v) = %q; want %q", tc.reason, tc.tools, got, tc.want)
		}
	}
}
