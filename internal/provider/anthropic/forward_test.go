package anthropic

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/providertest"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

// TestForwardReadsUsage checks the scanner's usage, cache tiers included,
// in both framings, and that the answer names the reply model.
func TestForwardReadsUsage(t *testing.T) {
	f := providertest.NewAnthropicMessages(t)
	c := New(Config{BaseURL: f.URL, APIKey: "sk-up"}, nil)
	for _, stream := range []bool{false, true} {
		body := `{"model":"public","max_tokens":64,"stream":` + map[bool]string{false: "false", true: "true"}[stream] +
			`,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi there"}]}`
		resp, err := c.Forward(context.Background(), &llm.RawRequest{Protocol: llm.AnthropicMessages, Op: OpMessages, Body: []byte(body),
			Header: map[string][]string{"Anthropic-Version": {"2023-06-01"}}, Stream: stream, ReplyModel: "public"}, "claude-up")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(got, []byte(`"model":"public"`)) || bytes.Contains(got, []byte("claude-up")) {
			t.Errorf("stream=%v: answer does not name the reply model: %s", stream, got)
		}
		if up := string(f.Last(t).Body); up != strings.Replace(body, `"public"`, `"claude-up"`, 1) {
			t.Errorf("stream=%v: upstream body = %s", stream, up)
		}
		u, ok := resp.Body.Usage()
		if !ok {
			t.Fatalf("stream=%v: no usage", stream)
		}
		w := providertest.CacheWrite5m + providertest.CacheWrite1h
		if u.PromptTokens <= w+providertest.CacheRead || u.CompletionTokens == 0 {
			t.Errorf("stream=%v: usage = %+v", stream, u)
		}
		want := llm.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, CachedTokens: providertest.CacheRead,
			CacheWriteTokens: providertest.CacheWrite5m, CacheWrite1hTokens: providertest.CacheWrite1h}
		if diff := cmp.Diff(want, u); diff != "" {
			t.Errorf("stream=%v: usage mismatch (-want +got):\n%s", stream, diff)
		}
		if !strings.Contains(resp.Body.Text(), "pong") {
			t.Errorf("stream=%v: text seen = %q", stream, resp.Body.Text())
		}
	}
}

// TestForwardFirstEventError: an error event before any content is the
// attempt's failure, classified like its HTTP twin (overloaded: retryable).
func TestForwardFirstEventError(t *testing.T) {
	f := providertest.New(t, func(w http.ResponseWriter, r *http.Request, body []byte, fail *providertest.Failure) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
	})
	c := New(Config{BaseURL: f.URL, APIKey: "sk-up"}, nil)
	_, err := c.Forward(context.Background(), &llm.RawRequest{Protocol: llm.AnthropicMessages, Body: []byte(`{"model":"m","stream":true}`), Stream: true}, "up")
	if err == nil || !upstream.Retryable(err) {
		t.Errorf("Forward = %v; want a retryable error", err)
	}
}

// FuzzForwardStream: any upstream stream passes through without a panic,
// byte for byte when there is no model to rewrite.
func FuzzForwardStream(f *testing.F) {
	f.Add([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"x\",\"usage\":{\"input_tokens\":3}}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":2}}\n\n"))
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"hi\"}}\r\n\r\ndata: broken\n\n: comment\n\n"))
	f.Add([]byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, reply := range []string{"", "public"} {
			body := io.NopCloser(bytes.NewReader(in))
			s := &sseBody{r: bufio.NewReader(body), reply: reply}
			if err := s.Open(context.Background(), body, s.next, refuse); err != nil {
				continue
			}
			out, err := io.ReadAll(s)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if reply == "" && !bytes.Equal(out, in) {
				t.Fatalf("stream changed in passing:\n in %q\nout %q", in, out)
			}
			s.Usage()
		}
	})
}
