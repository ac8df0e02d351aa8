package openai_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

func ptr[T any](v T) *T { return &v }

func TestChatRequestUnmarshalFieldErrors(t *testing.T) {
	tests := []struct {
		in    string
		field string
		msg   string
	}{
		{`{"model":5}`, "model", "expected a string, got number"},
		{`{"max_tokens":"x"}`, "max_tokens", "expected an integer, got string"},
		{`{"max_tokens":1.5}`, "max_tokens", "expected an integer, got number 1.5"},
		{`{"max_completion_tokens":true}`, "max_completion_tokens", "expected an integer, got bool"},
		{`{"temperature":"hot"}`, "temperature", "expected a number, got string"},
		{`{"top_p":[]}`, "top_p", "expected a number, got array"},
		{`{"frequency_penalty":{}}`, "frequency_penalty", "expected a number, got object"},
		{`{"presence_penalty":"0"}`, "presence_penalty", "expected a number, got string"},
		{`{"seed":"1"}`, "seed", "expected an integer, got string"},
		{`{"n":"2"}`, "n", "expected an integer, got string"},
		{`{"stream":"yes"}`, "stream", "expected a boolean, got string"},
		{`{"user":1}`, "user", "expected a string, got number"},
		{`{"stop":5}`, "stop", "must be a string or an array of strings"},
		{`{"stop":["a",1]}`, "stop", "must be a string or an array of strings"},
		{`{"stream_options":{"include_usage":"yes"}}`, "stream_options.include_usage", "expected a boolean, got string"},
		{`{"response_format":"json"}`, "response_format", "expected an object, got string"},
		{`{"response_format":{"type":5}}`, "response_format.type", "expected a string, got number"},
		{`{"response_format":{"type":"json_schema","json_schema":{"strict":"yes"}}}`, "response_format.json_schema.strict", "expected a boolean, got string"},
		{`{"tools":{}}`, "tools", "expected an array, got object"},
		{`{"tools":[1]}`, "tools[0]", "expected an object, got number"},
		{`{"tools":[{"type":"function","function":{"name":"a"}},{"function":{"name":5}}]}`, "tools[1].function.name", "expected a string, got number"},
		{`{"messages":"hi"}`, "messages", "must be an array of message objects"},
		{`{"messages":[1]}`, "messages[0]", "expected an object, got number"},
		{`{"messages":[{"role":"user","content":"a"},{"role":5}]}`, "messages[1].role", "expected a string, got number"},
		{`{"messages":[{"role":"user","content":5}]}`, "messages[0].content", "must be a string, an array of content parts or null"},
		{`{"messages":[{"role":"user","content":{"type":"text"}}]}`, "messages[0].content", "must be a string, an array of content parts or null"},
		{`{"messages":[{"role":"user","content":["hi"]}]}`, "messages[0].content[0]", "expected an object, got string"},
		{`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":5}]}]}`, "messages[0].content[1].type", "expected a string, got number"},
		{`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"http://x"}]}]}`, "messages[0].content[0].image_url", "expected an object, got string"},
		{`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":1}}]}]}`, "messages[0].content[0].image_url.url", "expected a string, got number"},
		{`{"messages":[{"role":"user","name":1}]}`, "messages[0].name", "expected a string, got number"},
		{`{"messages":[{"role":"tool","tool_call_id":1}]}`, "messages[0].tool_call_id", "expected a string, got number"},
		{`{"messages":[{"role":"assistant","tool_calls":{}}]}`, "messages[0].tool_calls", "expected an array, got object"},
		{`{"messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"f","arguments":"{}"}},{"function":{"arguments":{}}}]}]}`, "messages[0].tool_calls[1].function.arguments", "expected a string, got object"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			var r wire.ChatRequest
			err := json.Unmarshal([]byte(tt.in), &r)
			var fe *wire.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Unmarshal(%s) error = %v (%T); want a *FieldError", tt.in, err, err)
			}
			if fe.Field != tt.field || fe.Msg != tt.msg {
				t.Errorf("Unmarshal(%s) error = %q: %q; want %q: %q", tt.in, fe.Field, fe.Msg, tt.field, tt.msg)
			}
			if f, m := fe.InvalidField(); f != tt.field || m != tt.msg {
				t.Errorf("InvalidField() = %q, %q; want %q, %q", f, m, tt.field, tt.msg)
			}
		})
	}
}

