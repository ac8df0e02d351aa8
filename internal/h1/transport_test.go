package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer accepts connections and serves each with serve; it counts the
// connections.
type rawServer struct {
	ln    net.Listener
	conns atomic.Int32
	wg    sync.WaitGroup
	mu    sync.Mutex
	open  []net.Conn
}

func newRawServer(t testing.TB, serve func(c net.Conn, br *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.mu.Lock()
			s.open = append(s.open, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *rawServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() }

// serveOK answers every request on a connection with a 2-byte "ok", and
// keeps the connection.
func serveOK(c net.Conn, br *bufio.Reader) {
	for {
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}
}

// readRequest reads one request and its body off br.
func readRequest(br *bufio.Reader) (*http.Request, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, req.Body)
	return req, err
}

func newTransport() *Transport {
	return &Transport{Fallback: failingRT{}, Proxy: func(*http.Request) (*url.URL, error) { return nil, nil }}
}

// failingRT is a fallback that must not be reached.
type failingRT struct{}

func (failingRT) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("fallback taken")
}

func get(t *testing.T, tr http.RoundTripper, url string) (string, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestResponses(t *testing.T) {
	for _, tc := range []struct {
		name       string
		answer     string
		closeAfter bool // the server closes the connection after answering
		body       string
		reused     bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, "hello", true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n", false, "hello", true},
		{"http/1.0 close-delimited", "HTTP/1.0 200 OK\r\n\r\nhello", true, "hello", false},
		{"no length, connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", true, "hello", false},
		{"connection close with a length", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello", true, "hello", false},
		{"103 early hints then 200", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, "hello", true},
		{"204 no body", "HTTP/1.1 204 No Content\r\n\r\n", false, "", true},
		{"empty content-length body", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, "", true},
		// Bytes beyond the announced answer, in the same write, are not
		// read as the next request's answer: the connection is dropped.
		{"bytes after a content-length body", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nWRONG", false, "ok", false},
		{"bytes after a chunked body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nWRONG", false, "ok", false},
		{"bytes after a 204", "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nWRONG", false, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				for {
					if _, err := readRequest(br); err != nil {
						return
					}
					io.WriteString(c, tc.answer)
					if tc.closeAfter {
						return
					}
				}
			})
			tr := newTransport()
			defer tr.CloseIdleConnections()
			for i := range 3 {
				got, err := get(t, tr, s.url()+"/x")
				if err != nil || got != tc.body {
					t.Fatalf("request %d: %q, %v; want %q", i, got, err, tc.body)
				}
			}
			want := int32(3)
			if tc.reused {
				want = 1
			}
			if n := s.conns.Load(); n != want {
				t.Errorf("%d connections for 3 requests, want %d", n, want)
			}
		})
	}
}

func TestKeepAlive(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"ok":true}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tr := newTransport()
	defer tr.CloseIdleConnections()
	for i := range 20 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat", strings.NewReader(`{"n":`+strconv.Itoa(i)+`}`))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != `{"ok":true}` {
			t.Fatalf("%q, %v", b, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 20 sequential requests, want 1", n)
	}
}

// onceBody is a body that cannot be sent again.
type onceBody struct{ io.Reader }

func (onceBody) Close() error { return nil }

func TestStaleIdleConnection(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    func(url string) *http.Request
		wantErr bool
	}{
		{"no body", func(u string) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, u, nil)
			return r
		}, false},
		{"replayable body", func(u string) *http.Request {
			r, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader([]byte(`{"a":1}`)))
			return r
		}, false},
		{"body that cannot be sent again", func(u string) *http.Request {
			r, _ := http.NewRequest(http.MethodPost, u, onceBody{strings.NewReader(`{"a":1}`)})
			r.ContentLength = 7
			return r
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			closed := make(chan struct{}, 4)
			s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				// One answer per connection, announced as keep-alive,
				// then the connection is closed as an idle timeout would.
				if _, err := readRequest(br); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				c.Close()
				closed <- struct{}{}
			})
			tr := newTransport()
			tr.DialContext = opaqueDial // the close is found when sending
			defer tr.CloseIdleConnections()
			if got, err := get(t, tr, s.url()); err != nil || got != "ok" {
				t.Fatalf("first request: %q, %v", got, err)
			}
			<-closed
			resp, err := tr.RoundTrip(tc.body(s.url()))
			if tc.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatal("no error for a body that cannot be sent again")
				}
				if n := s.conns.Load(); n != 1 {
					t.Errorf("%d connections, want 1 (no retry)", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("second request: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "ok" {
				t.Errorf("body %q", b)
			}
			if n := s.conns.Load(); n != 2 {
				t.Errorf("%d connections, want 2", n)
			}
		})
	}
}

