// Package upstream holds what every provider adapter shares: the pooled HTTP
// client, the SSE and NDJSON frame readers, and the mapping of an upstream
// failure to an error kind.
package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/h1"
)

// DefaultAnswerLimit is the cap on a non-streaming upstream answer when
// none is configured.
const DefaultAnswerLimit = 64 << 20

// NewClient returns an HTTP client with a keep-alive pool sized for a busy
// gateway. Timeouts come from the request context, not the client, so that a
// long stream is not cut off by a whole-request deadline; only the dial and
// the wait for response headers are bounded here. Non-streaming answers are
// capped at DefaultAnswerLimit.
func NewClient(responseHeaderTimeout time.Duration) *http.Client {
	return NewClientWithLimit(responseHeaderTimeout, DefaultAnswerLimit, true)
}

// NewClientWithLimit is NewClient with answers larger than answerLimit
// bytes (streams excepted) failing with a 502: without a cap, one upstream
// answering hundreds of MiB would hold them all in memory until the
// request's timeout. A stream is exempt because it is never held whole
// (its frames are bounded one by one).
//
// With http1, plain-http requests go through internal/h1, which writes the
// request and reads the answer on the caller's goroutine (issue 17:
// net/http's two goroutine hand-offs per request cost more CPU than the
// rest of the exchange); https, proxied requests and bodies of unknown
// length still go through net/http's transport.
func NewClientWithLimit(responseHeaderTimeout time.Duration, answerLimit int64, http1 bool) *http.Client {
	if responseHeaderTimeout <= 0 {
		responseHeaderTimeout = 10 * time.Minute
	}
	t := &http.Transport{
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
		ResponseHeaderTimeout: responseHeaderTimeout,
	}
	if answerLimit <= 0 {
		answerLimit = DefaultAnswerLimit
	}
	var rt http.RoundTripper = t
	if http1 {
		rt = &h1.Transport{
			Fallback:              t,
			Proxy:                 t.Proxy,
			ResponseHeaderTimeout: responseHeaderTimeout,
			MaxIdleConnsPerHost:   t.MaxIdleConnsPerHost,
			IdleConnTimeout:       t.IdleConnTimeout,
		}
	}
	return &http.Client{Transport: cappedTransport{rt, answerLimit}}
}

// cappedTransport caps the bodies of successful non-streaming answers.
type cappedTransport struct {
	rt    http.RoundTripper
	limit int64
}

func (t cappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err != nil || resp.StatusCode/100 != 2 || isStream(resp.Header.Get("Content-Type")) {
		return resp, err
	}
	resp.Body = &cappedBody{rc: resp.Body, left: t.limit, limit: t.limit, announced: resp.ContentLength}
	return resp, nil
}

// isStream reports whether a content type is one of the streaming framings
// the adapters read frame by frame.
func isStream(contentType string) bool {
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.ToLower(strings.TrimSpace(ct))
	return ct == "text/event-stream" || ct == "application/x-ndjson"
}

