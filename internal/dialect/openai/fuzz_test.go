package openai_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// chatSeeds are valid and invalid bodies for FuzzChatRequest: every branch
// of decoding and validation, so that mutation starts near the edges.
var chatSeeds = []string{
	`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA==","detail":"low"}}]}],"stream":true,"stream_options":{"include_usage":true}}`,
	`{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"r"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"},"strict":true}}],"tool_choice":{"type":"function","function":{"name":"f"}}}`,
	`{"model":"m","messages":[{"role":"developer","content":"d"},{"role":"user","content":"u","name":"n"}],"max_tokens":1,"max_completion_tokens":2,"temperature":2,"top_p":0,"frequency_penalty":-2,"presence_penalty":2,"stop":["a","b","c","d"],"seed":-1,"n":128,"user":"u","response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{},"strict":false}},"logit_bias":{"1":-100}}`,
	`{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"},"tool_choice":"none","stop":"x"}`,
	`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"tools":[{"function":{"name":"g"}}]}`,
	`{"model":"m","messages":[{"role":"robot","content":"hi"}]}`,
	`{"model":"m","messages":[{"role":"user","content":5}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`,
	`{"model":"m","messages":[{"role":"tool","content":"x"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"a","tool_calls":[{"function":{"arguments":{}}}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"tools":[{"type":"retrieval"}],"tool_choice":"sometimes"}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_schema"}}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"temperature":1e999,"n":0.5,"seed":99999999999999999999}`,
	`{"model":"m","messages":"hi"}`,
	`{"model":5,"messages":[1,null,"x",[]]}`,
	`{"messages":[]}`,
	`{"model":"m","messages":[{"role":"user","content":"\ud800\u0000"}],"stream":null,"tool_choice":null}`,
	`{"model":"m","model":"n","messages":[{"role":"user","content":"a","content":null}]}`,
	`[]`, `null`, `"x"`, `{`, ``, `{"model":"m",`, "\xff\xfe{}",
}

// FuzzChatRequest sends arbitrary bodies through the real chat handler
// (auth, body limit, decoding, validation, the call, the response or the
// stream) against a fake gateway. Whatever the body, the server must not
// panic, must never blame itself with a 5xx, and must answer either a
// well-formed success or a well-formed OpenAI error.
func FuzzChatRequest(f *testing.F) {
	for _, s := range chatSeeds {
		f.Add([]byte(s))
	}
	h := newServer(&fakeGateway{})
	f.Fuzz(func(t *testing.T, body []byte) {
		checkAnswer(t, body, post(h, "/v1/chat/completions", string(body)), "chat.completion")
	})
}

// FuzzCompletionRequest does the same for the legacy completions endpoint,
// which decodes its own body shape.
func FuzzCompletionRequest(f *testing.F) {
	for _, s := range append(chatSeeds,
		`{"model":"m","prompt":"hi","max_tokens":2,"stop":"\n","stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m","prompt":["a"],"echo":false,"suffix":"","best_of":1}`,
		`{"model":"m","prompt":["a","b"]}`, `{"model":"m","prompt":5}`, `{"model":"m","prompt":"a","logprobs":0}`,
	) {
		f.Add([]byte(s))
	}
	h := newServer(&fakeGateway{})
	f.Fuzz(func(t *testing.T, body []byte) {
		checkAnswer(t, body, post(h, "/v1/completions", string(body)), "text_completion")
	})
}

// checkAnswer fails unless w is a well-formed success (a JSON object of
// kind object, or an SSE stream of JSON events ending in [DONE]) or a
// well-formed 400/413 OpenAI error.
func checkAnswer(t *testing.T, body []byte, w *httptest.ResponseRecorder, object string) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
	}
	switch {
	case w.Code == http.StatusOK && w.Header().Get("Content-Type") == "text/event-stream":
		if !strings.HasSuffix(w.Body.String(), "data: [DONE]\n\n") {
			t.Fatalf("stream for %q does not end with [DONE]: %s", body, w.Body)
		}
		for _, ev := range strings.Split(strings.TrimSuffix(w.Body.String(), "\n\n"), "\n\n") {
			data := strings.TrimPrefix(ev, "data: ")
			if data != "[DONE]" && !json.Valid([]byte(data)) {
				t.Fatalf("stream event %q is not JSON", ev)
			}
		}
	case w.Code == http.StatusOK:
		var c struct {
			Object  string
			Choices []json.RawMessage
		}
		if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || c.Object != object || len(c.Choices) == 0 {
			t.Fatalf("200 for %q with a bad %s (%v): %s", body, object, err, w.Body)
		}
	default:
		var e errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
			t.Fatalf("status %d for %q with a bad error body (%v): %s", w.Code, body, err, w.Body)
		}
		if e.Error.Param != nil && *e.Error.Param == "" {
			t.Fatalf("status %d for %q names an empty param: %s", w.Code, body, w.Body)
		}
		if w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d for %q; a bad body is a 400 or 413: %s", w.Code, body, w.Body)
		}
	}
	if bytes.Contains(w.Body.Bytes(), []byte("internal error")) {
		t.Fatalf("internal error for %q: %s", body, w.Body)
	}
}