// TestNoRetryOnFreshConnection: a new connection that fails is not tried
// again.
func TestNoRetryOnFreshConnection(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br) // and close without an answer
	})
	tr := newTransport()
	if _, err := get(t, tr, s.url()); err == nil {
		t.Fatal("no error")
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// waitGoroutines waits for the goroutine count to come back to at most n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	for range 200 {
		if runtime.NumGoroutine() <= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%d goroutines, want at most %d", runtime.NumGoroutine(), n)
}

func TestContextCancel(t *testing.T) {
	for _, tc := range []struct {
		name     string
		headers  bool // the server sends the headers and a first chunk
		deadline bool
	}{
		{"waiting for headers", false, false},
		{"reading the body", true, false},
		{"deadline while waiting for headers", false, true},
		{"deadline while reading the body", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan struct{})
			s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := readRequest(br); err != nil {
					return
				}
				if tc.headers {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst")
				}
				close(got)
				io.Copy(io.Discard, c) // until the client goes
			})
			before := runtime.NumGoroutine()
			tr := newTransport()
			ctx, cancel := context.WithCancel(context.Background())
			want := context.Canceled
			if tc.deadline {
				ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
				want = context.DeadlineExceeded
			}
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url(), nil)
			var err error
			if !tc.headers {
				if !tc.deadline {
					go func() { <-got; cancel() }()
				}
				_, err = tr.RoundTrip(req)
			} else {
				resp, rerr := tr.RoundTrip(req)
				if rerr != nil {
					t.Fatal(rerr)
				}
				<-got
				buf := make([]byte, 5)
				if _, rerr := io.ReadFull(resp.Body, buf); rerr != nil {
					t.Fatal(rerr)
				}
				if !tc.deadline {
					cancel()
				}
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if !errors.Is(err, want) {
				t.Fatalf("error %v, want %v", err, want)
			}
			if len(tr.idle) != 0 {
				t.Error("the connection was kept after its context fired")
			}
			s.close()
			waitGoroutines(t, before)
		})
	}
}

func TestResponseHeaderTimeout(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		io.Copy(io.Discard, c) // never answers
	})
	tr := newTransport()
	tr.ResponseHeaderTimeout = 20 * time.Millisecond
	_, err := get(t, tr, s.url())
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("error %v (%T), want a net.Error that is a timeout", err, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a header timeout said to be the context's: %v", err)
	}
}

func TestHeaderLimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header int
		ok     bool
	}{
		{"under the limit", 500, true},
		{"over the limit", 5000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := readRequest(br); err != nil {
					return
				}
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nX-Big: %s\r\nContent-Length: 2\r\n\r\nok", strings.Repeat("a", tc.header))
				io.Copy(io.Discard, c)
			})
			tr := newTransport()
			tr.MaxResponseHeaderBytes = 1024
			defer tr.CloseIdleConnections()
			got, err := get(t, tr, s.url())
			if tc.ok != (err == nil) || tc.ok && got != "ok" {
				t.Fatalf("%q, %v", got, err)
			}
			if !tc.ok && !errors.Is(err, errHeaderTooLarge) {
				t.Errorf("error %v, want %v", err, errHeaderTooLarge)
			}
		})
	}
}

