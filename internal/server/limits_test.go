package server

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
)

func TestLimitsAdmit(t *testing.T) {
	l := &limits{maxRequests: 2, maxBytes: 100, bodyLimit: 60}
	post := func(body string, length int64) *http.Request {
		r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
		r.ContentLength = length
		return r
	}
	r1, err1 := l.admit(post(strings.Repeat("a", 50), 50))
	// A body announced over the limit is charged only the limit: it is
	// refused with 413 before it is read.
	r2, err2 := l.admit(post("", 1000))
	if err1 != nil || err2 == nil {
		t.Fatalf("admit 50 then 1000 (charged 60) with 100 in the budget = %v, %v; want nil, busy", err1, err2)
	}
	r2()
	if got := l.bytes.Load(); got != 50 {
		t.Errorf("bytes in flight after a refusal = %d; want 50", got)
	}
	r3, err3 := l.admit(post(strings.Repeat("b", 40), 40))
	if err3 != nil {
		t.Fatalf("admit 40 more = %v; want nil", err3)
	}
	r4, err4 := l.admit(httptest.NewRequest("GET", "/v1/models", nil))
	if e := llmservice.AsError(err4); err4 == nil || !strings.Contains(e.Message, "LLMSERVICE_MAX_REQUESTS_IN_FLIGHT") || e.RetryAfter == 0 {
		t.Errorf("third request in flight = %v; want 503 naming the setting, with Retry-After", err4)
	}
	rh, err := l.admit(httptest.NewRequest("GET", "/healthz", nil))
	if err != nil {
		t.Errorf("/healthz while busy = %v; want admitted", err)
	}
	rh()
	r4()
	r1()
	r3()
	// A chunked body is charged as it is read (up to the body limit).
	l.bodyLimit = 100
	r := post(strings.Repeat("c", 90), -1)
	release, err := l.admit(r)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(r.Body); err != nil || len(b) != 90 {
		t.Errorf("read chunked 90 = %d, %v", len(b), err)
	}
	r5 := post(strings.Repeat("d", 20), -1)
	release5, _ := l.admit(r5)
	if _, err := io.ReadAll(r5.Body); !errors.Is(err, errBusyBodies) {
		t.Errorf("reading 20 more past the budget = %v; want the busy error", err)
	}
	release()
	release5()
	if got := l.bytes.Load(); got != 0 {
		t.Errorf("bytes in flight at rest = %d; want 0", got)
	}
}

func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitListener(inner, 1)
	defer ln.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	var clients []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	first := <-accepted
	select {
	case <-accepted:
		t.Fatal("a second connection was accepted while the first was open (limit 1)")
	case <-time.After(200 * time.Millisecond):
	}
	first.Close()
	first.Close() // closing twice frees one slot, not two
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(30 * time.Second):
		t.Fatal("the second connection was not accepted after the first closed")
	}
}

// deadlineRecorder is a ResponseWriter that records the write deadlines
// http.ResponseController sets on it.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	set []time.Time
}

func (d *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	d.set = append(d.set, t)
	return nil
}

// TestDeadlineWriterMovesTheDeadlineSeldom: a stream's many writes and
// flushes move the write deadline once per eighth of the timeout, not on
// every call, and never leave it nearer than seven eighths of the timeout.
func TestDeadlineWriterMovesTheDeadlineSeldom(t *testing.T) {
	rec := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	const timeout = time.Hour
	w := &deadlineWriter{ResponseWriter: rec, rc: *http.NewResponseController(rec), timeout: timeout}
	for range 100 {
		if _, err := w.Write([]byte("data: x\n\n")); err != nil {
			t.Fatal(err)
		}
		if err := w.FlushError(); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.set) != 1 {
		t.Fatalf("200 writes and flushes within a moment set the deadline %d times; want 1", len(rec.set))
	}
	if left := time.Until(rec.set[0]); left < timeout*7/8 {
		t.Errorf("deadline %v ahead; want at least 7/8 of %v", left, timeout)
	}
	// Once the deadline is an eighth of the timeout behind, it moves.
	w.deadline = w.deadline.Add(-timeout / 4)
	_, _ = w.Write([]byte("x"))
	if len(rec.set) != 2 || time.Until(rec.set[1]) < timeout*7/8 {
		t.Errorf("a deadline a quarter of the timeout stale was not moved on: %d sets", len(rec.set))
	}
}