// cappedBody fails with an Upstream error once more than limit bytes have
// come, or at once when the answer announces more.
type cappedBody struct {
	rc        io.ReadCloser
	left      int64
	limit     int64
	announced int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.announced > b.limit || b.left < 0 {
		return 0, AnswerTooLarge(b.limit)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, AnswerTooLarge(b.limit)
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// AnswerTooLarge is the error of an upstream answer over the cap.
func AnswerTooLarge(limit int64) *llmservice.Error {
	return &llmservice.Error{Kind: llmservice.Upstream, Code: "upstream_answer_too_large",
		Message: fmt.Sprintf("the upstream answer was too large (over the limit of %d bytes, LLMSERVICE_UPSTREAM_BODY_LIMIT)", limit)}
}

// maxErrorBody bounds how much of an upstream error body is read.
const maxErrorBody = 64 << 10

// Do sends a JSON POST (or GET when body is nil) and returns the response when
// its status is 2xx. Any other status becomes an *llmservice.Error carrying
// the upstream message; the response body is closed in that case.
func Do(ctx context.Context, hc *http.Client, method, url string, header http.Header, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	return do(ctx, hc, method, url, header, rd)
}

// do sends rd (nil: no body) as a JSON request.
func do(ctx context.Context, hc *http.Client, method, url string, header http.Header, rd io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		if c, ok := rd.(io.Closer); ok {
			_ = c.Close() // a pipe's writer must not wait for ever
		}
		return nil, &llmservice.Error{Kind: llmservice.Internal, Message: "internal error", Err: fmt.Errorf("build upstream request: %w", err)}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if v := req.Header["Content-Type"]; rd != nil && (len(v) != 1 || v[0] != "application/json") {
		req.Header.Set("Content-Type", "application/json") // unless the caller's headers say so already
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, TransportError(ctx, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, StatusError(resp.StatusCode, resp.Header, b)
	}
	return resp, nil
}

// StreamBodyAbove is the size of request (as the adapter estimates it) from
// which DoJSON streams the encoding instead of building it first.
const StreamBodyAbove = 1 << 20

// DoJSON is Do with v encoded as the request body. When size (the
// caller's estimate of the body) is StreamBodyAbove or more, the encoding
// goes to the connection through a pipe, sent chunked: json.Marshal would
// hold a second whole copy of a large body besides the encoder's buffer. A
// smaller body is marshalled as before and sent with its length.
func DoJSON(ctx context.Context, hc *http.Client, method, url string, header http.Header, v any, size int) (*http.Response, error) {
	if size < StreamBodyAbove {
		body, err := json.Marshal(v)
		if err != nil {
			return nil, llmservice.InvalidParam("", "request cannot be encoded: %v", err)
		}
		return Do(ctx, hc, method, url, header, body)
	}
	pr, pw := io.Pipe()
	encoded := make(chan error, 1)
	go func() {
		// The transport closes the body on every path, which ends a
		// Write left waiting: this goroutine never outlives the call.
		err := json.NewEncoder(pw).Encode(v)
		pw.CloseWithError(err)
		encoded <- err
	}()
	resp, err := do(ctx, hc, method, url, header, pr)
	if err != nil {
		if encErr := <-encoded; encErr != nil && !errors.Is(encErr, io.ErrClosedPipe) {
			return nil, llmservice.InvalidParam("", "request cannot be encoded: %v", encErr)
		}
	}
	return resp, err
}

// PostJSON sends body and decodes a 2xx JSON answer into out.
func PostJSON(ctx context.Context, hc *http.Client, url string, header http.Header, body []byte, out any) error {
	resp, err := Do(ctx, hc, http.MethodPost, url, header, body)
	if err != nil {
		return err
	}
	return decodeAnswer(ctx, resp, out)
}

// PostValue is PostJSON with the body encoded from v by DoJSON.
func PostValue(ctx context.Context, hc *http.Client, url string, header http.Header, v any, size int, out any) error {
	resp, err := DoJSON(ctx, hc, http.MethodPost, url, header, v, size)
	if err != nil {
		return err
	}
	return decodeAnswer(ctx, resp, out)
}

func decodeAnswer(ctx context.Context, resp *http.Response, out any) error {
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return DecodeError(ctx, err)
	}
	return nil
}

// DecodeError classifies a failure to decode a whole JSON answer: an empty
// or truncated body is as unreadable as one that is not JSON at all.
func DecodeError(ctx context.Context, err error) error {
	if ctx.Err() == nil && !isTimeout(err) && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
		return Unreadable("response", err)
	}
	return ReadError(ctx, err)
}

// TransportError classifies a failure to get a response at all.
func TransportError(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(err) {
		return &llmservice.Error{Kind: llmservice.UpstreamTimeout, Message: "upstream timed out", Err: err}
	}
	if errors.Is(err, context.Canceled) {
		return &llmservice.Error{Kind: llmservice.Upstream, Message: "request cancelled", Code: "cancelled", Err: err}
	}
	return &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream connection failed", Code: "upstream_unreachable", Err: err}
}

// ReadError classifies a failure while reading or decoding a response body.
func ReadError(ctx context.Context, err error) error {
	var le *llmservice.Error
	if errors.As(err, &le) {
		return err
	}
	if ctx.Err() != nil || isTimeout(err) {
		return TransportError(ctx, err)
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		return Unreadable("response", err)
	}
	return &llmservice.Error{Kind: llmservice.Upstream, Message: "the upstream's answer broke off before its end", Err: err}
}

// CodeUnreadable is the code of an upstream answer that is not what its
// API returns: invalid JSON, an HTML error page from a proxy in between, a
// stream event that does not parse.
const CodeUnreadable = "upstream_unreadable"

// Unreadable is the error of an upstream answer (what: "response", "stream
// chunk") that could not be read. It is a 502 that says so; another host
// may answer properly, so it is retried.
func Unreadable(what string, err error) *llmservice.Error {
	msg := "The upstream's answer was unreadable: its " + what + " is not valid JSON"
	var se *json.SyntaxError
	if errors.As(err, &se) && strings.Contains(se.Error(), "'<'") {
		msg += " (it looks like an HTML page)"
	}
	return &llmservice.Error{Kind: llmservice.Upstream, Code: CodeUnreadable, Message: msg, Err: err}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// StatusError turns a non-2xx upstream answer into an error. The upstream
// message is kept because it usually explains the problem to the caller; the
// request's credentials are never part of it.
func StatusError(status int, h http.Header, body []byte) *llmservice.Error {
	msg := ErrorMessage(body)
	if msg == "" {
		msg = http.StatusText(status)
	}
	e := &llmservice.Error{Status: status, Message: "upstream error: " + msg}
	switch {
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity || status == http.StatusRequestEntityTooLarge:
		e.Kind = llmservice.Invalid
		e.Message = msg
		e.Code = "upstream_rejected_request"
	case status == http.StatusNotFound:
		e.Kind = llmservice.NotFound
		e.Message = msg
		e.Code = "model_not_found"
	case status == http.StatusTooManyRequests:
		e.Kind = llmservice.RateLimited
		e.Code = "upstream_rate_limited"
		e.RetryAfter = RetryAfter(h)
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		e.Kind = llmservice.UpstreamTimeout
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		// The gateway's own upstream credentials were refused: that is a
		// gateway configuration problem, not the caller's, so it is a 502.
		e.Kind = llmservice.Upstream
		e.Code = "upstream_auth_failed"
	default:
		e.Kind = llmservice.Upstream
	}
	return e
}

// Retryable reports whether err is a failure worth another attempt: no
// answer, a timeout, 429 or a 5xx. A 4xx caused by the request never is.
func Retryable(err error) bool {
	var e *llmservice.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Kind {
	case llmservice.UpstreamTimeout, llmservice.RateLimited:
		return true
	case llmservice.Upstream:
		if e.Code == "cancelled" || e.Code == "upstream_auth_failed" || e.Code == "upstream_answer_too_large" {
			return false
		}
		return e.Status == 0 || e.Status >= 500
	}
	return false
}

// RetryAfter reads a Retry-After header given in seconds or as an HTTP date.
func RetryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		if ms := h.Get("Retry-After-Ms"); ms != "" {
			if n, err := strconv.ParseFloat(ms, 64); err == nil && n > 0 {
				return time.Duration(n * float64(time.Millisecond))
			}
		}
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// ErrorMessage digs the human message out of the error bodies providers
// send: {"error":{"message":...}} (OpenAI, Anthropic, Gemini),
// {"error":"..."} (Ollama), {"message":...} or {"detail":...}; otherwise the
// body itself, trimmed.
func ErrorMessage(body []byte) string {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  any             `json:"detail"`
	}
	if json.Unmarshal(body, &v) == nil {
		if len(v.Error) > 0 {
			var s string
			if json.Unmarshal(v.Error, &s) == nil && s != "" {
				return s
			}
			var o struct {
				Message string `json:"message"`
			}
			if json.Unmarshal(v.Error, &o) == nil && o.Message != "" {
				return o.Message
			}
		}
		if v.Message != "" {
			return v.Message
		}
		if s, ok := v.Detail.(string); ok && s != "" {
			return s
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 500 {
		s = s[:500]
	}
	return s
}

// ReadAnswer reads a whole answer body of at most limit bytes and closes
// it: a read failure is classified as ReadError does, a larger body is an
// Upstream error.
func ReadAnswer(ctx context.Context, r io.ReadCloser, limit int64) ([]byte, error) {
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, ReadError(ctx, err)
	}
	if int64(len(b)) > limit {
		return nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream answer is too large"}
	}
	return b, nil
}
