package openai_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// decode unmarshals a request body, failing the test on error.
func decode(t *testing.T, body string) *wire.ChatRequest {
	t.Helper()
	var r wire.ChatRequest
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("Unmarshal(%s) error = %v", body, err)
	}
	return &r
}

// body builds a request body around one message list and extra fields.
func body(messages, fields string) string {
	s := `{"model":"m","messages":` + messages
	if fields != "" {
		s += "," + fields
	}
	return s + "}"
}

const hi = `[{"role":"user","content":"hi"}]`

func TestToLLMInvalidParams(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		param string
	}{
		{"no model", `{"messages":` + hi + `}`, "model"},
		{"no messages", `{"model":"m"}`, "messages"},
		{"empty messages", body(`[]`, ""), "messages"},
		{"max_tokens 0", body(hi, `"max_tokens":0`), "max_tokens"},
		{"max_completion_tokens 0", body(hi, `"max_completion_tokens":0`), "max_completion_tokens"},
		{"max_completion_tokens negative", body(hi, `"max_tokens":5,"max_completion_tokens":-1`), "max_completion_tokens"},
		{"temperature low", body(hi, `"temperature":-0.1`), "temperature"},
		{"temperature high", body(hi, `"temperature":2.01`), "temperature"},
		{"top_p high", body(hi, `"top_p":1.5`), "top_p"},
		{"top_p low", body(hi, `"top_p":-1`), "top_p"},
		{"frequency_penalty", body(hi, `"frequency_penalty":-2.5`), "frequency_penalty"},
		{"presence_penalty", body(hi, `"presence_penalty":3`), "presence_penalty"},
		{"n zero", body(hi, `"n":0`), "n"},
		{"n large", body(hi, `"n":129`), "n"},
		{"five stops", body(hi, `"stop":["a","b","c","d","e"]`), "stop"},
		{"missing role", body(`[{"content":"hi"}]`, ""), "messages[0].role"},
		{"bad role", body(`[{"role":"user","content":"a"},{"role":"robot","content":"hi"}]`, ""), "messages[1].role"},
		{"image without url", body(`[{"role":"user","content":[{"type":"image_url"}]}]`, ""), "messages[0].content[0].image_url.url"},
		{"image with empty url", body(`[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":""}}]}]`, ""), "messages[0].content[1].image_url.url"},
		{"audio part", body(`[{"role":"user","content":[{"type":"input_audio"}]}]`, ""), "messages[0].content[0].type"},
		{"user with tool_calls", body(`[{"role":"user","content":"a","tool_calls":[{"id":"c","function":{"name":"f"}}]}]`, ""), "messages[0].tool_calls"},
		{"tool call without name", body(`[{"role":"user","content":"a"},{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f"}},{"id":"d","function":{"arguments":"{}"}}]}]`, ""), "messages[1].tool_calls[1].function.name"},
		{"tool without tool_call_id", body(`[{"role":"tool","content":"42"}]`, ""), "messages[0].tool_call_id"},
		{"user without content", body(`[{"role":"user"}]`, ""), "messages[0].content"},
		{"system with null content", body(`[{"role":"system","content":null}]`, ""), "messages[0].content"},
		{"user with empty parts", body(`[{"role":"user","content":[]}]`, ""), "messages[0].content"},
		{"tool type", body(hi, `"tools":[{"type":"function","function":{"name":"a"}},{"type":"code_interpreter"}]`), "tools[1].type"},
		{"tool name", body(hi, `"tools":[{"type":"function","function":{"description":"x"}}]`), "tools[0].function.name"},
		{"tool_choice string", body(hi, `"tool_choice":"any"`), "tool_choice"},
		{"tool_choice number", body(hi, `"tool_choice":1`), "tool_choice"},
		{"tool_choice wrong type", body(hi, `"tool_choice":{"type":"tool","function":{"name":"a"}}`), "tool_choice"},
		{"tool_choice without name", body(hi, `"tool_choice":{"type":"function","function":{}}`), "tool_choice"},
		{"json_schema without schema", body(hi, `"response_format":{"type":"json_schema"}`), "response_format.json_schema"},
		{"json_schema without name", body(hi, `"response_format":{"type":"json_schema","json_schema":{"schema":{}}}`), "response_format.json_schema"},
		{"response_format type", body(hi, `"response_format":{"type":"xml"}`), "response_format.type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(t, tt.body).ToLLM()
			var e *llmservice.Error
			if !errors.As(err, &e) {
				t.Fatalf("ToLLM(%s) error = %v; want *llmservice.Error", tt.body, err)
			}
			if e.Kind != llmservice.Invalid || e.Param != tt.param || e.Message == "" {
				t.Errorf("ToLLM(%s) error = {Kind:%v Param:%q Message:%q}; want Invalid with param %q", tt.body, e.Kind, e.Param, e.Message, tt.param)
			}
		})
	}
}

