package anthropic

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/anthropic"
)

func ptr[T any](v T) *T { return &v }

func user(text string) llm.Message      { return llm.TextMessage(llm.RoleUser, text) }
func assistant(text string) llm.Message { return llm.TextMessage(llm.RoleAssistant, text) }

// jsonValue decodes JSON text for a comparison that ignores formatting and
// key order.
func jsonValue(t *testing.T, s []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(s, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", s, err)
	}
	return v
}

func TestToWire(t *testing.T) {
	weather := llm.Tool{Name: "get_weather", Description: "Weather at a place", Parameters: json.RawMessage(`{"type":"object","properties":{"location":{"type":"string"}}}`)}
	tests := []struct {
		name string
		req  llm.ChatRequest
		want string
	}{{
		name: "minimal gets the default max_tokens",
		req:  llm.ChatRequest{Model: "claude-haiku-4-5", Messages: []llm.Message{user("Hi")}},
		want: `{"model":"claude-haiku-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
	}, {
		name: "sampling options, stop, user and system lifted out in order",
		req: llm.ChatRequest{
			Model: "m",
			Messages: []llm.Message{
				llm.TextMessage(llm.RoleSystem, "Be brief."),
				user("Hi"),
				llm.TextMessage(llm.RoleDeveloper, "Answer in French."),
				assistant("Salut"),
				user("Again"),
			},
			MaxTokens: ptr(100), Temperature: ptr(0.5), TopP: ptr(0.9),
			Stop: []string{"END"}, User: "user-42", Stream: true,
			// Defaults of unsupported options are accepted.
			N: ptr(1), FrequencyPenalty: ptr(0.0), PresencePenalty: ptr(0.0), Seed: ptr(int64(0)),
			Extra: map[string]json.RawMessage{"logprobs": json.RawMessage("false")},
		},
		want: `{"model":"m","max_tokens":100,"stream":true,"temperature":0.5,"top_p":0.9,"stop_sequences":["END"],
			"metadata":{"user_id":"user-42"},
			"system":[{"type":"text","text":"Be brief."},{"type":"text","text":"Answer in French."}],
			"messages":[
				{"role":"user","content":[{"type":"text","text":"Hi"}]},
				{"role":"assistant","content":[{"type":"text","text":"Salut"}]},
				{"role":"user","content":[{"type":"text","text":"Again"}]}]}`,
	}, {
		name: "consecutive same-role turns are merged",
		req:  llm.ChatRequest{Model: "m", Messages: []llm.Message{user("a"), user("b"), assistant("c"), assistant("d")}},
		want: `{"model":"m","max_tokens":4096,"messages":[
			{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
			{"role":"assistant","content":[{"type":"text","text":"c"},{"type":"text","text":"d"}]}]}`,
	}, {
		name: "tool round trip: tool_use blocks, tool results merged into one user turn",
		req: llm.ChatRequest{
			Model: "m",
			Tools: []llm.Tool{weather, {Name: "get_time", Strict: ptr(true)}},
			Messages: []llm.Message{
				user("Weather and time in Paris?"),
				{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartText, Text: "Checking."}}, ToolCalls: []llm.ToolCall{
					{ID: "toolu_1", Name: "get_weather", Arguments: `{"location": "Paris"}`},
					{ID: "toolu_2", Name: "get_time", Arguments: ""},
				}},
				{Role: llm.RoleTool, ToolCallID: "toolu_1", Name: "get_weather", Content: []llm.Part{{Type: llm.PartText, Text: "18C"}}},
				{Role: llm.RoleTool, ToolCallID: "toolu_2", Content: []llm.Part{{Type: llm.PartText, Text: "noon"}}},
				user("Thanks"),
			},
		},
		want: `{"model":"m","max_tokens":4096,
			"tools":[
				{"name":"get_weather","description":"Weather at a place","input_schema":{"type":"object","properties":{"location":{"type":"string"}}}},
				{"name":"get_time","input_schema":{"type":"object","properties":{}},"strict":true}],
			"messages":[
				{"role":"user","content":[{"type":"text","text":"Weather and time in Paris?"}]},
				{"role":"assistant","content":[
					{"type":"text","text":"Checking."},
					{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"location":"Paris"}},
					{"type":"tool_use","id":"toolu_2","name":"get_time","input":{}}]},
				{"role":"user","content":[
					{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"18C"}]},
					{"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"noon"}]},
					{"type":"text","text":"Thanks"}]}]}`,
	}, {
		name: "assistant turn with tool calls only",
		req: llm.ChatRequest{Model: "m", Tools: []llm.Tool{weather}, Messages: []llm.Message{
			user("q"),
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t1", Name: "get_weather", Arguments: `{}`}}},
			{Role: llm.RoleTool, ToolCallID: "t1"},
		}},
		want: `{"model":"m","max_tokens":4096,
			"tools":[{"name":"get_weather","description":"Weather at a place","input_schema":{"type":"object","properties":{"location":{"type":"string"}}}}],
			"messages":[
				{"role":"user","content":[{"type":"text","text":"q"}]},
				{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"get_weather","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1"}]}]}`,
	}, {
		name: "images: data URL to base64, https URL to url",
		req: llm.ChatRequest{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{
			{Type: llm.PartText, Text: "Compare"},
			{Type: llm.PartImage, ImageURL: "data:image/PNG;base64,iVBORw0KGgo=", Detail: "high"},
			{Type: llm.PartImage, ImageURL: "https://example.com/cat.jpg"},
		}}}},
		want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[
			{"type":"text","text":"Compare"},
			{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
			{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]}]}`,
	}, {
		name: "response_format json_schema becomes output_config.format",
		req: llm.ChatRequest{Model: "m", Messages: []llm.Message{user("q")}, ResponseFormat: &llm.ResponseFormat{
			Type: llm.FormatJSONSchema, Name: "answer", Schema: json.RawMessage(`{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}`), Strict: ptr(true),
		}},
		want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"q"}]}],
			"output_config":{"format":{"type":"json_schema","schema":{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}}}}`,
	}, {
		name: "response_format text says nothing",
		req:  llm.ChatRequest{Model: "m", Messages: []llm.Message{user("q")}, ResponseFormat: &llm.ResponseFormat{Type: llm.FormatText}},
		want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"q"}]}]}`,
	}, {
		name: "tool_choice none without tools is left out",
		req:  llm.ChatRequest{Model: "m", Messages: []llm.Message{user("q")}, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceNone}},
		want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"q"}]}]}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := toWire(&tt.req)
			if err != nil {
				t.Fatalf("toWire: %v", err)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(jsonValue(t, []byte(tt.want)), jsonValue(t, b)); diff != "" {
				t.Errorf("toWire(%s) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestToWireToolChoice(t *testing.T) {
	tools := []llm.Tool{{Name: "f"}}
	tests := []struct {
		choice llm.ToolChoice
		want   *wire.ToolChoice
	}{
		{llm.ToolChoice{Mode: llm.ToolChoiceAuto}, &wire.ToolChoice{Type: "auto"}},
		{llm.ToolChoice{Mode: llm.ToolChoiceNone}, &wire.ToolChoice{Type: "none"}},
		{llm.ToolChoice{Mode: llm.ToolChoiceRequired}, &wire.ToolChoice{Type: "any"}},
		{llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "f"}, &wire.ToolChoice{Type: "tool", Name: "f"}},
	}
	for _, tt := range tests {
		got, err := toWire(&llm.ChatRequest{Model: "m", Messages: []llm.Message{user("q")}, Tools: tools, ToolChoice: &tt.choice})
		if err != nil {
			t.Fatalf("toWire(tool_choice %+v): %v", tt.choice, err)
		}
		if diff := cmp.Diff(tt.want, got.ToolChoice); diff != "" {
			t.Errorf("tool_choice %+v mismatch (-want +got):\n%s", tt.choice, diff)
		}
	}
}

func TestToWireRejects(t *testing.T) {
	q := []llm.Message{user("q")}
	tests := []struct {
		name  string
		req   llm.ChatRequest
		param string
	}{
		{"n > 1", llm.ChatRequest{Messages: q, N: ptr(2)}, "n"},
		{"frequency_penalty", llm.ChatRequest{Messages: q, FrequencyPenalty: ptr(0.5)}, "frequency_penalty"},
		{"presence_penalty", llm.ChatRequest{Messages: q, PresencePenalty: ptr(-1.0)}, "presence_penalty"},
		{"seed", llm.ChatRequest{Messages: q, Seed: ptr(int64(7))}, "seed"},
		{"logprobs", llm.ChatRequest{Messages: q, Extra: map[string]json.RawMessage{"logprobs": json.RawMessage("true")}}, "logprobs"},
		{"top_logprobs", llm.ChatRequest{Messages: q, Extra: map[string]json.RawMessage{"top_logprobs": json.RawMessage("3")}}, "top_logprobs"},
		{"max_tokens 0", llm.ChatRequest{Messages: q, MaxTokens: ptr(0)}, "max_tokens"},
		{"json_object", llm.ChatRequest{Messages: q, ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONObject}}, "response_format"},
		{"unknown response_format", llm.ChatRequest{Messages: q, ResponseFormat: &llm.ResponseFormat{Type: "yaml"}}, "response_format"},
		{"json_schema without schema", llm.ChatRequest{Messages: q, ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema}}, "response_format.json_schema.schema"},
		{"message name", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Name: "bob", Content: []llm.Part{{Type: llm.PartText, Text: "hi"}}}}}, "messages[0].name"},
		{"unknown role", llm.ChatRequest{Messages: []llm.Message{llm.TextMessage("function", "x")}}, "messages[0].role"},
		{"empty user turn", llm.ChatRequest{Messages: []llm.Message{user("")}}, "messages[0].content"},
		{"empty assistant turn", llm.ChatRequest{Messages: []llm.Message{user("q"), assistant("")}}, "messages[1].content"},
		{"image in system", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleSystem, Content: []llm.Part{{Type: llm.PartImage, ImageURL: "https://x/y.png"}}}, user("q")}}, "messages[0].content[0]"},
		{"image in assistant", llm.ChatRequest{Messages: []llm.Message{user("q"), {Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartImage, ImageURL: "https://x/y.png"}}}}}, "messages[1].content[0].image_url"},
		{"unknown part type", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{{Type: "input_audio"}}}}}, "messages[0].content[0].type"},
		{"data URL not base64", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartImage, ImageURL: "data:image/png,abc"}}}}}, "messages[0].content[0].image_url"},
		{"image type", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartImage, ImageURL: "data:image/bmp;base64,Qk0="}}}}}, "messages[0].content[0].image_url"},
		{"image scheme", llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartImage, ImageURL: "ftp://x/y.png"}}}}}, "messages[0].content[0].image_url"},
		{"tool arguments not an object", llm.ChatRequest{Messages: []llm.Message{user("q"), {Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t", Name: "f", Arguments: `[1]`}}}}}, "messages[1].tool_calls[0].function.arguments"},
		{"tool arguments not JSON", llm.ChatRequest{Messages: []llm.Message{user("q"), {Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t", Name: "f", Arguments: `{"a":`}}}}}, "messages[1].tool_calls[0].function.arguments"},
		{"tool message without id", llm.ChatRequest{Messages: []llm.Message{llm.TextMessage(llm.RoleTool, "r")}}, "messages[0].tool_call_id"},
		{"tool without name", llm.ChatRequest{Messages: q, Tools: []llm.Tool{{Description: "d"}}}, "tools[0].function.name"},
		{"required without tools", llm.ChatRequest{Messages: q, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceRequired}}, "tool_choice"},
		{"function choice without name", llm.ChatRequest{Messages: q, Tools: []llm.Tool{{Name: "f"}}, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceFunction}}, "tool_choice.function.name"},
		{"unknown tool_choice", llm.ChatRequest{Messages: q, Tools: []llm.Tool{{Name: "f"}}, ToolChoice: &llm.ToolChoice{Mode: "sometimes"}}, "tool_choice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Model = "m"
			_, err := toWire(&tt.req)
			var e *llmservice.Error
			if !errors.As(err, &e) {
				t.Fatalf("toWire error = %v; want *llmservice.Error", err)
			}
			if e.Kind != llmservice.Invalid || e.Param != tt.param {
				t.Errorf("toWire error kind %v param %q; want invalid, %q (%s)", e.Kind, e.Param, tt.param, e.Message)
			}
		})
	}
}

func TestFromWire(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *llm.ChatResponse
	}{{
		name: "text",
		body: `{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5",
			"content":[{"type":"text","text":"Hello"},{"type":"text","text":" there"}],
			"stop_reason":"end_turn","stop_sequence":null,
			"usage":{"input_tokens":10,"output_tokens":3}}`,
		want: &llm.ChatResponse{ID: "msg_1", Model: "claude-haiku-4-5", Created: 1700000000,
			Choices:  []llm.Choice{{Message: assistant("Hello there"), FinishReason: llm.FinishStop}},
			Usage:    llm.Usage{PromptTokens: 10, CompletionTokens: 3},
			HasUsage: true},
	}, {
		name: "tool calls, thinking kept with its signature, cache counted in the prompt",
		body: `{"id":"msg_2","type":"message","role":"assistant","model":"claude-opus-4-6",
			"content":[
				{"type":"thinking","thinking":"hmm","signature":"sig"},
				{"type":"text","text":"Let me look."},
				{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"location": "Paris"}},
				{"type":"tool_use","id":"toolu_2","name":"get_time","input":{}}],
			"stop_reason":"tool_use","stop_sequence":null,
			"usage":{"input_tokens":5,"cache_creation_input_tokens":100,"cache_read_input_tokens":200,"output_tokens":40,"service_tier":"standard"}}`,
		want: &llm.ChatResponse{ID: "msg_2", Model: "claude-opus-4-6", Created: 1700000000,
			Choices: []llm.Choice{{Message: llm.Message{
				Role: llm.RoleAssistant,
				Content: []llm.Part{
					{Type: llm.PartThinking, Text: "hmm", Signature: "sig", Family: Family},
					{Type: llm.PartText, Text: "Let me look."},
				},
				ToolCalls: []llm.ToolCall{
					{ID: "toolu_1", Name: "get_weather", Arguments: `{"location": "Paris"}`},
					{ID: "toolu_2", Name: "get_time", Arguments: `{}`},
				},
			}, FinishReason: llm.FinishToolCalls}},
			Usage:    llm.Usage{PromptTokens: 305, CompletionTokens: 40, CachedTokens: 200, CacheWriteTokens: 100},
			HasUsage: true},
	}, {
		name: "redacted thinking, cache writes split by lifetime",
		body: `{"id":"msg_4","model":"m","content":[
				{"type":"redacted_thinking","data":"EmwKAhgB"},
				{"type":"thinking","thinking":"","signature":"s2"},
				{"type":"text","text":"ok"}],
			"stop_reason":"end_turn",
			"usage":{"input_tokens":3,"cache_creation_input_tokens":700,"cache_read_input_tokens":0,
				"cache_creation":{"ephemeral_5m_input_tokens":200,"ephemeral_1h_input_tokens":500},"output_tokens":9}}`,
		want: &llm.ChatResponse{ID: "msg_4", Model: "m", Created: 1700000000,
			Choices: []llm.Choice{{Message: llm.Message{Role: llm.RoleAssistant, Content: []llm.Part{
				{Type: llm.PartRedactedThinking, Data: "EmwKAhgB", Family: Family},
				{Type: llm.PartThinking, Signature: "s2", Family: Family},
				{Type: llm.PartText, Text: "ok"},
			}}, FinishReason: llm.FinishStop}},
			Usage:    llm.Usage{PromptTokens: 703, CompletionTokens: 9, CacheWriteTokens: 200, CacheWrite1hTokens: 500},
			HasUsage: true},
	}, {
		name: "tool call only has no content",
		body: `{"id":"msg_3","model":"m","content":[{"type":"tool_use","id":"t","name":"f","input":null}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}}`,
		want: &llm.ChatResponse{ID: "msg_3", Model: "m", Created: 1700000000,
			Choices:  []llm.Choice{{Message: llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t", Name: "f", Arguments: "{}"}}}, FinishReason: llm.FinishToolCalls}},
			Usage:    llm.Usage{PromptTokens: 1, CompletionTokens: 1},
			HasUsage: true},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m wire.Message
			if err := json.Unmarshal([]byte(tt.body), &m); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, fromWire(&m, 1700000000)); diff != "" {
				t.Errorf("fromWire(%s) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestFinishReason(t *testing.T) {
	tests := map[string]string{
		"end_turn":                      llm.FinishStop,
		"stop_sequence":                 llm.FinishStop,
		"pause_turn":                    llm.FinishStop,
		"max_tokens":                    llm.FinishLength,
		"model_context_window_exceeded": llm.FinishLength,
		"tool_use":                      llm.FinishToolCalls,
		"refusal":                       llm.FinishContentFilter,
		"some_new_reason":               llm.FinishStop,
		"":                              "",
	}
	for stop, want := range tests {
		if got := finishReason(stop); got != want {
			t.Errorf("finishReason(%q) = %q; want %q", stop, got, want)
		}
	}
}
