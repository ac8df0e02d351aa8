// Package httpx holds the HTTP plumbing every dialect shares: the handler
// adapter that turns returned errors into responses, JSON decoding with a
// size limit and field-naming errors, and the SSE and NDJSON writers.
package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

// ErrorEncoder writes an error in a dialect's own body shape. The status is
// already chosen (e.Kind.HTTPStatus() unless the dialect overrides it).
type ErrorEncoder func(w http.ResponseWriter, r *http.Request, status int, e *llmservice.Error)

// Restatus returns enc answering with the status status(e) chooses rather
// than the one it is given (e.Kind.HTTPStatus()). An API whose seed
// documents statuses of its own (the jobs API answers 500 for every failed
// model call) says so where its handlers are built, instead of in an
// encoder that quietly ignores its status argument.
func Restatus(status func(e *llmservice.Error) int, enc ErrorEncoder) ErrorEncoder {
	return func(w http.ResponseWriter, r *http.Request, _ int, e *llmservice.Error) {
		enc(w, r, status(e), e)
	}
}

// HandlerFunc is a handler that returns its error instead of writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts fn: an error it returns is logged when it is the server's
// fault and written with enc. Errors that are not *llmservice.Error become
// "internal error" and their text never reaches the client.
func Handle(log *slog.Logger, enc ErrorEncoder, fn HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := Refusal(r.Context()); err != nil {
			// Not logged: a refusal under load would log once per request.
			WriteError(nil, enc, w, r, err)
			return
		}
		if err := fn(w, r); err != nil {
			WriteError(log, enc, w, r, err)
		}
	})
}

// headerError is implemented by errors that carry response headers, such as
// the rate limit state of a refused call.
type headerError interface {
	ResponseHeaders() [][2]string
}

// WriteError writes err with enc, logging server-side failures.
func WriteError(log *slog.Logger, enc ErrorEncoder, w http.ResponseWriter, r *http.Request, err error) {
	var he headerError
	if errors.As(err, &he) {
		for _, h := range he.ResponseHeaders() {
			w.Header().Set(h[0], h[1])
		}
	}
	e := llmservice.AsError(err)
	status := e.Kind.HTTPStatus()
	if status >= 500 && log != nil {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", w.Header().Get("X-Request-Id"), "status", status, "err", err)
	}
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + 999_999_999) / 1_000_000_000)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	enc(w, r, status, e)
}

// WriteJSON writes v as JSON with status. The encoding goes straight to w
// (json.Marshal would copy it once more, and appending the newline once
// again: two extra copies of a large answer); the status is written only
// once the encoding has succeeded, so a value that cannot be encoded still
// becomes an error answer.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	hw := &headerOnWrite{w: w, status: status}
	if err := json.NewEncoder(hw).Encode(v); err != nil && !hw.wrote {
		return fmt.Errorf("encode response: %w", err)
	}
	return nil
}

// headerOnWrite writes the JSON headers and status before the first byte.
type headerOnWrite struct {
	w      http.ResponseWriter
	status int
	wrote  bool
}

func (h *headerOnWrite) Write(p []byte) (int, error) {
	if !h.wrote {
		h.wrote = true
		h.w.Header().Set("Content-Type", "application/json")
		h.w.WriteHeader(h.status)
	}
	return h.w.Write(p)
}

// fieldError is implemented by decoding errors that know their field.
type fieldError interface {
	InvalidField() (field, msg string)
}

// DecodeJSON reads at most limit bytes of JSON into v. Every failure is an
// Invalid or TooLarge error that says what is wrong and where.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	// The Content-Type is not checked: curl -d sends a form type with a JSON
	// body, and refusing it helps nobody. The body itself must be JSON.
	body, err := ReadBody(w, r, limit)
	if err != nil {
		return err
	}
	return Unmarshal(body, v)
}

// Unmarshal decodes JSON into v with the same error mapping as DecodeJSON.
func Unmarshal(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return llmservice.Errorf(llmservice.Invalid, "request body is empty; expected a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return JSONError(err)
	}
	return nil
}

// JSONError turns an encoding/json error into a client-facing Invalid error.
func JSONError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var fe fieldError
	switch {
	case errors.As(err, &fe):
		f, msg := fe.InvalidField()
		return llmservice.InvalidParam(f, "invalid value for '%s': %s", f, msg)
	case errors.As(err, &se):
		return llmservice.Errorf(llmservice.Invalid, "request body is not valid JSON (at byte %d): %v", se.Offset, err)
	case errors.As(err, &te):
		if te.Field == "" {
			return llmservice.Errorf(llmservice.Invalid, "request body must be a JSON object, got %s", te.Value)
		}
		return llmservice.InvalidParam(te.Field, "invalid type for '%s': expected %s, got %s", te.Field, goKindToJSON(te.Type.String()), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return llmservice.Errorf(llmservice.Invalid, "request body is truncated JSON")
	}
	return llmservice.Errorf(llmservice.Invalid, "request body is not valid JSON: %v", err)
}

func goKindToJSON(t string) string {
	t = strings.TrimPrefix(t, "*")
	switch {
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	}
	return "an object"
}

// BearerToken returns the credential of an Authorization header. Both
// "Bearer <key>" and a bare "<key>" are accepted, the latter because some
// clients (LlmEndpoint's) send the key without a scheme.
func BearerToken(r *http.Request) string {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if strings.ContainsRune(h, ' ') {
		return ""
	}
	return h
}

