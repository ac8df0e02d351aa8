package openai_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

// errorBody is OpenAI's error shape, with pointers so that null and absent
// can be told from "".
type errorBody struct {
	Error *struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// decodeError checks that w holds an OpenAI error body and returns it.
func decodeError(t *testing.T, w *httptest.ResponseRecorder) errorBody {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q; want application/json", ct)
	}
	var b errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.Error == nil {
		t.Fatalf("body %q is not an OpenAI error: %v", w.Body, err)
	}
	if b.Error.Message == "" || b.Error.Type == "" {
		t.Errorf("error %+v lacks a message or type", *b.Error)
	}
	// The SDKs read param and code as nullable strings: present, maybe null.
	var raw map[string]map[string]json.RawMessage
	_ = json.Unmarshal(w.Body.Bytes(), &raw)
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := raw["error"][k]; !ok {
			t.Errorf("error body %s lacks %q", w.Body, k)
		}
	}
	return b
}

const msgs = `"messages":[{"role":"user","content":"hi"}]`

func TestChatErrors(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		status    int
		typ       string
		param     string // "" means null
		msgSubstr string
	}{
		{"malformed json", `{"model":"m",`, 400, "invalid_request_error", "", "not valid JSON"},
		{"not json", `model=m`, 400, "invalid_request_error", "", "not valid JSON"},
		{"empty body", ``, 400, "invalid_request_error", "", "request body is empty"},
		{"array body", `[{"model":"m"}]`, 400, "invalid_request_error", "", "must be a JSON object"},
		{"wrong type", `{"model":"m",` + msgs + `,"temperature":"hot"}`, 400, "invalid_request_error", "temperature", "expected a number, got string"},
		{"wrong nested type", `{"model":"m","messages":[{"role":"user","content":5}]}`, 400, "invalid_request_error", "messages[0].content", "content"},
		{"wrong type in a tool", `{"model":"m",` + msgs + `,"tools":[{"type":"function","function":{"name":["f"]}}]}`, 400, "invalid_request_error", "tools[0].function.name", "expected a string"},
		{"missing model", `{` + msgs + `}`, 400, "invalid_request_error", "model", "model is required"},
		{"model null", `{"model":null,` + msgs + `}`, 400, "invalid_request_error", "model", "model is required"},
		{"missing messages", `{"model":"m"}`, 400, "invalid_request_error", "messages", "messages"},
		{"empty messages", `{"model":"m","messages":[]}`, 400, "invalid_request_error", "messages", "messages"},
		{"bad role", `{"model":"m","messages":[{"role":"narrator","content":"hi"}]}`, 400, "invalid_request_error", "messages[0].role", `"narrator"`},
		{"missing role", `{"model":"m","messages":[{"content":"hi"}]}`, 400, "invalid_request_error", "messages[0].role", "role is required"},
		{"bad tool_choice", `{"model":"m",` + msgs + `,"tool_choice":"sometimes"}`, 400, "invalid_request_error", "tool_choice", `"sometimes"`},
		{"bad tool_choice object", `{"model":"m",` + msgs + `,"tool_choice":{"type":"function"}}`, 400, "invalid_request_error", "tool_choice", "tool_choice"},
		{"out of range", `{"model":"m",` + msgs + `,"temperature":3}`, 400, "invalid_request_error", "temperature", "between 0 and 2"},
		{"too large", `{"model":"m",` + msgs + `,"user":"` + strings.Repeat("x", bodyLimit) + `"}`, 413, "invalid_request_error", "", "larger than the limit"},
	}
	h := newServer(&fakeGateway{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := post(h, "/v1/chat/completions", tt.body)
			if w.Code != tt.status {
				t.Fatalf("status = %d; want %d (body %s)", w.Code, tt.status, w.Body)
			}
			b := decodeError(t, w)
			if b.Error.Type != tt.typ {
				t.Errorf("type = %q; want %q", b.Error.Type, tt.typ)
			}
			var param string
			if b.Error.Param != nil {
				param = *b.Error.Param
				if param == "" {
					t.Error(`param is ""; want null or a name`)
				}
			}
			if param != tt.param {
				t.Errorf("param = %q; want %q", param, tt.param)
			}
			if !strings.Contains(b.Error.Message, tt.msgSubstr) {
				t.Errorf("message = %q; want it to contain %q", b.Error.Message, tt.msgSubstr)
			}
		})
	}
}

func TestChatAuth(t *testing.T) {
	h := newServer(&fakeGateway{})
	for _, header := range []string{"", "Bearer sk-wrong", "Basic dXNlcjpwYXNz"} {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(`{"model":"m",`+msgs+`}`))
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status = %d; want 401", header, w.Code)
			continue
		}
		b := decodeError(t, w)
		if b.Error.Type != "authentication_error" || b.Error.Code == nil || *b.Error.Code != "invalid_api_key" {
			t.Errorf("Authorization %q: error = %+v; want authentication_error / invalid_api_key", header, *b.Error)
		}
	}
}

// Authentication comes first: a caller without a key learns nothing about
// the body it sent.
func TestChatAuthBeforeBody(t *testing.T) {
	h := newServer(&fakeGateway{})
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(`{bad`))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("status = %d; want 401", w.Code)
	}
}

func TestChatGatewayErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		typ        string
		msg        string
		retryAfter string
	}{
		{"rate limited", &llmservice.Error{Kind: llmservice.RateLimited, Message: "Rate limit reached", RetryAfter: 2 * time.Second}, 429, "rate_limit_error", "Rate limit reached", "2"},
		{"budget", &llmservice.Error{Kind: llmservice.BudgetExceeded, Message: "Budget exceeded"}, 429, "budget_exceeded", "Budget exceeded", ""},
		{"not found", &llmservice.Error{Kind: llmservice.NotFound, Param: "model", Code: "model_not_found", Message: "The model 'x' does not exist"}, 404, "invalid_request_error", "The model 'x' does not exist", ""},
		{"upstream", &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream error: boom"}, 502, "upstream_error", "upstream error: boom", ""},
		{"timeout", &llmservice.Error{Kind: llmservice.UpstreamTimeout, Message: "upstream timed out"}, 504, "timeout_error", "upstream timed out", ""},
		// A bug's text must never reach the client.
		{"plain error", errors.New("nil pointer in settle: key sk-live-123"), 500, "server_error", "internal error", ""},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				h := newServer(&fakeGateway{err: tt.err})
				body := `{"model":"m",` + msgs + `}`
				if stream {
					body = `{"model":"m","stream":true,` + msgs + `}`
				}
				w := post(h, "/v1/chat/completions", body)
				if w.Code != tt.status {
					t.Fatalf("stream %v: status = %d; want %d", stream, w.Code, tt.status)
				}
				b := decodeError(t, w)
				if b.Error.Type != tt.typ || b.Error.Message != tt.msg {
					t.Errorf("stream %v: error = %q %q; want %q %q", stream, b.Error.Type, b.Error.Message, tt.typ, tt.msg)
				}
				if got := w.Header().Get("Retry-After"); got != tt.retryAfter {
					t.Errorf("stream %v: Retry-After = %q; want %q", stream, got, tt.retryAfter)
				}
				if strings.Contains(w.Body.String(), "sk-live") {
					t.Errorf("body %s leaks the internal error", w.Body)
				}
			})
		}
	}
}

func TestChatSuccess(t *testing.T) {
	gw := &fakeGateway{}
	h := newServer(gw)
	w := post(h, "/v1/chat/completions", `{"model":"public-model","messages":[{"role":"user","content":"hello"}],"max_tokens":5,"logprobs":true}`)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", w.Code, w.Body)
	}
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if id, _ := got["id"].(string); !strings.HasPrefix(id, "chatcmpl-") {
		t.Errorf("id = %q; want a chatcmpl- id", id)
	}
	delete(got, "id")
	want := map[string]any{
		"object": "chat.completion", "created": 1.0, "model": "public-model", "system_fingerprint": nil,
		"choices": []any{map[string]any{"index": 0.0, "finish_reason": "stop", "logprobs": nil,
			"message": map[string]any{"role": "assistant", "content": "echo: hello", "refusal": nil}}},
		"usage": map[string]any{"prompt_tokens": 1.0, "completion_tokens": 2.0, "total_tokens": 3.0,
			"prompt_tokens_details": map[string]any{"cached_tokens": 0.0}, "completion_tokens_details": map[string]any{"reasoning_tokens": 0.0}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response mismatch (-want +got):\n%s", diff)
	}
	for k, v := range map[string]string{"X-Llmservice-Provider": "fake", "X-Llmservice-Model": "fake-model", "X-Llmservice-Attempts": "1"} {
		if got := w.Header().Get(k); got != v {
			t.Errorf("header %s = %q; want %q", k, got, v)
		}
	}
	// The dialect hands the gateway a validated canonical request, unknown
	// fields included for OpenAI-protocol upstreams.
	if gw.last.Model != "public-model" || *gw.last.MaxTokens != 5 || string(gw.last.Extra["logprobs"]) != "true" {
		t.Errorf("gateway got %+v", gw.last)
	}
}

func TestChatStream(t *testing.T) {
	for _, includeUsage := range []bool{false, true} {
		h := newServer(&fakeGateway{})
		body := `{"model":"m","stream":true,` + msgs + `}`
		if includeUsage {
			body = `{"model":"m","stream":true,"stream_options":{"include_usage":true},` + msgs + `}`
		}
		w := post(h, "/v1/chat/completions", body)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/event-stream" {
			t.Fatalf("status %d, Content-Type %q; want 200 text/event-stream", w.Code, w.Header().Get("Content-Type"))
		}
		events := strings.Split(strings.TrimSuffix(w.Body.String(), "\n\n"), "\n\n")
		if last := events[len(events)-1]; last != "data: [DONE]" {
			t.Errorf("last event = %q; want data: [DONE]", last)
		}
		var text string
		var usageChunks int
		for _, ev := range events[:len(events)-1] {
			var c struct {
				Object  string
				Choices []struct {
					Delta struct{ Content string }
				}
				Usage *llm.Usage
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &c); err != nil {
				t.Fatalf("event %q: %v", ev, err)
			}
			if c.Object != "chat.completion.chunk" {
				t.Errorf("object = %q", c.Object)
			}
			for _, ch := range c.Choices {
				text += ch.Delta.Content
			}
			if c.Usage != nil {
				usageChunks++
			}
		}
		if text != "echo: hi" {
			t.Errorf("streamed text = %q; want %q", text, "echo: hi")
		}
		if want := map[bool]int{false: 0, true: 1}[includeUsage]; usageChunks != want {
			t.Errorf("include_usage %v: %d usage chunks; want %d", includeUsage, usageChunks, want)
		}
	}
}
