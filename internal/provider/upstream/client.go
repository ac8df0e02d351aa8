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
)

// NewClient returns an HTTP client with a keep-alive pool sized for a busy
// gateway. Timeouts come from the request context, not the client, so that a
// long stream is not cut off by a whole-request deadline; only the dial and
// the wait for response headers are bounded here.
func NewClient(responseHeaderTimeout time.Duration) *http.Client {
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
	return &http.Client{Transport: t}
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
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, &llmservice.Error{Kind: llmservice.Internal, Message: "internal error", Err: fmt.Errorf("build upstream request: %w", err)}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
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

// PostJSON sends body and decodes a 2xx JSON answer into out.
func PostJSON(ctx context.Context, hc *http.Client, url string, header http.Header, body []byte, out any) error {
	resp, err := Do(ctx, hc, http.MethodPost, url, header, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return ReadError(ctx, err)
	}
	return nil
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
	return &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream sent an unreadable response", Err: err}
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
		if e.Code == "cancelled" || e.Code == "upstream_auth_failed" {
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