func TestToLLMBounds(t *testing.T) {
	// The documented edges are allowed.
	for _, fields := range []string{
		`"temperature":0`, `"temperature":2`, `"top_p":0`, `"top_p":1`, `"frequency_penalty":-2`, `"presence_penalty":2`,
		`"n":1`, `"n":128`, `"max_tokens":1`, `"stop":["a","b","c","d"]`, `"response_format":{"type":"text"}`,
		`"tool_choice":"none"`, `"tool_choice":"required"`,
	} {
		if _, err := decode(t, body(hi, fields)).ToLLM(); err != nil {
			t.Errorf("ToLLM(%s) error = %v; want none", fields, err)
		}
	}
	// An assistant turn may be empty (a prefill placeholder); content "" is content.
	for _, msgs := range []string{
		`[{"role":"user","content":"a"},{"role":"assistant"}]`,
		`[{"role":"user","content":""}]`,
		`[{"role":"developer","content":"x"},{"role":"user","content":"y"}]`,
	} {
		if _, err := decode(t, body(msgs, "")).ToLLM(); err != nil {
			t.Errorf("ToLLM(%s) error = %v; want none", msgs, err)
		}
	}
}

func TestToLLM(t *testing.T) {
	in := body(`[
		{"role":"system","content":"Be brief."},
		{"role":"user","name":"ann","content":[{"type":"text","text":"What is "},{"type":"text","text":"this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"high"}}]},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"42"}]`,
		`"max_tokens":10,"max_completion_tokens":20,"temperature":0.5,"top_p":0.9,"frequency_penalty":0.1,"presence_penalty":0.2,
		"stop":"END","seed":7,"n":2,"user":"u","stream":true,"stream_options":{"include_usage":true},
		"tools":[{"function":{"name":"lookup","description":"d","parameters":{"type":"object"},"strict":false}}],
		"tool_choice":{"type":"function","function":{"name":"lookup"}},
		"response_format":{"type":"json_schema","json_schema":{"name":"out","schema":{"type":"object"},"strict":true}},
		"logprobs":true`)
	got, err := decode(t, in).ToLLM()
	if err != nil {
		t.Fatalf("ToLLM error = %v", err)
	}
	want := &llm.ChatRequest{
		Model: "m",
		Messages: []llm.Message{
			llm.TextMessage(llm.RoleSystem, "Be brief."),
			{Role: llm.RoleUser, Name: "ann", Content: []llm.Part{
				{Type: llm.PartText, Text: "What is "}, {Type: llm.PartText, Text: "this?"},
				{Type: llm.PartImage, ImageURL: "data:image/png;base64,AAAA", Detail: "high"},
			}},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "lookup", Arguments: "{}"}}},
			{Role: llm.RoleTool, ToolCallID: "call_1", Content: []llm.Part{{Type: llm.PartText, Text: "42"}}},
		},
		// max_completion_tokens is the newer name and wins.
		MaxTokens: ptr(20), Temperature: ptr(0.5), TopP: ptr(0.9), FrequencyPenalty: ptr(0.1), PresencePenalty: ptr(0.2),
		Stop: []string{"END"}, Seed: ptr(int64(7)), N: ptr(2), User: "u", Stream: true, IncludeUsage: true,
		Tools:          []llm.Tool{{Name: "lookup", Description: "d", Parameters: json.RawMessage(`{"type":"object"}`), Strict: ptr(false)}},
		ToolChoice:     &llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "lookup"},
		ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "out", Schema: json.RawMessage(`{"type":"object"}`), Strict: ptr(true)},
		Extra:          map[string]json.RawMessage{"logprobs": json.RawMessage(`true`)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ToLLM mismatch (-want +got):\n%s", diff)
	}
}

