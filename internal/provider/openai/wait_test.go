package openai_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/openai"
)

// A forwarded chat stream calls its BeforeWait hook when, and only when,
// it has handed out every event the upstream has sent so far and must
// wait for more: the relay flushes there, so the events of one upstream
// write reach the client in one write and none is held during the wait.
func TestForwardChatStreamBeforeWait(t *testing.T) {
	const head = `data: {"id":"c","object":"chat.completion.chunk","model":"up","choices":`
	first := head + `[{"index":0,"delta":{"content":"one"}}]}` + "\n\n" + head + `[{"index":0,"delta":{"content":"two"}}]}` + "\n\n"
	rest := head + `[{"index":0,"delta":{"content":"three"},"finish_reason":"stop"}]}` + "\n\n" +
		head + `[],"usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}}` + "\n\ndata: [DONE]\n\n"
	waiting := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, first)
		w.(http.Flusher).Flush()
		select {
		case <-waiting:
		case <-time.After(5 * time.Second):
			return // the test reports the missing wait
		}
		io.WriteString(w, rest)
	}))
	defer up.Close()
	c := openai.New(openai.Config{BaseURL: up.URL + "/v1"}, http.DefaultClient)
	resp, err := c.Forward(context.Background(), &llm.RawRequest{Protocol: llm.OpenAIChat, Op: openai.OpChat,
		Body: []byte(`{"model":"m","stream":true,"messages":[]}`), Stream: true, ReplyModel: "m"}, "up")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	var atWait []string // what had been read at each wait
	wn, ok := resp.Body.(llm.WaitNotifier)
	if !ok || !wn.BeforeWait(func() {
		atWait = append(atWait, out.String())
		if len(atWait) == 1 {
			close(waiting)
		}
	}) {
		t.Fatal("a forwarded chat stream does not notify its waits")
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		out.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(atWait) == 0 {
		t.Fatal("no wait notified")
	}
	if got := strings.Count(atWait[0], `"content":`); got != 2 {
		t.Errorf("at the first wait %d events had been read; want both of the first write: %q", got, atWait[0])
	}
	if !strings.Contains(out.String(), `"three"`) || !strings.HasSuffix(out.String(), "data: [DONE]\n\n") {
		t.Errorf("stream = %q", out.String())
	}
	if u, ok := resp.Body.Usage(); !ok || u.PromptTokens != 3 {
		t.Errorf("usage = %+v %v", u, ok)
	}
}
