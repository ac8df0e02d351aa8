package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReadErrorIsSticky: after a body read fails (an answer cut short),
// every later Read fails the same way, as net/http's bodies do; an io.EOF
// then would make a truncated answer look whole to a reader that reads
// again after an error (a bufio.Reader hands an error out only once).
func TestReadErrorIsSticky(t *testing.T) {
	for _, tc := range []struct{ name, answer string }{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := readRequest(br); err != nil {
					return
				}
				io.WriteString(c, tc.answer) // and close: the answer is cut short
			})
			tr := newTransport()
			req, _ := http.NewRequest(http.MethodGet, s.url(), nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if !errors.Is(err, io.ErrUnexpectedEOF) || string(b) != "hello" {
				t.Fatalf("ReadAll = %q, %v; want hello and %v", b, err, io.ErrUnexpectedEOF)
			}
			for i := range 2 {
				if n, err := resp.Body.Read(make([]byte, 8)); n != 0 || !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("read %d after the failure = %d, %v; want 0, %v", i, n, err, io.ErrUnexpectedEOF)
				}
			}
		})
	}
}

// TestCancelAfterTheEnd: a request's context cancelled once its answer was
// read whole does not touch the connection, which the next request takes.
func TestCancelAfterTheEnd(t *testing.T) {
	s := newRawServer(t, serveOK)
	tr := newTransport()
	defer tr.CloseIdleConnections()
	for i := range 50 {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url(), nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		cancel() // before Close, and before the next request takes the connection
		resp.Body.Close()
		if err != nil || string(b) != "ok" {
			t.Fatalf("request %d: %q, %v", i, b, err)
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections for 50 sequential requests, want 1", n)
	}
}

// TestHeaderTimeoutEndsWithTheHeaders: ResponseHeaderTimeout bounds the
// wait for the headers only: neither a slow body nor the next request on
// the same connection, after an idle time longer than it, meets it.
func TestHeaderTimeoutEndsWithTheHeaders(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nok")
			time.Sleep(60 * time.Millisecond)
			io.WriteString(c, "ok")
		}
	})
	tr := newTransport()
	tr.ResponseHeaderTimeout = 20 * time.Millisecond
	defer tr.CloseIdleConnections()
	for i := range 2 {
		if got, err := get(t, tr, s.url()); err != nil || got != "okok" {
			t.Fatalf("request %d: %q, %v", i, got, err)
		}
		time.Sleep(40 * time.Millisecond) // idle past the header timeout
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestHeadKeepsTheConnection: a HEAD answer's Content-Length announces no
// body, and the connection serves the next request.
func TestHeadKeepsTheConnection(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			req, err := readRequest(br)
			if err != nil {
				return
			}
			if req.Method == http.MethodHead {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
				continue
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := newTransport()
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodHead, s.url(), nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != 5 {
		t.Errorf("HEAD ContentLength = %d, want 5", resp.ContentLength)
	}
	resp.Body.Close()
	if got, err := get(t, tr, s.url()); err != nil || got != "ok" {
		t.Fatalf("%q, %v", got, err)
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestCancelBeforeHeaderDeadline: a context that ends after the request is
// written but before the header deadline is set must still end the wait.
// Setting the deadline overwrote the past deadline the context had set,
// and the read waited for ResponseHeaderTimeout: a client that hung up
// while the upstream thought left the call running for minutes
// (TestClientHangUpIs499 on a loaded CI machine).
func TestCancelBeforeHeaderDeadline(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err != nil {
			return
		}
		io.Copy(io.Discard, c) // never answers
	})
	tr := newTransport()
	tr.ResponseHeaderTimeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testHookBeforeHeaderDeadline = func() {
		cancel()
		// context.AfterFunc runs the interrupt on its own goroutine.
		time.Sleep(50 * time.Millisecond)
	}
	defer func() { testHookBeforeHeaderDeadline = nil }()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.url()+"/v1/chat/completions", strings.NewReader(`{"x":1}`))
	done := make(chan error, 1)
	go func() {
		resp, err := tr.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("RoundTrip error = %v; want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RoundTrip still waits 10s after its context ended: the header deadline replaced the context's")
	}
}