func TestToLLMFormats(t *testing.T) {
	tests := []struct {
		fields string
		want   *llm.ResponseFormat
	}{
		{`"response_format":{"type":"text"}`, nil},
		{`"response_format":{"type":"json_object"}`, &llm.ResponseFormat{Type: llm.FormatJSONObject}},
		{`"response_format":null`, nil},
	}
	for _, tt := range tests {
		got, err := decode(t, body(hi, tt.fields)).ToLLM()
		if err != nil {
			t.Fatalf("ToLLM(%s) error = %v", tt.fields, err)
		}
		if diff := cmp.Diff(tt.want, got.ResponseFormat); diff != "" {
			t.Errorf("ToLLM(%s).ResponseFormat mismatch (-want +got):\n%s", tt.fields, diff)
		}
	}
}

func TestFromLLM(t *testing.T) {
	in := &llm.ChatRequest{
		Model: "gpt-4o",
		Messages: []llm.Message{
			llm.TextMessage(llm.RoleDeveloper, "Be brief."),
			{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: "a"}, {Type: llm.PartText, Text: "b"}}},
			{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: "see"}, {Type: llm.PartImage, ImageURL: "https://x/y.png", Detail: "low"}}},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c1", Name: "f", Arguments: `{"x":1}`}}},
			{Role: llm.RoleTool, ToolCallID: "c1", Content: []llm.Part{{Type: llm.PartText, Text: "ok"}}},
		},
		MaxTokens: ptr(5), Temperature: ptr(1.0), TopP: ptr(0.5), FrequencyPenalty: ptr(0.0), PresencePenalty: ptr(0.0),
		Stop: []string{"x"}, Seed: ptr(int64(3)), N: ptr(1), User: "u", Stream: true,
		Tools:          []llm.Tool{{Name: "f", Description: "d", Parameters: json.RawMessage(`{}`)}},
		ToolChoice:     &llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "f"},
		ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "s", Schema: json.RawMessage(`{}`), Strict: ptr(true)},
		Extra:          map[string]json.RawMessage{"logprobs": json.RawMessage(`true`)},
	}
	want := &wire.ChatRequest{
		Model: "gpt-4o",
		Messages: []wire.Message{
			{Role: "developer", Content: wire.Content{Text: ptr("Be brief.")}},
			// Text-only content is sent as one string.
			{Role: "user", Content: wire.Content{Text: ptr("ab")}},
			{Role: "user", Content: wire.Content{Parts: []wire.ContentPart{{Type: "text", Text: "see"}, {Type: "image_url", ImageURL: &wire.ImageURL{URL: "https://x/y.png", Detail: "low"}}}}},
			{Role: "assistant", ToolCalls: []wire.ToolCall{{ID: "c1", Type: "function", Function: wire.FunctionCall{Name: "f", Arguments: `{"x":1}`}}}},
			{Role: "tool", ToolCallID: "c1", Content: wire.Content{Text: ptr("ok")}},
		},
		MaxTokens: ptr(5), Temperature: ptr(1.0), TopP: ptr(0.5), FrequencyPenalty: ptr(0.0), PresencePenalty: ptr(0.0),
		Stop: wire.StringList{"x"}, Seed: ptr(int64(3)), N: ptr(1), User: "u", Stream: true,
		// Usage is always asked for on streams: the gateway bills from it.
		StreamOptions:  &wire.StreamOptions{IncludeUsage: true},
		Tools:          []wire.Tool{{Type: "function", Function: wire.FunctionDef{Name: "f", Description: "d", Parameters: json.RawMessage(`{}`)}}},
		ToolChoice:     json.RawMessage(`{"function":{"name":"f"},"type":"function"}`),
		ResponseFormat: &wire.ResponseFormat{Type: "json_schema", JSONSchema: &wire.JSONSchema{Name: "s", Schema: json.RawMessage(`{}`), Strict: ptr(true)}},
		Extra:          map[string]json.RawMessage{"logprobs": json.RawMessage(`true`)},
	}
	if diff := cmp.Diff(want, wire.FromLLM(in)); diff != "" {
		t.Errorf("FromLLM mismatch (-want +got):\n%s", diff)
	}
}

