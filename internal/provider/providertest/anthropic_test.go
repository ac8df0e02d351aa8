package providertest_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice/internal/provider/providertest"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	wire "github.com/llmservice/llmservice/internal/wire/anthropic"
)

// postAnthropic sends body to the fake's /v1/messages with the given
// headers, returning the status and the body.
func postAnthropic(t *testing.T, f *providertest.Fake, header map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.URL+"/v1/messages", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := f.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal(err)
	}
	return resp, b
}

var anthropicAuth = map[string]string{"x-api-key": "k", "anthropic-version": "2023-06-01", "content-type": "application/json"}

func TestAnthropicRejects(t *testing.T) {
	tests := []struct {
		name    string
		header  map[string]string
		body    string
		status  int
		errType string
		message string
	}{
		{"no key", map[string]string{"anthropic-version": "2023-06-01"}, `{}`, 401, "authentication_error", "x-api-key header is required"},
		{"no version", map[string]string{"x-api-key": "k"}, `{}`, 400, "invalid_request_error", "anthropic-version: header is required"},
		{"no max_tokens", anthropicAuth, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request_error", "max_tokens: Field required"},
		{"no model", anthropicAuth, `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request_error", "model: Field required"},
		{"system role", anthropicAuth, `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"hi"}]}`, 400, "invalid_request_error", "messages.0.role: Input should be 'user' or 'assistant'"},
		{"not JSON", anthropicAuth, `{`, 400, "invalid_request_error", "There was an error parsing the body of your request"},
	}
	f := providertest.NewAnthropic(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := postAnthropic(t, f, tt.header, tt.body)
			var got wire.ErrorResponse
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("error body %s: %v", b, err)
			}
			want := wire.ErrorResponse{Type: "error", Error: wire.ErrorDetail{Type: tt.errType, Message: tt.message}, RequestID: "req_fake"}
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d; want %d", resp.StatusCode, tt.status)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnthropicAnswers(t *testing.T) {
	tests := []struct {
		name string
		body string
		want wire.Message
	}{{
		name: "echo, system counted, string content accepted",
		body: `{"model":"claude-x","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"hello there"}]}`,
		want: wire.Message{ID: "msg_fake", Type: "message", Role: "assistant", Model: "claude-x", StopReason: "end_turn",
			Content: []wire.ContentBlock{{Type: "text", Text: "echo: hello there"}},
			Usage:   wire.Usage{InputTokens: 4, OutputTokens: 3}},
	}, {
		name: "tools declared: the first one is called",
		body: `{"model":"m","max_tokens":100,"tools":[{"name":"lookup","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":[{"type":"text","text":"find it"}]}]}`,
		want: wire.Message{ID: "msg_fake", Type: "message", Role: "assistant", Model: "m", StopReason: "tool_use",
			Content: []wire.ContentBlock{{Type: "tool_use", ID: "call_1", Name: "lookup", Input: json.RawMessage(`{"query":"find it"}`)}},
			Usage:   wire.Usage{InputTokens: 2, OutputTokens: 2}},
	}, {
		name: "tool result",
		body: `{"model":"m","max_tokens":100,"tools":[{"name":"lookup","input_schema":{"type":"object"}}],"messages":[
			{"role":"user","content":"find it"},
			{"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"lookup","input":{"query":"find it"}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"found"}]}]}`,
		want: wire.Message{ID: "msg_fake", Type: "message", Role: "assistant", Model: "m", StopReason: "end_turn",
			Content: []wire.ContentBlock{{Type: "text", Text: "tool result: found"}},
			Usage:   wire.Usage{InputTokens: 3, OutputTokens: 3}},
	}, {
		name: "max_tokens cuts the answer",
		body: `{"model":"m","max_tokens":2,"messages":[{"role":"user","content":"a b c"}]}`,
		want: wire.Message{ID: "msg_fake", Type: "message", Role: "assistant", Model: "m", StopReason: "max_tokens",
			Content: []wire.ContentBlock{{Type: "text", Text: "echo: a"}},
			Usage:   wire.Usage{InputTokens: 3, OutputTokens: 2}},
	}}
	f := providertest.NewAnthropic(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := postAnthropic(t, f, anthropicAuth, tt.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			var got wire.Message
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("answer %s: %v", b, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// readEvents splits an SSE body into (event name, decoded data) pairs.
func readEvents(t *testing.T, b []byte) ([]string, []wire.StreamEvent) {
	t.Helper()
	r := upstream.NewSSEReader(strings.NewReader(string(b)))
	var names []string
	var evs []wire.StreamEvent
	for {
		ev, err := r.Next()
		if err != nil {
			return names, evs
		}
		var e wire.StreamEvent
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			t.Fatalf("event %s data %s: %v", ev.Name, ev.Data, err)
		}
		if e.Type != ev.Name {
			t.Errorf("event %q carries data of type %q", ev.Name, e.Type)
		}
		names = append(names, ev.Name)
		evs = append(evs, e)
	}
}

func TestAnthropicStream(t *testing.T) {
	f := providertest.NewAnthropic(t)
	resp, b := postAnthropic(t, f, anthropicAuth, `{"model":"m","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hello there"}]}`)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q; want text/event-stream", ct)
	}
	names, evs := readEvents(t, b)
	wantNames := []string{"message_start", "content_block_start", "ping",
		"content_block_delta", "content_block_delta", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Fatalf("event sequence (-want +got):\n%s", diff)
	}
	var text string
	for _, e := range evs[3:6] {
		text += e.Delta.Text
	}
	if text != "echo: hello there" {
		t.Errorf("streamed text = %q; want %q", text, "echo: hello there")
	}
	if u := evs[0].Message.Usage; u.InputTokens != 2 {
		t.Errorf("message_start input_tokens = %d; want 2", u.InputTokens)
	}
	if d := evs[7]; d.Delta.StopReason != "end_turn" || d.Usage.OutputTokens != 3 {
		t.Errorf("message_delta = %+v, %+v; want end_turn, 3 output tokens", d.Delta, d.Usage)
	}
}

func TestAnthropicStreamToolCall(t *testing.T) {
	f := providertest.NewAnthropic(t)
	_, b := postAnthropic(t, f, anthropicAuth, `{"model":"m","max_tokens":100,"stream":true,"tools":[{"name":"lookup","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"find the thing"}]}`)
	_, evs := readEvents(t, b)
	start := evs[1].ContentBlock
	if start == nil || start.Type != "tool_use" || start.ID != "call_1" || start.Name != "lookup" {
		t.Fatalf("content_block_start = %+v; want tool_use call_1 lookup", start)
	}
	var args string
	for _, e := range evs {
		if e.Type == "content_block_delta" {
			if e.Delta.Type != "input_json_delta" {
				t.Errorf("delta type %q; want input_json_delta", e.Delta.Type)
			}
			args += e.Delta.PartialJSON
		}
	}
	if args != `{"query":"find the thing"}` {
		t.Errorf("streamed arguments = %s; want {\"query\":\"find the thing\"}", args)
	}
	if stop := evs[len(evs)-2].Delta.StopReason; stop != "tool_use" {
		t.Errorf("stop_reason = %q; want tool_use", stop)
	}
}

func TestAnthropicStreamFailure(t *testing.T) {
	f := providertest.NewAnthropic(t)
	f.FailNext(providertest.Failure{AfterChunks: 1})
	_, b := postAnthropic(t, f, anthropicAuth, `{"model":"m","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hello there"}]}`)
	names, _ := readEvents(t, b)
	want := []string{"message_start", "content_block_start", "ping", "content_block_delta"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("events before the break (-want +got):\n%s", diff)
	}
}
