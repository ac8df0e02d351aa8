package h1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestUnsolicitedWhileIdle: what a server sends on a connection while it
// is idle (a 408 before an idle close, a duplicate answer) is no answer
// to the next request on it: that request goes to another connection.
// (net/http's reader of idle connections notices such bytes too, but only
// when it reads them before the next request is sent.)
func TestUnsolicitedWhileIdle(t *testing.T) {
	for _, tc := range []struct {
		name, unsolicited string
		close             bool
	}{
		{"a second answer", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nWRONG", false},
		{"408 then close", "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read, wrote := make(chan struct{}), make(chan struct{})
			var first atomic.Bool
			first.Store(true)
			s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				for {
					if _, err := readRequest(br); err != nil {
						return
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					if first.CompareAndSwap(true, false) {
						<-read // the client has the answer and keeps the connection
						io.WriteString(c, tc.unsolicited)
						close(wrote)
						if tc.close {
							return
						}
					}
				}
			})
			tr := newTransport()
			defer tr.CloseIdleConnections()
			if got, err := get(t, tr, s.url()); err != nil || got != "ok" {
				t.Fatalf("first request: %q, %v", got, err)
			}
			close(read)
			<-wrote
			for i := range 2 {
				req, _ := http.NewRequest(http.MethodPost, s.url(), nil)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatalf("request %d after the unsolicited bytes: %v", i, err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || err != nil || string(b) != "ok" {
					t.Fatalf("request %d after the unsolicited bytes: %d %q, %v; want 200 ok", i, resp.StatusCode, b, err)
				}
			}
		})
	}
}

// TestIdleCloseSeenBeforeSending: a connection the server closed while it
// was idle is found so before a request is written on it, so that even a
// body that cannot be sent again goes, on a new connection.
func TestIdleCloseSeenBeforeSending(t *testing.T) {
	closed := make(chan struct{}, 1)
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		c.Close() // as an idle timeout would
		closed <- struct{}{}
	})
	tr := newTransport()
	defer tr.CloseIdleConnections()
	if got, err := get(t, tr, s.url()); err != nil || got != "ok" {
		t.Fatalf("first request: %q, %v", got, err)
	}
	<-closed
	req, _ := http.NewRequest(http.MethodPost, s.url(), onceBody{strings.NewReader(`{"a":1}`)})
	req.ContentLength = 7
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("a request after an idle close: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" {
		t.Errorf("body %q", b)
	}
}

// opaqueConn hides a connection's file descriptor, so that idleClean cannot
// look at it: the tests of the retry after an idle close use it, since the
// look would otherwise find the close first.
type opaqueConn struct{ net.Conn }

func opaqueDial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := defaultDialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return opaqueConn{c}, nil
}
