// Command upstream is a mock OpenAI-compatible server for benchmarks. Every
// answer is encoded once at start, so that the mock costs little CPU and
// the figures measure the process in front of it, not the mock.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	firstDelay := flag.Duration("first-delay", 0, "streams: wait this long before the first content chunk (a model's think time)")
	chunkDelay := flag.Duration("chunk-delay", 0, "streams: wait this long between content chunks")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// The driver reads the address from the first line of stdout.
	fmt.Println(ln.Addr().String())
	os.Stdout.Sync()

	s := &http.Server{
		Handler:           newHandler(*firstDelay, *chunkDelay),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// handler serves the three endpoints from pre-encoded bytes.
type handler struct {
	firstDelay, chunkDelay time.Duration
}

func newHandler(firstDelay, chunkDelay time.Duration) *handler {
	return &handler{firstDelay: firstDelay, chunkDelay: chunkDelay}
}

// Header values are allocated once: assigning a prepared slice skips the
// canonicalisation and allocation Header().Set would do per request.
var (
	jsonType   = []string{"application/json"}
	sseType    = []string{"text/event-stream"}
	noCache    = []string{"no-cache"}
	completion = []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the mock upstream."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19},"system_fingerprint":"fp_bench"}`)
	models     = []byte(`{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1700000000,"owned_by":"bench"},{"id":"gpt-4o","object":"model","created":1700000000,"owned_by":"bench"}]}`)
	contentLen = []string{fmt.Sprint(len(completion))}
	modelsLen  = []string{fmt.Sprint(len(models))}
)

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions":
		h.chat(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		w.Header()["Content-Type"] = jsonType
		w.Header()["Content-Length"] = modelsLen
		w.Write(models)
	default:
		http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
	}
}

func (h *handler) chat(w http.ResponseWriter, r *http.Request) {
	stream, err := isStream(r.Body)
	if err != nil {
		http.Error(w, `{"error":{"message":"cannot read body","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	if !stream {
		w.Header()["Content-Type"] = jsonType
		w.Header()["Content-Length"] = contentLen
		w.Write(completion)
		return
	}
	h.stream(w, r)
}