func TestChatRequestUnmarshalNotAnObject(t *testing.T) {
	for _, in := range []string{`[1]`, `"x"`, `12`, `true`} {
		var r wire.ChatRequest
		err := json.Unmarshal([]byte(in), &r)
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			t.Errorf("Unmarshal(%s) error = %v (%T); want *json.UnmarshalTypeError", in, err, err)
		}
	}
}

func TestChatRequestUnmarshal(t *testing.T) {
	in := `{
		"model": "gpt-4o-mini",
		"messages": [
			{"role": "system", "content": "Be brief."},
			{"role": "user", "name": "ann", "content": [
				{"type": "text", "text": "What is this?"},
				{"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}
			]},
			{"role": "assistant", "content": null, "tool_calls": [
				{"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"a\"}"}}
			]},
			{"role": "tool", "tool_call_id": "call_1", "content": "found"}
		],
		"max_tokens": 10, "max_completion_tokens": 20, "temperature": 0.5, "top_p": 1,
		"frequency_penalty": -1, "presence_penalty": 1.5, "stop": "END", "seed": 7, "n": 1,
		"tools": [{"type": "function", "function": {"name": "lookup", "description": "Look up", "parameters": {"type":"object"}, "strict": true}}],
		"tool_choice": "auto",
		"response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type":"object"}, "strict": true}},
		"user": "u-1", "stream": true, "stream_options": {"include_usage": true},
		"parallel_tool_calls": false,
		"logit_bias": {"50256": -100}
	}`
	var got wire.ChatRequest
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatalf("Unmarshal error = %v", err)
	}
	want := wire.ChatRequest{
		Model: "gpt-4o-mini",
		Messages: []wire.Message{
			{Role: "system", Content: wire.Content{Text: ptr("Be brief.")}},
			{Role: "user", Name: "ann", Content: wire.Content{Parts: []wire.ContentPart{
				{Type: "text", Text: "What is this?"},
				{Type: "image_url", ImageURL: &wire.ImageURL{URL: "https://example.com/a.png", Detail: "low"}},
			}}},
			{Role: "assistant", ToolCalls: []wire.ToolCall{{ID: "call_1", Type: "function", Function: wire.FunctionCall{Name: "lookup", Arguments: `{"q":"a"}`}}}},
			{Role: "tool", ToolCallID: "call_1", Content: wire.Content{Text: ptr("found")}},
		},
		MaxTokens: ptr(10), MaxCompletionTokens: ptr(20), Temperature: ptr(0.5), TopP: ptr(1.0),
		FrequencyPenalty: ptr(-1.0), PresencePenalty: ptr(1.5), Stop: wire.StringList{"END"}, Seed: ptr(int64(7)), N: ptr(1),
		Tools:          []wire.Tool{{Type: "function", Function: wire.FunctionDef{Name: "lookup", Description: "Look up", Parameters: json.RawMessage(`{"type":"object"}`), Strict: ptr(true)}}},
		ToolChoice:     json.RawMessage(`"auto"`),
		ResponseFormat: &wire.ResponseFormat{Type: "json_schema", JSONSchema: &wire.JSONSchema{Name: "answer", Schema: json.RawMessage(`{"type":"object"}`), Strict: ptr(true)}},
		User:           "u-1", Stream: true, StreamOptions: &wire.StreamOptions{IncludeUsage: true},
		Extra: map[string]json.RawMessage{
			"parallel_tool_calls": json.RawMessage(`false`),
			"logit_bias":          json.RawMessage(`{"50256": -100}`),
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Unmarshal mismatch (-want +got):\n%s", diff)
	}
}

