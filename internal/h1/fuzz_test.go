package h1

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// FuzzResponse feeds arbitrary bytes as the answer to a GET and reads it
// whole: no panic, no hang, and a connection goes back to the pool only
// after a complete answer that allows it.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nhello",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
		"garbage",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		server := make(chan net.Conn, 1)
		tr := &Transport{
			Fallback:               failingRT{},
			Proxy:                  noProxy,
			ResponseHeaderTimeout:  time.Second,
			MaxResponseHeaderBytes: 4 << 10,
			DialContext: func(context.Context, string, string) (net.Conn, error) {
				c, s := net.Pipe()
				server <- s
				return c, nil
			},
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			s := <-server
			defer s.Close()
			if _, err := http.ReadRequest(bufio.NewReader(s)); err != nil {
				return
			}
			s.Write(answer)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://upstream.test/x", nil)
		start := time.Now()
		resp, err := tr.RoundTrip(req)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if ctx.Err() != nil {
			t.Fatalf("hung: %v (after %v)", err, time.Since(start))
		}
		tr.mu.Lock()
		kept := len(tr.idle["upstream.test:80"])
		tr.mu.Unlock()
		tr.CloseIdleConnections()
		<-done
		if kept == 0 {
			return
		}
		// Kept: the bytes must hold a whole answer that keeps its
		// connection, and it must be the one that was read.
		if err != nil {
			t.Fatalf("connection kept after an error: %v", err)
		}
		br := bufio.NewReader(bytes.NewReader(answer))
		var want *http.Response
		for {
			want, err = http.ReadResponse(br, req)
			if err != nil {
				t.Fatalf("connection kept after an answer net/http cannot read: %v", err)
			}
			if want.StatusCode < 100 || want.StatusCode > 199 || want.StatusCode == 101 {
				break
			}
		}
		wantBody, err := io.ReadAll(want.Body)
		if err != nil || want.Close || !bytes.Equal(body, wantBody) {
			t.Fatalf("connection kept after an incomplete or closing answer: %q, %v, close %v; read %q", wantBody, err, want.Close, body)
		}
	})
}

func noProxy(*http.Request) (*url.URL, error) { return nil, nil }