func TestFromLLMToolChoiceModes(t *testing.T) {
	for _, mode := range []string{llm.ToolChoiceAuto, llm.ToolChoiceNone, llm.ToolChoiceRequired} {
		got := wire.FromLLM(&llm.ChatRequest{Model: "m", ToolChoice: &llm.ToolChoice{Mode: mode}})
		if want := `"` + mode + `"`; string(got.ToolChoice) != want {
			t.Errorf("FromLLM(tool choice %s).ToolChoice = %s; want %s", mode, got.ToolChoice, want)
		}
	}
	got := wire.FromLLM(&llm.ChatRequest{Model: "m", ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONObject}})
	if diff := cmp.Diff(&wire.ResponseFormat{Type: "json_object"}, got.ResponseFormat); diff != "" {
		t.Errorf("FromLLM(json_object) mismatch (-want +got):\n%s", diff)
	}
	if got.StreamOptions != nil {
		t.Errorf("FromLLM(not streaming).StreamOptions = %+v; want nil", got.StreamOptions)
	}
}

// A request decoded by the dialect and re-encoded by the adapter must say
// the same thing to upstream.
func TestToLLMFromLLMRoundTrip(t *testing.T) {
	in := body(`[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}}]},
		{"role":"assistant","content":"","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"r"}]`,
		`"temperature":1,"stop":["a","b"],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"required","response_format":{"type":"json_object"},"seed":1`)
	orig := decode(t, in)
	lr, err := orig.ToLLM()
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(wire.FromLLM(lr))
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	_ = json.Unmarshal([]byte(in), &want)
	_ = json.Unmarshal(out, &got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

func TestCompletionFromLLM(t *testing.T) {
	resp := &llm.ChatResponse{ID: "up-1", Model: "gpt-4o-2024", Created: 1700000000,
		Choices: []llm.Choice{
			{Index: 0, Message: llm.TextMessage(llm.RoleAssistant, "hello"), FinishReason: llm.FinishStop},
			{Index: 1, Message: llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f", Arguments: "{}"}}}, FinishReason: llm.FinishToolCalls},
			{Index: 2, Message: llm.Message{Role: llm.RoleAssistant}, FinishReason: llm.FinishLength},
		},
		Usage: llm.Usage{PromptTokens: 10, CompletionTokens: 5, CachedTokens: 4, ReasoningTokens: 2}, HasUsage: true,
	}
	got := wire.CompletionFromLLM(resp, "chatcmpl-x", "public-model")
	null := json.RawMessage("null")
	want := &wire.ChatCompletion{ID: "chatcmpl-x", Object: "chat.completion", Created: 1700000000, Model: "public-model",
		Choices: []wire.Choice{
			{Index: 0, Message: wire.RespMessage{Role: "assistant", Content: ptr("hello")}, FinishReason: "stop", Logprobs: null},
			// content is null when the answer is only tool calls.
			{Index: 1, Message: wire.RespMessage{Role: "assistant", ToolCalls: []wire.ToolCall{{ID: "c", Type: "function", Function: wire.FunctionCall{Name: "f", Arguments: "{}"}}}}, FinishReason: "tool_calls", Logprobs: null},
			// ...and "" when there is nothing at all.
			{Index: 2, Message: wire.RespMessage{Role: "assistant", Content: ptr("")}, FinishReason: "length", Logprobs: null},
		},
		Usage: &wire.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15,
			PromptTokensDetails: &wire.PromptTokensDetails{CachedTokens: 4}, CompletionTokensDetails: &wire.CompletionTokensDetails{ReasoningTokens: 2}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CompletionFromLLM mismatch (-want +got):\n%s", diff)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"content":null`, `"refusal":null`, `"logprobs":null`, `"system_fingerprint":null`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("JSON %s lacks %s, which the OpenAI SDKs expect", b, s)
		}
	}
}

func TestCompletionToLLM(t *testing.T) {
	in := `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18",
		"choices":[
			{"index":0,"message":{"role":"assistant","content":"Hi!","refusal":null},"logprobs":null,"finish_reason":"stop"},
			{"index":1,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_a","type":"function","function":{"name":"get","arguments":"{\"q\":1}"}}]},"finish_reason":"tool_calls"}],
		"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}}}`
	var c wire.ChatCompletion
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	want := &llm.ChatResponse{ID: "chatcmpl-1", Model: "gpt-4o-mini-2024-07-18", Created: 1700000000,
		Choices: []llm.Choice{
			{Index: 0, Message: llm.TextMessage(llm.RoleAssistant, "Hi!"), FinishReason: "stop"},
			{Index: 1, Message: llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_a", Name: "get", Arguments: `{"q":1}`}}}, FinishReason: "tool_calls"},
		},
		Usage: llm.Usage{PromptTokens: 9, CompletionTokens: 3, CachedTokens: 2, ReasoningTokens: 1}, HasUsage: true,
	}
	if diff := cmp.Diff(want, wire.CompletionToLLM(&c)); diff != "" {
		t.Errorf("CompletionToLLM mismatch (-want +got):\n%s", diff)
	}

	// Servers that send no usage must not look like they sent zero.
	noUsage := wire.CompletionToLLM(&wire.ChatCompletion{ID: "x", Choices: []wire.Choice{}})
	if noUsage.HasUsage || noUsage.Usage != (llm.Usage{}) {
		t.Errorf("CompletionToLLM(no usage) = HasUsage %v, Usage %+v; want false, zero", noUsage.HasUsage, noUsage.Usage)
	}
}

func TestChunkToLLM(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []llm.Chunk
	}{{
		name: "role",
		in:   `{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"finish_reason":null}]}`,
		want: []llm.Chunk{{ID: "c", Model: "m", Role: "assistant"}},
	}, {
		name: "text",
		in:   `{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"usage":null}`,
		want: []llm.Chunk{{ID: "c", Model: "m", Text: "Hel"}},
	}, {
		name: "tool call deltas",
		in: `{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[
			{"index":0,"id":"call_1","type":"function","function":{"name":"a","arguments":""}},
			{"index":1,"function":{"arguments":"{\"x\""}}]}}]}`,
		want: []llm.Chunk{{ID: "c", Model: "m", ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_1", Name: "a"}, {Index: 1, Arguments: `{"x"`}}}},
	}, {
		name: "finish reasons",
		in: `{"id":"c","model":"m","choices":[
			{"index":0,"delta":{},"finish_reason":"stop"},{"index":1,"delta":{},"finish_reason":"length"},
			{"index":2,"delta":{},"finish_reason":"tool_calls"},{"index":3,"delta":{},"finish_reason":"content_filter"}]}`,
		want: []llm.Chunk{
			{ID: "c", Model: "m", Index: 0, FinishReason: llm.FinishStop}, {ID: "c", Model: "m", Index: 1, FinishReason: llm.FinishLength},
			{ID: "c", Model: "m", Index: 2, FinishReason: llm.FinishToolCalls}, {ID: "c", Model: "m", Index: 3, FinishReason: llm.FinishContentFilter},
		},
	}, {
		name: "usage only",
		in:   `{"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":1}}}`,
		want: []llm.Chunk{{ID: "c", Model: "m", Usage: &llm.Usage{PromptTokens: 9, CompletionTokens: 3, CachedTokens: 1}}},
	}, {
		// Some servers (llama.cpp, vLLM) put usage on the last choice chunk.
		name: "usage with a finish",
		in:   `{"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}`,
		want: []llm.Chunk{{ID: "c", Model: "m", FinishReason: "stop", Usage: &llm.Usage{PromptTokens: 2, CompletionTokens: 1}}},
	}, {
		name: "empty",
		in:   `{"id":"c","model":"m","choices":[]}`,
		want: nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c wire.ChatChunk
			if err := json.Unmarshal([]byte(tt.in), &c); err != nil {
				t.Fatal(err)
			}
			got := wire.ChunkToLLM(&c, nil)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ChunkToLLM mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A usage-only chunk appended to earlier chunks must not be merged into them.
func TestChunkToLLMAppends(t *testing.T) {
	prev := []llm.Chunk{{Text: "earlier"}}
	got := wire.ChunkToLLM(&wire.ChatChunk{ID: "c", Usage: &wire.Usage{PromptTokens: 1}}, prev)
	want := []llm.Chunk{{Text: "earlier"}, {ID: "c", Usage: &llm.Usage{PromptTokens: 1}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ChunkToLLM mismatch (-want +got):\n%s", diff)
	}
}

func TestChunkFromLLM(t *testing.T) {
	u := &llm.Usage{PromptTokens: 3, CompletionTokens: 2}
	tests := []struct {
		name      string
		in        llm.Chunk
		withUsage bool
		want      string
	}{{
		name: "role opens with empty content",
		in:   llm.Chunk{Role: "assistant"},
		want: `{"id":"id","object":"chat.completion.chunk","created":5,"model":"pub","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
	}, {
		name: "text",
		in:   llm.Chunk{Text: "hi", Index: 1},
		want: `{"id":"id","object":"chat.completion.chunk","created":5,"model":"pub","choices":[{"index":1,"delta":{"content":"hi"},"finish_reason":null}]}`,
	}, {
		name: "tool call start and arguments",
		in:   llm.Chunk{Role: "assistant", ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "c1", Name: "f"}, {Index: 1, Arguments: `{"a"`}}},
		want: `{"id":"id","object":"chat.completion.chunk","created":5,"model":"pub","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[` +
			`{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":""}},{"index":1,"function":{"arguments":"{\"a\""}}]},"finish_reason":null}]}`,
	}, {
		name: "finish",
		in:   llm.Chunk{FinishReason: "tool_calls"},
		want: `{"id":"id","object":"chat.completion.chunk","created":5,"model":"pub","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
	}, {
		name:      "usage only",
		in:        llm.Chunk{Usage: u},
		withUsage: true,
		want: `{"id":"id","object":"chat.completion.chunk","created":5,"model":"pub","choices":[],` +
			`"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`,
	}, {
		name: "usage withheld",
		in:   llm.Chunk{FinishReason: "stop", Usage: u},
		want: `{"id":"id","object":"chat.completion.chunk","created":5,"model":"pub","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
	}, {
		name:      "usage with finish",
		in:        llm.Chunk{FinishReason: "stop", Usage: u},
		withUsage: true,
		want: `{"id":"id","object":"chat.completion.chunk","created":5,"model":"pub","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],` +
			`"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(wire.ChunkFromLLM(&tt.in, "id", "pub", 5, tt.withUsage))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("ChunkFromLLM(%+v) =\n%s\nwant\n%s", tt.in, b, tt.want)
			}
		})
	}
}

// What the adapter decodes, the dialect must be able to encode back into
// the same chunk.
func TestChunkRoundTrip(t *testing.T) {
	for _, c := range []llm.Chunk{
		{Role: "assistant"},
		{Text: "x", Index: 2},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "a", Name: "f", Arguments: "{"}}},
		{FinishReason: "length", Usage: &llm.Usage{PromptTokens: 1, CompletionTokens: 1}},
		{Usage: &llm.Usage{PromptTokens: 4}},
	} {
		wc := wire.ChunkFromLLM(&c, "id", "m", 1, true)
		got := wire.ChunkToLLM(wc, nil)
		want := c
		want.ID, want.Model = "id", "m"
		if diff := cmp.Diff([]llm.Chunk{want}, got); diff != "" {
			t.Errorf("round trip of %+v mismatch (-want +got):\n%s", c, diff)
		}
	}
}

func TestPromptText(t *testing.T) {
	tests := []struct {
		in      wire.StringList
		want    string
		wantErr bool
	}{
		{nil, "", true},
		{wire.StringList{"a"}, "a", false},
		{wire.StringList{"a", "b"}, "ab", true},
	}
	for _, tt := range tests {
		got, err := wire.PromptText(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("PromptText(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && llmservice.AsError(err).Param != "prompt" {
			t.Errorf("PromptText(%q) error param = %q; want prompt", tt.in, llmservice.AsError(err).Param)
		}
	}
}
