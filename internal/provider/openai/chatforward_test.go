package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

func TestChatBody(t *testing.T) {
	five := 5
	for _, tc := range []struct {
		name   string
		req    llm.RawRequest
		want   string
		hidden bool
	}{
		{"model", llm.RawRequest{Body: []byte(`{"model":"alias","messages":[{"role":"user","content":"model"}],"x":{"model":"keep"}}`)},
			`{"model":"up","messages":[{"role":"user","content":"model"}],"x":{"model":"keep"}}`, false},
		{"stream asks for usage", llm.RawRequest{Stream: true, Body: []byte(`{"model":"alias","stream":true}`)},
			`{"stream_options":{"include_usage":true},"model":"up","stream":true}`, true},
		{"stream that asked", llm.RawRequest{Stream: true, Body: []byte(`{"model":"alias","stream":true,"stream_options":{"include_usage":true}}`)},
			`{"model":"up","stream":true,"stream_options":{"include_usage":true}}`, false},
		{"budget cap", llm.RawRequest{MaxTokens: &five, Body: []byte(`{"max_completion_tokens":300, "model":"alias"}`)},
			`{"max_completion_tokens":5, "model":"up"}`, false},
		{"budget cap inserted", llm.RawRequest{MaxTokens: &five, Body: []byte(` { "model":"alias"}`)},
			` {"max_tokens":5, "model":"up"}`, false},
	} {
		got, hidden, err := chatBody(&tc.req, "up")
		if err != nil || string(got) != tc.want || hidden != tc.hidden {
			t.Errorf("%s: %s hidden=%v err=%v; want %s hidden=%v", tc.name, got, hidden, err, tc.want, tc.hidden)
		}
	}
	if _, _, err := chatBody(&llm.RawRequest{Body: []byte(`{"messages":[]}`)}, "up"); err == nil {
		t.Error("a body without a model was forwarded")
	}
}

// FuzzChatAnswer feeds upstream answers and stream chunks to the
// pass-through scanners: whatever they accept comes out as valid JSON,
// its top-level model renamed, with the usage encoding/json reads.
func FuzzChatAnswer(f *testing.F) {
	for _, s := range []string{
		`{"id":"c","object":"chat.completion","model":"gpt-up","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}}}`,
		`{"id":"c","model":"gpt-up","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}`,
		`{"id":"c","model":"gpt-up","choices":[{"index":0,"delta":{"content":"a","tool_calls":[{"index":0,"function":{"name":"f","arguments":"{}"}}]}}],"usage":null}`,
		`{"error":{"message":"boom"}}`, `{"model":1,"model":"x","nested":{"model":"y"}}`, `[DONE]`, `{`, `{"a":"\"}`, ``, `null`, `{"usage":{"prompt_tokens":"x"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want struct {
			Model json.RawMessage `json:"model"`
			Usage *wire.Usage     `json:"usage"`
		}
		decodes := json.Unmarshal(b, &want) == nil
		j, err := newChatJSON(context.Background(), b, "alias")
		if err == nil {
			var got struct {
				Model json.RawMessage `json:"model"`
			}
			out := j.Reader
			buf := make([]byte, out.Len())
			_, _ = out.Read(buf)
			if json.Unmarshal(buf, &got) != nil {
				t.Fatalf("answer %s came out as invalid JSON %s", b, buf)
			}
			if len(want.Model) > 0 && want.Model[0] == '"' && string(got.Model) != `"alias"` {
				t.Fatalf("answer %s came out with model %s", b, got.Model)
			}
			if u, ok := j.Usage(); decodes && (ok != (want.Usage != nil) || ok && u != wire.UsageToLLM(want.Usage)) {
				t.Fatalf("answer %s: usage %+v %v, encoding/json reads %+v", b, u, ok, want.Usage)
			}
		}
		s := &chatSSE{reply: []byte(`"alias"`), hide: true}
		if s.frame(b) != nil || len(s.out) == 0 || bytes.Equal(bytes.TrimSpace(b), doneData) {
			return
		}
		data, ok := bytes.CutPrefix(s.out, []byte("data: "))
		data, ok2 := bytes.CutSuffix(data, []byte("\n\n"))
		var got struct {
			Model json.RawMessage `json:"model"`
		}
		if !ok || !ok2 || json.Unmarshal(data, &got) != nil {
			t.Fatalf("chunk %s came out as %q", b, s.out)
		}
		if len(want.Model) > 0 && want.Model[0] == '"' && string(got.Model) != `"alias"` {
			t.Fatalf("chunk %s came out with model %s", b, got.Model)
		}
	})
}