func TestChatRequestNulls(t *testing.T) {
	var got wire.ChatRequest
	in := `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":null,"stream":null,"stop":null,"max_tokens":null}`
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatalf("Unmarshal error = %v", err)
	}
	want := wire.ChatRequest{Model: "m", Messages: []wire.Message{{Role: "user", Content: wire.Content{Text: ptr("hi")}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Unmarshal mismatch (-want +got):\n%s", diff)
	}
}

// Unknown fields must reach an OpenAI-protocol upstream unchanged.
func TestChatRequestExtraRoundTrip(t *testing.T) {
	in := `{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":2,"reasoning_effort":"low","metadata":{"a":["b",1]}}`
	var r wire.ChatRequest
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatalf("Unmarshal error = %v", err)
	}
	if len(r.Extra) != 4 {
		t.Fatalf("Extra = %v; want 4 fields", r.Extra)
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("Marshal error = %v", err)
	}
	var gotFields, wantFields map[string]any
	if err := json.Unmarshal(out, &gotFields); err != nil {
		t.Fatalf("Marshal wrote invalid JSON %s: %v", out, err)
	}
	_ = json.Unmarshal([]byte(in), &wantFields)
	if diff := cmp.Diff(wantFields, gotFields); diff != "" {
		t.Errorf("Marshal(Unmarshal(%s)) mismatch (-want +got):\n%s", in, diff)
	}
	var again wire.ChatRequest
	if err := json.Unmarshal(out, &again); err != nil {
		t.Fatalf("Unmarshal(Marshal) error = %v", err)
	}
	if diff := cmp.Diff(r, again); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

func TestChatRequestMarshalWithoutExtra(t *testing.T) {
	r := wire.ChatRequest{Model: "m", Messages: []wire.Message{{Role: "user", Content: wire.Content{Text: ptr("hi")}}}}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	if string(out) != want {
		t.Errorf("Marshal = %s; want %s", out, want)
	}
}

func TestContentJSON(t *testing.T) {
	tests := []struct {
		in   string
		want wire.Content
		out  string
	}{
		{`"hi"`, wire.Content{Text: ptr("hi")}, `"hi"`},
		{`""`, wire.Content{Text: ptr("")}, `""`},
		{`null`, wire.Content{}, `null`},
		{` [ ] `, wire.Content{Parts: []wire.ContentPart{}}, `[]`},
		{`[{"type":"text","text":"a"}]`, wire.Content{Parts: []wire.ContentPart{{Type: "text", Text: "a"}}}, `[{"type":"text","text":"a"}]`},
	}
	for _, tt := range tests {
		var got wire.Content
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Errorf("Unmarshal(%s) error = %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Unmarshal(%s) mismatch (-want +got):\n%s", tt.in, diff)
		}
		out, err := json.Marshal(got)
		if err != nil || string(out) != tt.out {
			t.Errorf("Marshal(%s) = %s, %v; want %s", tt.in, out, err, tt.out)
		}
	}
}

func TestStringList(t *testing.T) {
	tests := []struct {
		in      string
		want    wire.StringList
		wantErr bool
	}{
		{`"a"`, wire.StringList{"a"}, false},
		{`["a","b"]`, wire.StringList{"a", "b"}, false},
		{`[]`, wire.StringList{}, false},
		{`null`, nil, false},
		{`1`, nil, true},
		{`[1]`, nil, true},
		{`{"a":1}`, nil, true},
	}
	for _, tt := range tests {
		var got wire.StringList
		err := json.Unmarshal([]byte(tt.in), &got)
		if (err != nil) != tt.wantErr {
			t.Errorf("Unmarshal(%s) error = %v; want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
			t.Errorf("Unmarshal(%s) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestCompletionRequestUnmarshal(t *testing.T) {
	var got wire.CompletionRequest
	if err := json.Unmarshal([]byte(`{"model":"m","prompt":"say hi","stop":["\n"],"max_tokens":3}`), &got); err != nil {
		t.Fatalf("Unmarshal error = %v", err)
	}
	want := wire.CompletionRequest{Model: "m", Prompt: wire.StringList{"say hi"}, Stop: wire.StringList{"\n"}, MaxTokens: ptr(3)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Unmarshal mismatch (-want +got):\n%s", diff)
	}

	// StringList cannot know its field; the request names it.
	for _, tt := range []struct{ in, field string }{
		{`{"model":"m","prompt":5}`, "prompt"},
		{`{"model":"m","prompt":"a","stop":{"x":1}}`, "stop"},
		{`{"model":"m","prompt":[1,2]}`, "prompt"},
	} {
		var r wire.CompletionRequest
		err := json.Unmarshal([]byte(tt.in), &r)
		var fe *wire.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field || fe.Msg != "must be a string or an array of strings" {
			t.Errorf("Unmarshal(%s) error = %v; want a FieldError naming %s", tt.in, err, tt.field)
		}
	}
	// Other errors keep encoding/json's own field naming.
	var r wire.CompletionRequest
	var te *json.UnmarshalTypeError
	if err := json.Unmarshal([]byte(`{"model":"m","max_tokens":"3"}`), &r); !errors.As(err, &te) || te.Field != "max_tokens" {
		t.Errorf("Unmarshal(max_tokens string) error = %v; want a type error on max_tokens", err)
	}
}
