package gemini

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	geminiwire "github.com/llmservice/llmservice/internal/wire/gemini"
)

// statusError maps a non-2xx Gemini answer. It starts from the shared status
// table and corrects it with what only Gemini's error details say:
//   - an unknown or expired API key comes as 400 INVALID_ARGUMENT with
//     ErrorInfo reason API_KEY_INVALID; that is the gateway's credential, not
//     the caller's request, so it is an upstream auth failure;
//   - 400 FAILED_PRECONDITION ("User location is not supported", billing not
//     enabled) is the gateway's account, not the caller's request either;
//   - 429 RESOURCE_EXHAUSTED usually has no Retry-After header and gives the
//     delay in a RetryInfo detail instead.
//
// https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
func statusError(status int, h http.Header, body []byte) *llmservice.Error {
	e := upstream.StatusError(status, h, body)
	var w geminiwire.ErrorResponse
	if json.Unmarshal(body, &w) != nil || w.Error == nil {
		return e
	}
	msg := e.Message
	if !strings.HasPrefix(msg, "upstream error: ") {
		msg = "upstream error: " + msg
	}
	for _, raw := range w.Error.Details {
		var d geminiwire.Detail
		if json.Unmarshal(raw, &d) != nil {
			continue
		}
		switch {
		case d.Type == geminiwire.TypeErrorInfo && (d.Reason == geminiwire.ReasonAPIKeyInvalid || d.Reason == geminiwire.ReasonAPIKeyExpired):
			e.Kind, e.Code, e.Message = llmservice.Upstream, "upstream_auth_failed", msg
		case d.Type == geminiwire.TypeRetryInfo && e.Kind == llmservice.RateLimited && e.RetryAfter == 0:
			// A protobuf Duration in JSON is decimal seconds with an "s".
			if dur, err := time.ParseDuration(d.RetryDelay); err == nil && dur > 0 {
				e.RetryAfter = dur
			}
		}
	}
	if status == http.StatusBadRequest && w.Error.Status == geminiwire.StatusFailedPrecondition {
		e.Kind, e.Code, e.Message = llmservice.Upstream, "upstream_failed_precondition", msg
	}
	return e
}

// streamError maps an error event inside a 200 stream. The status line has
// already been sent, so it is always an Upstream error; Status keeps the
// code the event reported.
func streamError(st *geminiwire.Status) *llmservice.Error {
	msg := st.Message
	if msg == "" {
		msg = st.Status
	}
	if msg == "" {
		msg = "stream failed"
	}
	return &llmservice.Error{Kind: llmservice.Upstream, Status: st.Code, Code: "upstream_stream_error", Message: "upstream error: " + msg}
}
