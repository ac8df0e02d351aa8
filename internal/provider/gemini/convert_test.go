package gemini

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

func ptr[T any](v T) *T { return &v }

func text(role, s string) llm.Message { return llm.TextMessage(role, s) }

// jsonEqual compares two JSON texts structurally.
func jsonDiff(t *testing.T, want string, got []byte) string {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v\n%s", err, want)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not JSON: %v\n%s", err, got)
	}
	return cmp.Diff(w, g)
}

func TestToWire(t *testing.T) {
	weather := llm.Tool{
		Name:        "get_weather",
		Description: "Weather for a city",
		Parameters:  json.RawMessage(`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}`),
	}
	tests := []struct {
		name string
		req  llm.ChatRequest
		want string
	}{
		{
			name: "text with system and developer",
			req: llm.ChatRequest{Model: "gemini-2.5-flash", Messages: []llm.Message{
				text(llm.RoleSystem, "Be brief."),
				text(llm.RoleUser, "Hi"),
				text(llm.RoleAssistant, "Hello!"),
				text(llm.RoleDeveloper, "Answer in French."),
				text(llm.RoleUser, "How are you?"),
			}},
			want: `{
				"systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Answer in French."}]},
				"contents": [
					{"role": "user", "parts": [{"text": "Hi"}]},
					{"role": "model", "parts": [{"text": "Hello!"}]},
					{"role": "user", "parts": [{"text": "How are you?"}]}
				]}`,
		},
		{
			name: "generation config",
			req: llm.ChatRequest{
				Model: "gemini-2.5-flash", Messages: []llm.Message{text(llm.RoleUser, "Hi")},
				Temperature: ptr(0.5), TopP: ptr(0.9), MaxTokens: ptr(100), Stop: []string{"END"}, N: ptr(2),
				PresencePenalty: ptr(0.1), FrequencyPenalty: ptr(0.2), Seed: ptr(int64(42)),
				User: "u-1", IncludeUsage: true, NumCtx: ptr(4096),
			},
			want: `{
				"contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
				"generationConfig": {
					"temperature": 0.5, "topP": 0.9, "maxOutputTokens": 100, "stopSequences": ["END"],
					"candidateCount": 2, "presencePenalty": 0.1, "frequencyPenalty": 0.2, "seed": 42
				}}`,
		},
		{
			name: "json object",
			req: llm.ChatRequest{Model: "gemini-2.5-flash", Messages: []llm.Message{text(llm.RoleUser, "Hi")},
				ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONObject}},
			want: `{"contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
				"generationConfig": {"responseMimeType": "application/json"}}`,
		},
		{
			name: "json schema goes to responseJsonSchema untouched",
			req: llm.ChatRequest{Model: "gemini-2.5-flash", Messages: []llm.Message{text(llm.RoleUser, "Hi")},
				ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "answer", Strict: ptr(true),
					Schema: json.RawMessage(`{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`)}},
			want: `{"contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
				"generationConfig": {"responseMimeType": "application/json",
					"responseJsonSchema": {"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}}}`,
		},
		{
			name: "text response format adds nothing",
			req: llm.ChatRequest{Model: "gemini-2.5-flash", Messages: []llm.Message{text(llm.RoleUser, "Hi")},
				ResponseFormat: &llm.ResponseFormat{Type: llm.FormatText}},
			want: `{"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}`,
		},
		{
			name: "tools keep their JSON schema in parametersJsonSchema",
			req: llm.ChatRequest{Model: "gemini-2.5-flash", Messages: []llm.Message{text(llm.RoleUser, "Weather?")},
				Tools: []llm.Tool{weather, {Name: "now"}}},
			want: `{"contents": [{"role": "user", "parts": [{"text": "Weather?"}]}],
				"tools": [{"functionDeclarations": [
					{"name": "get_weather", "description": "Weather for a city",
					 "parametersJsonSchema": {"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}},
					{"name": "now"}
				]}]}`,
		},
		{
			name: "tool choice auto",
			req: llm.ChatRequest{Model: "m", Messages: []llm.Message{text(llm.RoleUser, "x")},
				Tools: []llm.Tool{{Name: "now"}}, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceAuto}},
			want: `{"contents": [{"role": "user", "parts": [{"text": "x"}]}],
				"tools": [{"functionDeclarations": [{"name": "now"}]}],
				"toolConfig": {"functionCallingConfig": {"mode": "AUTO"}}}`,
		},
		{
			name: "tool choice none",
			req: llm.ChatRequest{Model: "m", Messages: []llm.Message{text(llm.RoleUser, "x")},
				Tools: []llm.Tool{{Name: "now"}}, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceNone}},
			want: `{"contents": [{"role": "user", "parts": [{"text": "x"}]}],
				"tools": [{"functionDeclarations": [{"name": "now"}]}],
				"toolConfig": {"functionCallingConfig": {"mode": "NONE"}}}`,
		},
		{
			name: "tool choice required",
			req: llm.ChatRequest{Model: "m", Messages: []llm.Message{text(llm.RoleUser, "x")},
				Tools: []llm.Tool{{Name: "now"}}, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceRequired}},
			want: `{"contents": [{"role": "user", "parts": [{"text": "x"}]}],
				"tools": [{"functionDeclarations": [{"name": "now"}]}],
				"toolConfig": {"functionCallingConfig": {"mode": "ANY"}}}`,
		},
		{
			name: "tool choice function",
			req: llm.ChatRequest{Model: "m", Messages: []llm.Message{text(llm.RoleUser, "x")},
				Tools: []llm.Tool{{Name: "now"}, {Name: "later"}}, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "later"}},
			want: `{"contents": [{"role": "user", "parts": [{"text": "x"}]}],
				"tools": [{"functionDeclarations": [{"name": "now"}, {"name": "later"}]}],
				"toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["later"]}}}`,
		},
		{
			name: "tool choice none without tools is dropped",
			req: llm.ChatRequest{Model: "m", Messages: []llm.Message{text(llm.RoleUser, "x")},
				ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceNone}},
			want: `{"contents": [{"role": "user", "parts": [{"text": "x"}]}]}`,
		},
		{
			name: "tool round trip with parallel results in one turn",
			req: llm.ChatRequest{Model: "gemini-2.5-flash", Messages: []llm.Message{
				text(llm.RoleUser, "Weather in Paris and Rome?"),
				{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartText, Text: "Checking."}}, ToolCalls: []llm.ToolCall{
					{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`},
					{ID: "call_2", Name: "get_weather", Arguments: ``},
				}},
				{Role: llm.RoleTool, ToolCallID: "call_1", Content: []llm.Part{{Type: llm.PartText, Text: `{"temp": 20}`}}},
				{Role: llm.RoleTool, ToolCallID: "call_2", Content: []llm.Part{{Type: llm.PartText, Text: "sunny"}}},
				text(llm.RoleUser, "Thanks"),
			}},
			want: `{"contents": [
				{"role": "user", "parts": [{"text": "Weather in Paris and Rome?"}]},
				{"role": "model", "parts": [
					{"text": "Checking."},
					{"functionCall": {"name": "get_weather", "args": {"city":"Paris"}}},
					{"functionCall": {"name": "get_weather", "args": {}}}
				]},
				{"role": "user", "parts": [
					{"functionResponse": {"name": "get_weather", "response": {"temp": 20}}},
					{"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}}
				]},
				{"role": "user", "parts": [{"text": "Thanks"}]}
			]}`,
		},
		{
			name: "gemini 3 replays calls with the placeholder signature",
			req: llm.ChatRequest{Model: "gemini-3-pro-preview", Messages: []llm.Message{
				text(llm.RoleUser, "Time?"),
				{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "now", Arguments: `{}`}}},
				{Role: llm.RoleTool, ToolCallID: "call_1", Content: []llm.Part{{Type: llm.PartText, Text: "noon"}}},
			}},
			want: `{"contents": [
				{"role": "user", "parts": [{"text": "Time?"}]},
				{"role": "model", "parts": [{"functionCall": {"name": "now", "args": {}}, "thoughtSignature": "skip_thought_signature_validator"}]},
				{"role": "user", "parts": [{"functionResponse": {"name": "now", "response": {"result": "noon"}}}]}
			]}`,
		},
		{
			name: "tool result named by legacy name",
			req: llm.ChatRequest{Model: "m", Messages: []llm.Message{
				{Role: llm.RoleTool, ToolCallID: "unknown", Name: "now", Content: []llm.Part{{Type: llm.PartText, Text: "noon"}}},
			}},
			want: `{"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "now", "response": {"result": "noon"}}}]}]}`,
		},
		{
			name: "images inline and by https URL",
			req: llm.ChatRequest{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{
				{Type: llm.PartText, Text: "What is this?"},
				{Type: llm.PartImage, ImageURL: "data:image/png;base64,iVBORw0KGgo=", Detail: "high"},
				{Type: llm.PartImage, ImageURL: "https://example.com/cat.JPG?size=large"},
				{Type: llm.PartImage, ImageURL: "https://example.com/render"},
			}}}},
			want: `{"contents": [{"role": "user", "parts": [
				{"text": "What is this?"},
				{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
				{"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.JPG?size=large"}},
				{"fileData": {"fileUri": "https://example.com/render"}}
			]}]}`,
		},
		{
			name: "empty text parts and empty messages are left out",
			req: llm.ChatRequest{Model: "m", Messages: []llm.Message{
				text(llm.RoleSystem, ""),
				text(llm.RoleUser, "Hi"),
				text(llm.RoleAssistant, ""),
			}},
			want: `{"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}`,
		},
		{
			name: "logprobs false in extra is fine",
			req: llm.ChatRequest{Model: "m", Messages: []llm.Message{text(llm.RoleUser, "x")},
				Extra: map[string]json.RawMessage{"logprobs": json.RawMessage(`false`), "top_logprobs": json.RawMessage(`null`)}},
			want: `{"contents": [{"role": "user", "parts": [{"text": "x"}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := toWire(&tt.req)
			if err != nil {
				t.Fatalf("toWire: %v", err)
			}
			got, err := json.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
			if diff := jsonDiff(t, tt.want, got); diff != "" {
				t.Errorf("toWire(%s) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

// TestToWireUnsupported checks that what Gemini cannot do is refused with a
// 400 naming the parameter, never dropped.
func TestToWireUnsupported(t *testing.T) {
	user := []llm.Message{text(llm.RoleUser, "x")}
	tests := []struct {
		name  string
		req   llm.ChatRequest
		param string
	}{
		{"logprobs", llm.ChatRequest{Messages: user, Extra: map[string]json.RawMessage{"logprobs": json.RawMessage(`true`)}}, "logprobs"},
		{"top_logprobs", llm.ChatRequest{Messages: user, Extra: map[string]json.RawMessage{"top_logprobs": json.RawMessage(`3`)}}, "top_logprobs"},
		{"http image", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{
			{Type: llm.PartText, Text: "x"}, {Type: llm.PartImage, ImageURL: "http://example.com/a.png"}}}}}, "messages[0].content[1].image_url"},
		{"ftp image", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{
			{Type: llm.PartImage, ImageURL: "ftp://example.com/a.png"}}}}}, "messages[0].content[0].image_url"},
		{"data URL without base64", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{
			{Type: llm.PartImage, ImageURL: "data:image/png,abc"}}}}}, "messages[0].content[0].image_url"},
		{"data URL without type", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{
			{Type: llm.PartImage, ImageURL: "data:;base64,abc"}}}}}, "messages[0].content[0].image_url"},
		{"unknown part type", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{
			{Type: "input_audio"}}}}}, "messages[0].content[0].type"},
		{"image in system", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleSystem, Content: []llm.Part{
			{Type: llm.PartImage, ImageURL: "data:image/png;base64,AA=="}}}}}, "messages[0].content[0]"},
		{"image in tool result", llm.ChatRequest{Messages: []llm.Message{
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f"}}},
			{Role: llm.RoleTool, ToolCallID: "c", Content: []llm.Part{{Type: llm.PartImage, ImageURL: "data:image/png;base64,AA=="}}}}}, "messages[1].content[0]"},
		{"unknown tool call id", llm.ChatRequest{Messages: []llm.Message{
			{Role: llm.RoleTool, ToolCallID: "nope", Content: []llm.Part{{Type: llm.PartText, Text: "r"}}}}}, "messages[0].tool_call_id"},
		{"arguments not an object", llm.ChatRequest{Messages: []llm.Message{
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f", Arguments: `[1]`}}}}}, "messages[0].tool_calls[0].function.arguments"},
		{"arguments not JSON", llm.ChatRequest{Messages: []llm.Message{
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f", Arguments: `{"a":`}}}}}, "messages[0].tool_calls[0].function.arguments"},
		{"unknown role", llm.ChatRequest{Messages: []llm.Message{text("function", "x")}}, "messages[0].role"},
		{"seed too large", llm.ChatRequest{Messages: user, Seed: ptr(int64(1) << 40)}, "seed"},
		{"unknown response format", llm.ChatRequest{Messages: user, ResponseFormat: &llm.ResponseFormat{Type: "xml"}}, "response_format.type"},
		{"bad response schema", llm.ChatRequest{Messages: user, ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: json.RawMessage(`{`)}}, "response_format.json_schema.schema"},
		{"bad tool parameters", llm.ChatRequest{Messages: user, Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(`{`)}}}, "tools[0].function.parameters"},
		{"tool without name", llm.ChatRequest{Messages: user, Tools: []llm.Tool{{}}}, "tools[0].function.name"},
		{"required without tools", llm.ChatRequest{Messages: user, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceRequired}}, "tool_choice"},
		{"unknown function choice", llm.ChatRequest{Messages: user, Tools: []llm.Tool{{Name: "f"}}, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "g"}}, "tool_choice"},
		{"unknown tool choice", llm.ChatRequest{Messages: user, Tools: []llm.Tool{{Name: "f"}}, ToolChoice: &llm.ToolChoice{Mode: "any"}}, "tool_choice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Model = "gemini-2.5-flash"
			_, err := toWire(&tt.req)
			var e *llmservice.Error
			if !errors.As(err, &e) {
				t.Fatalf("toWire(%s) error = %v; want *llmservice.Error", tt.name, err)
			}
			if e.Kind != llmservice.Invalid || e.Param != tt.param {
				t.Errorf("toWire(%s) = kind %v param %q; want invalid, param %q (%v)", tt.name, e.Kind, e.Param, tt.param, e)
			}
		})
	}
}

func TestNeedsThoughtSignature(t *testing.T) {
	tests := map[string]bool{
		"gemini-3-pro-preview":      true,
		"models/gemini-3.1-flash":   true,
		"gemini-10-ultra":           true,
		"gemini-2.5-flash":          false,
		"gemini-1.5-pro":            false,
		"gemini-exp-1206":           false,
		"gemma-3-27b-it":            false,
		"tunedModels/gemini-3-mine": true,
		"":                          false,
	}
	for model, want := range tests {
		if got := needsThoughtSignature(model); got != want {
			t.Errorf("needsThoughtSignature(%q) = %v; want %v", model, got, want)
		}
	}
}
