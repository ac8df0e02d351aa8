package anthropic

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/llmservice/llmservice"
)

// TestWriteError: every kind maps to the Messages API's error type and
// status, in Anthropic's body shape.
func TestWriteError(t *testing.T) {
	tests := []struct {
		err    *llmservice.Error
		status int
		typ    string
	}{
		{&llmservice.Error{Kind: llmservice.Invalid, Message: "m"}, 400, "invalid_request_error"},
		{&llmservice.Error{Kind: llmservice.Unauthenticated, Message: "m"}, 401, "authentication_error"},
		{&llmservice.Error{Kind: llmservice.PaymentRequired, Message: "m"}, 402, "billing_error"},
		{&llmservice.Error{Kind: llmservice.Forbidden, Message: "m"}, 403, "permission_error"},
		{&llmservice.Error{Kind: llmservice.NotFound, Message: "m"}, 404, "not_found_error"},
		{&llmservice.Error{Kind: llmservice.TooLarge, Message: "m"}, 413, "request_too_large"},
		{&llmservice.Error{Kind: llmservice.RateLimited, Message: "m"}, 429, "rate_limit_error"},
		{&llmservice.Error{Kind: llmservice.BudgetExceeded, Message: "m"}, 429, "rate_limit_error"},
		{&llmservice.Error{Kind: llmservice.Upstream, Message: "m"}, 502, "api_error"},
		{&llmservice.Error{Kind: llmservice.Upstream, Status: 529, Message: "m"}, 529, "overloaded_error"},
		{&llmservice.Error{Kind: llmservice.UpstreamTimeout, Message: "m"}, 504, "timeout_error"},
		{&llmservice.Error{Kind: llmservice.Unavailable, Message: "m"}, 529, "overloaded_error"},
		{&llmservice.Error{Kind: llmservice.Internal, Message: "internal error"}, 500, "api_error"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		WriteError(w, nil, tt.err.Kind.HTTPStatus(), tt.err)
		var b struct {
			Type  string
			Error struct{ Type, Message string }
		}
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
			t.Fatal(err)
		}
		if w.Code != tt.status || b.Type != "error" || b.Error.Type != tt.typ || b.Error.Message != tt.err.Message {
			t.Errorf("WriteError(%v) = %d %s; want %d %s", tt.err, w.Code, w.Body, tt.status, tt.typ)
		}
	}
}
