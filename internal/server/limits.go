package server

import (
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/llmservice/llmservice"
)

// limits bounds what the requests in flight may hold: their number and the
// bytes of their bodies. Both are counted with atomics, so admission costs
// no lock.
type limits struct {
	maxRequests int64 // 0: no cap
	requests    atomic.Int64
	maxBytes    int64 // 0: no budget
	bytes       atomic.Int64
	bodyLimit   int64
}

// retryAfter is what a refused caller is told to wait: capacity frees as
// soon as one request ends.
const retryAfter = time.Second

// admit counts r in, or returns the error that refuses it. release undoes
// what admit counted (call it when the handler returns, even on refusal).
// A body of announced length is charged in full up front; a chunked one is
// charged as it is read, and a read beyond the budget fails with the same
// 503 (httpx.ReadBody passes it on).
func (l *limits) admit(r *http.Request) (release func(), err error) {
	var charged atomic.Int64
	err = l.admitInto(r, &charged)
	return func() { l.release(&charged) }, err
}

// admitInto is admit with the request's charge kept in charged, which the
// server allocates with the rest of the request's state: no closure and
// no counter of its own per request. Call release(charged) at the end.
func (l *limits) admitInto(r *http.Request, charged *atomic.Int64) error {
	if l.maxRequests > 0 && l.requests.Add(1) > l.maxRequests && !exempt(r) {
		return &llmservice.Error{Kind: llmservice.Unavailable, Code: "server_busy", RetryAfter: retryAfter,
			Message: "The gateway is serving as many requests as it is configured to (LLMSERVICE_MAX_REQUESTS_IN_FLIGHT); try again shortly"}
	}
	if l.maxBytes <= 0 || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	if n := r.ContentLength; n > 0 {
		// A body over the limit is refused with 413 before it is read,
		// so it is charged only the limit.
		n = min(n, l.bodyLimit)
		if !l.take(n) {
			return errBusyBodies
		}
		charged.Store(n)
		return nil
	}
	if r.ContentLength < 0 {
		r.Body = &chargedBody{ReadCloser: r.Body, l: l, charged: charged}
	}
	return nil
}

// release undoes what admitInto counted (call it when the handler
// returns, even on refusal).
func (l *limits) release(charged *atomic.Int64) {
	if l.maxRequests > 0 {
		l.requests.Add(-1)
	}
	if n := charged.Load(); n > 0 {
		l.bytes.Add(-n)
	}
}

// errBusyBodies refuses a request whose body does not fit in the budget.
var errBusyBodies = &llmservice.Error{Kind: llmservice.Unavailable, Code: "server_busy", RetryAfter: retryAfter,
	Message: "The gateway holds as many request bodies as it is configured to (LLMSERVICE_BODY_BYTES_IN_FLIGHT); try again shortly"}

// take charges n bytes to the budget if they fit.
func (l *limits) take(n int64) bool {
	for {
		cur := l.bytes.Load()
		if cur+n > l.maxBytes {
			return false
		}
		if l.bytes.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// exempt reports whether r is a probe that must answer even when the
// gateway is busy, so that a load balancer tells busy from dead.
func exempt(r *http.Request) bool {
	return r.URL.Path == "/healthz" || r.URL.Path == "/readyz"
}

// chargedBody charges a body of unannounced length to the budget as it is
// read.
type chargedBody struct {
	io.ReadCloser
	l       *limits
	charged *atomic.Int64
}

func (b *chargedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		if b.charged.Load()+int64(n) > b.l.bodyLimit {
			// Past the body limit: the reader's own limit refuses it
			// with 413, so charge no more.
			return n, err
		}
		if !b.l.take(int64(n)) {
			return 0, errBusyBodies
		}
		b.charged.Add(int64(n))
	}
	return n, err
}

// deadlineWriter moves the connection's write deadline forward before
// every write, so that a client that stops reading is cut after
// WriteTimeout while a stream the client keeps reading never is.
//
// Moving a deadline costs a runtime timer update under the connection's
// lock, and a stream writes and flushes several times a millisecond; so
// the deadline moves only once it is an eighth of the timeout behind where
// it would be set now: a stalled client is cut after between seven eighths
// of WriteTimeout and all of it.
type deadlineWriter struct {
	http.ResponseWriter
	rc       http.ResponseController
	timeout  time.Duration
	deadline time.Time // the deadline last set (zero: none yet)
}

func (w *deadlineWriter) extend() {
	d := time.Now().Add(w.timeout)
	if d.Sub(w.deadline) < w.timeout/8 {
		return
	}
	if w.rc.SetWriteDeadline(d) == nil {
		w.deadline = d
	}
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(p)
}

// FlushError is what http.ResponseController.Flush calls.
func (w *deadlineWriter) FlushError() error {
	w.extend()
	return w.rc.Flush()
}

func (w *deadlineWriter) Flush() { _ = w.FlushError() }

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
