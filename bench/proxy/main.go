// Command proxy is the baseline llmservice is measured against: a bare
// httputil.ReverseProxy in front of the mock upstream, with the same pooled
// transport llmservice uses (internal/provider/upstream.NewClient). Whatever
// llmservice costs beyond this is the price of auth, translation and metering.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	target := flag.String("upstream", "", "upstream root URL, e.g. http://127.0.0.1:9000")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" {
		log.Fatalf("proxy: -upstream must be an absolute URL, got %q", *target)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String()) // the driver reads the address from here
	os.Stdout.Sync()

	s := &http.Server{
		Handler:           fullDuplex(newProxy(u)),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// newProxy forwards every request to target. FlushInterval stays 0: the
// ReverseProxy already flushes text/event-stream responses after each write,
// which is the streaming behaviour llmservice must match.
func newProxy(target *url.URL) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
		},
		Transport: newTransport(),
	}
}

// fullDuplex lets the proxy keep reading the request body after the
// response has started. Without it, an upstream that sends its headers
// before the transport has finished with the request body (a stream whose
// first token is slow) races the server's closing of that body: the
// transport then tears down the upstream connection mid-stream and the
// client sees "unexpected EOF" (golang/go#40747). llmservice is immune
// because it reads the whole body before calling upstream.
func fullDuplex(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		h.ServeHTTP(w, r)
	})
}

// newTransport mirrors upstream.NewClient's transport so that the two
// processes differ in what they do per request, not in connection pooling.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 10 * time.Minute,
	}
}
