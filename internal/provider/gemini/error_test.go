package gemini

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	geminiwire "github.com/llmservice/llmservice/internal/wire/gemini"
)

func TestStatusError(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		kind       llmservice.Kind
		code       string
		msg        string
		retryAfter time.Duration
		retryable  bool
	}{
		{
			name:   "bad request",
			status: 400,
			body:   `{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified\n","status":"INVALID_ARGUMENT"}}`,
			kind:   llmservice.Invalid, code: "upstream_rejected_request",
			msg: "* GenerateContentRequest.contents: contents is not specified",
		},
		{
			name:   "invalid API key comes as 400",
			status: 400,
			body: `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[
				{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},
				{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}}`,
			kind: llmservice.Upstream, code: "upstream_auth_failed",
			msg: "upstream error: API key not valid. Please pass a valid API key.",
		},
		{
			name:   "unsupported location",
			status: 400,
			body:   `{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}`,
			kind:   llmservice.Upstream, code: "upstream_failed_precondition",
			msg: "upstream error: User location is not supported for the API use.",
		},
		{
			name:   "unauthorized",
			status: 401,
			body:   `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`,
			kind:   llmservice.Upstream, code: "upstream_auth_failed",
			msg: "upstream error: Request had invalid authentication credentials.",
		},
		{
			name:   "no key",
			status: 403,
			body:   `{"error":{"code":403,"message":"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.","status":"PERMISSION_DENIED"}}`,
			kind:   llmservice.Upstream, code: "upstream_auth_failed",
			msg: "upstream error: Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
		},
		{
			name:   "unknown model",
			status: 404,
			body:   `{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta, or is not supported for generateContent.","status":"NOT_FOUND"}}`,
			kind:   llmservice.NotFound, code: "model_not_found",
			msg: "models/gemini-9 is not found for API version v1beta, or is not supported for generateContent.",
		},
		{
			name:   "rate limited with Retry-After",
			status: 429,
			header: http.Header{"Retry-After": {"7"}},
			body:   `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`,
			kind:   llmservice.RateLimited, code: "upstream_rate_limited",
			msg:        "upstream error: Resource has been exhausted (e.g. check quota).",
			retryAfter: 7 * time.Second, retryable: true,
		},
		{
			name:   "rate limited with RetryInfo",
			status: 429,
			body: `{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED","details":[
				{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests"}]},
				{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}`,
			kind: llmservice.RateLimited, code: "upstream_rate_limited",
			msg:        "upstream error: You exceeded your current quota.",
			retryAfter: 37 * time.Second, retryable: true,
		},
		{
			name:      "internal",
			status:    500,
			body:      `{"error":{"code":500,"message":"An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting","status":"INTERNAL"}}`,
			kind:      llmservice.Upstream,
			msg:       "upstream error: An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
			retryable: true,
		},
		{
			name:   "overloaded",
			status: 503,
			body:   `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`,
			kind:   llmservice.Upstream, msg: "upstream error: The model is overloaded. Please try again later.",
			retryable: true,
		},
		{
			name:   "deadline",
			status: 504,
			body:   `{"error":{"code":504,"message":"Deadline expired before operation could complete.","status":"DEADLINE_EXCEEDED"}}`,
			kind:   llmservice.UpstreamTimeout, msg: "upstream error: Deadline expired before operation could complete.",
			retryable: true,
		},
		{
			name:   "not JSON",
			status: 502,
			body:   `<html>Bad Gateway</html>`,
			kind:   llmservice.Upstream, msg: "upstream error: <html>Bad Gateway</html>",
			retryable: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			e := statusError(tt.status, h, []byte(tt.body))
			if e.Kind != tt.kind || e.Code != tt.code || e.Status != tt.status {
				t.Errorf("statusError(%d) = kind %v code %q status %d; want kind %v code %q status %d", tt.status, e.Kind, e.Code, e.Status, tt.kind, tt.code, tt.status)
			}
			if strings.TrimSpace(e.Message) != tt.msg {
				t.Errorf("statusError(%d) message = %q; want %q", tt.status, e.Message, tt.msg)
			}
			if e.RetryAfter != tt.retryAfter {
				t.Errorf("statusError(%d) RetryAfter = %v; want %v", tt.status, e.RetryAfter, tt.retryAfter)
			}
			if got := upstream.Retryable(e); got != tt.retryable {
				t.Errorf("Retryable(statusError(%d)) = %v; want %v", tt.status, got, tt.retryable)
			}
		})
	}
}

func TestStreamError(t *testing.T) {
	e := streamError(&geminiwire.Status{Code: 500, Message: "An internal error has occurred.", Status: "INTERNAL"})
	if e.Kind != llmservice.Upstream || e.Status != 500 || e.Message != "upstream error: An internal error has occurred." {
		t.Errorf("streamError = %+v; want upstream, status 500, the upstream message", e)
	}
	if e := streamError(&geminiwire.Status{Status: "UNAVAILABLE"}); e.Message != "upstream error: UNAVAILABLE" {
		t.Errorf("streamError without message = %q; want the status name", e.Message)
	}
}