// Flush sends buffered bytes to the client now.
func Flush(w http.ResponseWriter) error {
	return http.NewResponseController(w).Flush()
}

// SetCanonical sets each header kv[i][0], a name already in canonical
// form, to the single value kv[i][1], as Header.Set does, with one
// allocation for all the values instead of one per header. Each value
// slice is capped at its one element, so that a later Add copies it
// instead of writing over its neighbour.
func SetCanonical(h http.Header, kv [][2]string) {
	vals := make([]string, len(kv))
	for i, p := range kv {
		vals[i] = p[1]
		h[p[0]] = vals[i : i+1 : i+1]
	}
}

// sseHeaders are the headers of every text/event-stream answer.
var sseHeaders = [][2]string{
	{"Content-Type", "text/event-stream"},
	{"Cache-Control", "no-cache"},
	{"Connection", "keep-alive"},
	{"X-Accel-Buffering", "no"},
}

// StartSSE writes the headers of a text/event-stream answer.
func StartSSE(w http.ResponseWriter) {
	SetCanonical(w.Header(), sseHeaders)
	w.WriteHeader(http.StatusOK)
}

// SSEData writes one "data:" event and flushes it.
func SSEData(w http.ResponseWriter, data []byte) error {
	// One write per event (each write moves the server's write deadline
	// on), from a pooled buffer: a stream writes an event per chunk.
	bp := ssePool.Get().(*[]byte)
	buf := append((*bp)[:0], "data: "...)
	buf = append(buf, data...)
	buf = append(buf, '\n', '\n')
	_, err := w.Write(buf)
	if cap(buf) <= maxPooledSSE {
		*bp = buf
		ssePool.Put(bp)
	}
	if err != nil {
		return err
	}
	return Flush(w)
}

// ssePool holds SSEData's buffers; ResponseWriter.Write does not keep the
// slice it is given, so the buffer is free again once Write returns.
// Buffers grown past maxPooledSSE by a huge event are left to the GC.
var ssePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledSSE = 64 << 10

// SSEEvent writes a named event and flushes it.
func SSEEvent(w http.ResponseWriter, name string, data []byte) error {
	if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data); err != nil {
		return err
	}
	return Flush(w)
}

// NDJSON writes one JSON value and a newline, and flushes it.
func NDJSON(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return err
	}
	return Flush(w)
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	clientIPKey
	requestContextKey
)

// RequestContext is the context the server gives each request: its
// parent plus what the server's middleware learnt, held in fields rather
// than in a chain of context.WithValue (an allocation each, and another
// to box the address). The server allocates it with the rest of its
// per-request state.
type RequestContext struct {
	context.Context
	IP      netip.Addr // the caller, after trusted proxies
	Refusal error      // see Refuse; nil when admitted
}

// Value answers the server's key with c itself, so that ClientIP and
// Refusal read the fields without boxing them.
func (c *RequestContext) Value(key any) any {
	if key == any(requestContextKey) {
		return c
	}
	return c.Context.Value(key)
}

// requestContext returns the RequestContext ctx descends from, or nil.
func requestContext(ctx context.Context) *RequestContext {
	c, _ := ctx.Value(requestContextKey).(*RequestContext)
	return c
}

// WithClientIP stores the caller's address (after trusted proxies) in ctx.
func WithClientIP(ctx context.Context, ip netip.Addr) context.Context {
	return context.WithValue(ctx, clientIPKey, ip)
}

// ClientIP returns the caller's address stored by the server, or the zero
// address.
func ClientIP(ctx context.Context) netip.Addr {
	if ip, ok := ctx.Value(clientIPKey).(netip.Addr); ok {
		return ip
	}
	if c := requestContext(ctx); c != nil {
		return c.IP
	}
	return netip.Addr{}
}

// WithRequestID stores the request ID in ctx.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the request ID stored in ctx.
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}

// relayBufs holds Relay's 32 KiB copy buffers, one per stream otherwise.
// A Reader must not keep the slice it reads into (io.Reader's contract),
// and ResponseWriter.Write does not keep what it writes, so the buffer is
// free again once Relay returns.
var relayBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// Copy copies a whole answer to the client with a pooled buffer: io.Copy
// would take a fresh 32 KiB one per answer, since neither the gateway's
// body nor the middleware's writers have ReadFrom/WriteTo, and that
// garbage alone set the pace of the collector at a thousand answers a
// second. No flush per read: nobody waits for part of a whole answer.
func Copy(w io.Writer, body io.Reader) (int64, error) {
	bp := relayBufs.Get().(*[]byte)
	defer relayBufs.Put(bp)
	return io.CopyBuffer(onlyWriter{w}, body, *bp)
}

// onlyWriter hides a writer's ReadFrom, which would copy with a buffer of
// its own.
type onlyWriter struct{ io.Writer }

// Relay copies body to the client as it arrives, flushing after each read
// so that stream events are not held back; a body that says when it is
// about to wait on its upstream (llm.WaitNotifier) is flushed then instead,
// and at its end. It returns the error that ended the body (nil at its
// end), or nil when the client went away first.
func Relay(w http.ResponseWriter, body io.Reader) error {
	bp := relayBufs.Get().(*[]byte)
	defer relayBufs.Put(bp)
	buf := *bp
	wn, ok := body.(llm.WaitNotifier)
	coalesce := ok && wn.BeforeWait(func() { _ = Flush(w) })
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil
			}
			if !coalesce || err != nil {
				_ = Flush(w)
			}
		} else if coalesce && err != nil {
			_ = Flush(w)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