// TestEarlyClose: closing a stream before its end closes the connection at
// once, without reading the rest, and the connection is not reused.
func TestEarlyClose(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/small" {
			io.WriteString(w, "ok")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for r.Context().Err() == nil {
			if _, err := io.WriteString(w, "data: {}\n\n"); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tr := newTransport()
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/stream", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil { // would never return if it drained
		t.Fatal(err)
	}
	if _, err := resp.Body.Read(buf); err == nil {
		t.Error("read after close succeeded")
	}
	if got, err := get(t, tr, srv.URL+"/small"); err != nil || got != "ok" {
		t.Fatalf("%q, %v", got, err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the closed stream's is not reused)", n)
	}
}

// TestCloseDuringRead: a Close while a Read blocks ends the Read.
func TestCloseDuringRead(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
		io.Copy(io.Discard, c)
	})
	tr := newTransport()
	req, _ := http.NewRequest(http.MethodGet, s.url(), nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := io.ReadAll(resp.Body)
		done <- err
	}()
	resp.Body.Close()
	if err := <-done; err == nil {
		t.Error("a read cut by Close reported no error")
	}
	resp.Body.Close()
	if len(tr.idle) != 0 {
		t.Error("a closed body's connection was kept")
	}
}

func TestConcurrent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}))
	defer srv.Close()
	tr := newTransport()
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				want := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i)
				req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(want))
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					// A body closed on another goroutine while its end is
					// read (a client gone as its answer ends) must not put
					// its connection back in use, or closed: the next
					// requests check it.
					closed := make(chan struct{})
					go func() { resp.Body.Close(); close(closed) }()
					io.ReadAll(resp.Body)
					<-closed
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != want {
					t.Errorf("%q, %v; want %q", b, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// captureRequests answers every request with an empty 200 and sends its
// bytes on the returned channel.
func captureRequests(t *testing.T) (*rawServer, chan string) {
	reqs := make(chan string, 16)
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			var raw bytes.Buffer
			length := 0
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				raw.WriteString(line)
				if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
					length, _ = strconv.Atoi(strings.TrimSpace(v))
				}
				if line == "\r\n" {
					break
				}
			}
			if _, err := io.CopyN(&raw, br, int64(length)); err != nil {
				return
			}
			reqs <- raw.String()
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	})
	return s, reqs
}

