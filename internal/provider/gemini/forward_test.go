package gemini

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmservice/llmservice/internal/llm"
)

// TestForwardUsage: the pass-through lane reads usageMetadata as it
// passes, cached and thought tokens included, and hands every byte on
// with only modelVersion renamed.
func TestForwardUsage(t *testing.T) {
	stream := "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"a\"}]}}],\"usageMetadata\":{\"promptTokenCount\":10},\"modelVersion\":\"up\"}\r\n\r\n" +
		"data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"b\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":10,\"cachedContentTokenCount\":4,\"candidatesTokenCount\":2,\"thoughtsTokenCount\":5,\"totalTokenCount\":17},\"modelVersion\":\"up\"}\r\n\r\n"
	whole := `{"candidates":[{"content":{"role":"model","parts":[{"text":"ab"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":10,"cachedContentTokenCount":4,"candidatesTokenCount":2,"thoughtsTokenCount":5,"totalTokenCount":17},"modelVersion":"up"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("alt") == "sse" {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, stream)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, whole)
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL, APIKey: "k"}, srv.Client())
	want := llm.Usage{PromptTokens: 10, CachedTokens: 4, CompletionTokens: 7, ReasoningTokens: 5}
	for _, tc := range []struct {
		op, body, sent string
	}{
		{OpStream, stream, stream},
		{OpGenerate, whole, whole},
	} {
		resp, err := c.Forward(context.Background(), &llm.RawRequest{Protocol: llm.GeminiGenerate, Op: tc.op, Body: []byte(`{}`), ReplyModel: "alias"}, "up")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if u, ok := resp.Body.Usage(); !ok || u != want {
			t.Errorf("%s: usage %+v %v; want %+v", tc.op, u, ok, want)
		}
		if exp := strings.ReplaceAll(tc.sent, `"modelVersion":"up"`, `"modelVersion":"alias"`); string(b) != exp {
			t.Errorf("%s: got %q\nwant %q", tc.op, b, exp)
		}
	}
}
