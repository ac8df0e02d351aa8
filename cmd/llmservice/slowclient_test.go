package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTrickledBodyIsCut sends a body one byte at a time, never finishing
// it: the server must give up on it after LLMSERVICE_READ_TIMEOUT instead of
// holding the connection for as long as the client likes.
func TestTrickledBodyIsCut(t *testing.T) {
	ts := startServer(t, map[string]string{"LLMSERVICE_READ_TIMEOUT": "1s"})
	_, key, _ := newKey(t, ts.URL, "trickle", nil)
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", key)
	answered := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(c) // the answer, if any, then the close
		answered <- string(b)
	}()
	// Far longer than the read timeout: the server must cut us first.
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case got := <-answered:
			if got != "" && !strings.HasPrefix(got, "HTTP/1.1 400") {
				t.Errorf("answer to a trickled body = %q; want a 400 or the connection closed", firstLine(got))
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := c.Write([]byte(" ")); err != nil {
			return // cut while we wrote: as good
		}
	}
	t.Fatal("a body trickled for 45s with LLMSERVICE_READ_TIMEOUT=1s was never cut")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}

// TestNonReadingStreamClientIsCut starts a long stream and never reads it:
// once the socket buffers are full, the server must cut the stream after
// LLMSERVICE_WRITE_TIMEOUT (and settle the call) instead of waiting for
// ever with the stream's memory held.
func TestNonReadingStreamClientIsCut(t *testing.T) {
	ts := startServer(t, map[string]string{"LLMSERVICE_WRITE_TIMEOUT": "1s", "LLMSERVICE_READ_TIMEOUT": "1s"})
	_, key, _ := newKey(t, ts.URL, "deaf", nil)
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// About 500,000 words, each its own SSE event of some 150 bytes: far
	// more than the kernel buffers between us.
	body := bigChat("mock/echo", 1<<20, "a ", true)
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", key, len(body))
	if _, err := c.Write(body); err != nil {
		t.Fatal(err)
	}
	// The call is settled (and shows in the usage totals) only when its
	// stream ends: here, when the server cuts it.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got struct {
			Data []struct {
				Requests int64 `json:"requests"`
			} `json:"data"`
		}
		do(t, "GET", ts.URL+"/admin/usage?team_id=deaf", testAdminKey, nil, &got)
		if len(got.Data) > 0 && got.Data[0].Requests > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a stream whose client never reads was still open 60s after it filled the socket buffers (LLMSERVICE_WRITE_TIMEOUT=1s)")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// What the client can still read ends before the stream's end.
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	rest, _ := io.ReadAll(bufio.NewReader(c))
	if bytes.Contains(rest, []byte("[DONE]")) {
		t.Errorf("the cut stream still carried its end ([DONE]); want it cut")
	}
}

// TestSlowAnswersAreNotCut holds that the read and write timeouts cut only
// clients: an upstream slower than both, streaming or not, is relayed
// whole to a client that reads.
func TestSlowAnswersAreNotCut(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Stream bool `json:"stream"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		if !req.Stream {
			time.Sleep(2500 * time.Millisecond)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"slow"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 8 {
			fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"w%d \"},\"finish_reason\":null}]}\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(400 * time.Millisecond)
		}
		_, _ = io.WriteString(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":8,\"total_tokens\":13}}\n\ndata: [DONE]\n\n")
	}))
	defer up.Close()
	ts := startServer(t, map[string]string{"OPENAI_API_KEY": "sk-upstream", "OPENAI_BASE_URL": up.URL + "/v1",
		"LLMSERVICE_WRITE_TIMEOUT": "1s", "LLMSERVICE_READ_TIMEOUT": "1s"})
	_, key, _ := newKey(t, ts.URL, "patient", nil)
	var wg sync.WaitGroup
	for _, stream := range []bool{false, true} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", ts.URL+"/v1/chat/completions", bytes.NewReader(bigChat("openai/gpt-4o-mini", 64, "hello ", stream)))
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("stream=%v: %v", stream, err)
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			want := "slow"
			if stream {
				want = "[DONE]"
			}
			if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(want)) {
				t.Errorf("stream=%v: status %d, read error %v, answer %.200q; want 200 with the whole answer (%s)", stream, resp.StatusCode, err, b, want)
			}
		}()
	}
	wg.Wait()
}
