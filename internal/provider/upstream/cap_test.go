package upstream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

// TestAnswerLimit: a non-streaming answer over the cap fails with a 502
// that says so, whether its length is announced or not; a stream of the
// same size is not capped (its frames are bounded one by one); through
// either transport.
func TestAnswerLimit(t *testing.T) {
	big := `{"content":"` + strings.Repeat("x", 4096) + `"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/announced":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "4111")
		case "/chunked":
			w.Header().Set("Content-Type", "application/json")
			w.(http.Flusher).Flush()
		case "/stream":
			w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		case "/small":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"content":"ok"}`)
			return
		}
		_, _ = io.WriteString(w, big)
	}))
	defer srv.Close()
	for _, http1 := range []bool{true, false} { // internal/h1 and net/http
		t.Run(fmt.Sprintf("http1=%v", http1), func(t *testing.T) {
			hc := upstream.NewClientWithLimit(0, 1024, http1)
			tests := []struct {
				path    string
				tooBig  bool
				content string
			}{
				{"/announced", true, ""},
				{"/chunked", true, ""},
				{"/small", false, "ok"},
			}
			for _, tt := range tests {
				var out struct{ Content string }
				err := upstream.PostJSON(context.Background(), hc, srv.URL+tt.path, nil, []byte(`{}`), &out)
				e := llmservice.AsError(err)
				switch {
				case tt.tooBig && (err == nil || e.Kind != llmservice.Upstream || !strings.Contains(e.Message, "upstream answer was too large")):
					t.Errorf("PostJSON(%s) error = %v; want an Upstream error saying the answer was too large", tt.path, err)
				case !tt.tooBig && (err != nil || out.Content != tt.content):
					t.Errorf("PostJSON(%s) = %q, %v; want %q", tt.path, out.Content, err, tt.content)
				}
				if tt.tooBig && upstream.Retryable(err) {
					t.Errorf("Retryable(too large) = true; want false")
				}
			}
			resp, err := upstream.Do(context.Background(), hc, http.MethodPost, srv.URL+"/stream", nil, []byte(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || len(b) != len(big) {
				t.Errorf("stream: read %d bytes, error %v; want all %d", len(b), err, len(big))
			}
		})
	}
}

// TestDoJSONStreamsLargeBodies: a body estimated at StreamBodyAbove or more
// is sent chunked and arrives whole; a smaller one keeps its length; a value
// that cannot be encoded is refused either way.
func TestDoJSONStreamsLargeBodies(t *testing.T) {
	type got struct {
		length int64
		chunk  bool
		text   string
	}
	seen := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v struct{ Text string }
		_ = json.NewDecoder(r.Body).Decode(&v)
		seen <- got{r.ContentLength, len(r.TransferEncoding) > 0, v.Text}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	hc := upstream.NewClient(0)
	text := strings.Repeat("y", upstream.StreamBodyAbove)
	for _, size := range []int{10, len(text)} {
		var out struct{}
		if err := upstream.PostValue(context.Background(), hc, srv.URL, nil, map[string]string{"Text": text}, size, &out); err != nil {
			t.Fatalf("PostValue(size %d): %v", size, err)
		}
		g := <-seen
		if g.text != text || g.chunk != (size >= upstream.StreamBodyAbove) {
			t.Errorf("size %d: upstream got %d bytes of text, chunked %v (length %d); want all, chunked only when large", size, len(g.text), g.chunk, g.length)
		}
	}
	for _, size := range []int{10, upstream.StreamBodyAbove} {
		_, err := upstream.DoJSON(context.Background(), hc, http.MethodPost, srv.URL, nil, map[string]any{"f": func() {}}, size)
		if e := llmservice.AsError(err); e.Kind != llmservice.Invalid {
			t.Errorf("DoJSON(unencodable, size %d) = %v; want Invalid", size, err)
		}
	}
}