func TestWireBytes(t *testing.T) {
	s, reqs := captureRequests(t)
	for _, tc := range []struct {
		name string
		req  func(url string) *http.Request
	}{
		{"get", func(u string) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, u+"/v1/models?x=1&y=%20", nil)
			return r
		}},
		{"post with headers", func(u string) *http.Request {
			r, _ := http.NewRequest(http.MethodPost, u+"/v1/chat/completions", strings.NewReader(`{"model":"m"}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer sk-x")
			r.Header.Add("X-Multi", "a")
			r.Header.Add("X-Multi", " b ")
			r.Header["lower-case"] = []string{"kept as given"}
			r.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
			return r
		}},
		{"post without body", func(u string) *http.Request {
			r, _ := http.NewRequest(http.MethodPost, u+"/p", nil)
			return r
		}},
		{"delete without body", func(u string) *http.Request {
			r, _ := http.NewRequest(http.MethodDelete, u+"/d", nil)
			return r
		}},
		{"put with NoBody", func(u string) *http.Request {
			r, _ := http.NewRequest(http.MethodPut, u+"/d", http.NoBody)
			return r
		}},
		{"own user agent", func(u string) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, u, nil)
			r.Header.Set("User-Agent", "llmservice/1")
			return r
		}},
		{"empty user agent", func(u string) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, u, nil)
			r.Header.Set("User-Agent", "")
			return r
		}},
		{"close and host", func(u string) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, u+"/c", nil)
			r.Close = true
			r.Host = "upstream.example:8000"
			return r
		}},
		{"close already in the header", func(u string) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, u+"/c", nil)
			r.Close = true
			r.Header.Set("Connection", "close")
			return r
		}},
		{"close in a second connection value", func(u string) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, u+"/c", nil)
			r.Close = true
			r.Header["Connection"] = []string{"keep-alive", "close"}
			return r
		}},
		{"content-length header ignored", func(u string) *http.Request {
			r, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("abc"))
			r.Header.Set("Content-Length", "99")
			r.Header.Set("Host", "ignored")
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			std := &http.Transport{}
			defer std.CloseIdleConnections()
			resp, err := std.RoundTrip(tc.req(s.url()))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := strings.Replace(<-reqs, "Accept-Encoding: gzip\r\n", "", 1)

			tr := newTransport()
			defer tr.CloseIdleConnections()
			resp, err = tr.RoundTrip(tc.req(s.url()))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := <-reqs; got != want {
				t.Errorf("wire bytes\n%q\nnet/http sends\n%q", got, want)
			}
		})
	}
}

func TestInvalidRequests(t *testing.T) {
	s, _ := captureRequests(t)
	for _, tc := range []struct {
		name string
		edit func(r *http.Request)
	}{
		{"header name", func(r *http.Request) { r.Header["X Bad"] = []string{"v"} }},
		{"header value with a newline", func(r *http.Request) { r.Header.Set("X-Inject", "a\r\nX-Evil: 1") }},
		{"header value with NUL", func(r *http.Request) { r.Header.Set("X-Nul", "a\x00b") }},
		{"method", func(r *http.Request) { r.Method = "GE T" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport()
			body := &closeCounter{Reader: strings.NewReader("x")}
			r, _ := http.NewRequest(http.MethodPost, s.url(), body)
			r.ContentLength = 1
			tc.edit(r)
			if _, err := tr.RoundTrip(r); err == nil {
				t.Fatal("no error")
			}
			if body.closed.Load() != 1 {
				t.Errorf("body closed %d times, want 1", body.closed.Load())
			}
			if n := s.conns.Load(); n != 0 {
				t.Errorf("%d connections opened", n)
			}
		})
	}
}

type closeCounter struct {
	io.Reader
	closed atomic.Int32
}

func (c *closeCounter) Close() error { c.closed.Add(1); return nil }

// recordingRT is a fallback that answers 200 and counts its requests.
type recordingRT struct{ n atomic.Int32 }

func (r *recordingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	r.n.Add(1)
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: req}, nil
}

func TestFallback(t *testing.T) {
	tls := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tls.Close()
	plain, _ := captureRequests(t)
	proxyURL, _ := url.Parse("http://proxy.example:3128")
	for _, tc := range []struct {
		name  string
		req   func() *http.Request
		proxy bool
	}{
		{"https", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, tls.URL, nil)
			return r
		}, false},
		{"proxy", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, plain.url(), nil)
			return r
		}, true},
		{"body of unknown length", func() *http.Request {
			pr, pw := io.Pipe()
			go func() { pw.Write([]byte("{}")); pw.Close() }()
			r, _ := http.NewRequest(http.MethodPost, plain.url(), pr)
			return r
		}, false},
		{"expect 100-continue", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, plain.url(), strings.NewReader("{}"))
			r.Header.Set("Expect", "100-continue")
			return r
		}, false},
		{"upgrade", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, plain.url(), nil)
			r.Header.Set("Connection", "Upgrade")
			r.Header.Set("Upgrade", "websocket")
			return r
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fb := &recordingRT{}
			tr := &Transport{Fallback: fb, Proxy: func(*http.Request) (*url.URL, error) {
				if tc.proxy {
					return proxyURL, nil
				}
				return nil, nil
			}}
			resp, err := tr.RoundTrip(tc.req())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if fb.n.Load() != 1 {
				t.Error("the fallback was not taken")
			}
		})
	}
	if n := plain.conns.Load(); n != 0 {
		t.Errorf("%d connections to the plain server, want none", n)
	}
}

func TestPool(t *testing.T) {
	s := newRawServer(t, serveOK)
	tr := newTransport()
	tr.MaxIdleConnsPerHost = 2
	defer tr.CloseIdleConnections()
	// Three requests at once: three connections, of which two are kept.
	var resps []*http.Response
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, s.url(), nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
	}
	for _, r := range resps {
		io.ReadAll(r.Body)
		r.Body.Close()
	}
	key := s.ln.Addr().String()
	if n := len(tr.idle[key]); n != 2 {
		t.Fatalf("%d idle connections, want 2", n)
	}
	// An expired connection is not taken, nor is any older one.
	for _, c := range tr.idle[key] {
		c.idleAt = c.idleAt.Add(-time.Hour)
	}
	if c := tr.takeIdle(key); c != nil {
		t.Error("an expired connection was taken")
	}
	if _, err := get(t, tr, s.url()); err != nil {
		t.Fatal(err)
	}
	if n := s.conns.Load(); n != 4 {
		t.Errorf("%d connections, want 4", n)
	}
	// The sweep closes the expired ones and keeps the others.
	if _, err := get(t, tr, s.url()); err != nil { // reuses the 4th
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, s.url(), nil)
	held, err := tr.RoundTrip(req) // takes it again
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, tr, s.url()); err != nil { // a 5th, kept
		t.Fatal(err)
	}
	io.ReadAll(held.Body)
	held.Body.Close()
	tr.mu.Lock()
	tr.idle[key][0].idleAt = time.Now().Add(-time.Hour)
	tr.mu.Unlock()
	tr.sweepIdle()
	if n := len(tr.idle[key]); n != 1 {
		t.Errorf("%d idle connections after the sweep, want 1", n)
	}
}

func TestHostPort(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"example.com:8080", "example.com:8080"},
		{"example.com", "example.com:80"},
		{"example.com:", "example.com:80"},
		{"[::1]:8000", "[::1]:8000"},
		{"[::1]", "[::1]:80"},
	} {
		if got := hostPort(&url.URL{Host: tc.in}); got != tc.want {
			t.Errorf("hostPort(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestStopTwice: ending the context watch twice (a failed read, then
// Close) does not count as the context firing, so a connection is still
// reused when its exchange ends normally after an earlier stop.
func TestStopTwice(t *testing.T) {
	s := newRawServer(t, serveOK)
	tr := newTransport()
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url(), nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	bodyConn := resp.Body.(*bodyReader).c
	if !bodyConn.stop() || !bodyConn.stop() {
		t.Fatal("stop reported the context fired")
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := len(tr.idle[s.ln.Addr().String()]); n != 1 {
		t.Errorf("%d idle connections, want 1", n)
	}
}

// TestRetryDialsFresh: when every idle connection was closed by the server
// (a restart), the one retry goes to a new connection, not to another
// closed one.
func TestRetryDialsFresh(t *testing.T) {
	closed := make(chan struct{}, 8)
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		c.Close()
		closed <- struct{}{}
	})
	tr := newTransport()
	tr.DialContext = opaqueDial // the closes are found when sending
	defer tr.CloseIdleConnections()
	// Two answers held at once: two connections, both kept when read.
	var resps []*http.Response
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, s.url(), nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
	}
	for _, r := range resps {
		io.ReadAll(r.Body)
		r.Body.Close()
	}
	<-closed
	<-closed
	if got, err := get(t, tr, s.url()); err != nil || got != "ok" {
		t.Fatalf("%q, %v", got, err)
	}
}

// TestSweepTimer: an idle gateway's connections are closed by the sweep,
// which then stops.
func TestSweepTimer(t *testing.T) {
	closed := make(chan struct{})
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readRequest(br); err != nil {
				close(closed) // the client closed it
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := newTransport()
	tr.IdleConnTimeout = 10 * time.Millisecond
	if _, err := get(t, tr, s.url()); err != nil {
		t.Fatal(err)
	}
	<-closed
	for range 500 {
		tr.mu.Lock()
		idle, armed := len(tr.idle), tr.sweep != nil
		tr.mu.Unlock()
		if idle == 0 && !armed {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Error("the sweep left connections or a timer behind")
}
