package sfdhttp_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/sfdhttp"
)

func TestErrorBody(t *testing.T) {
	for _, tc := range []struct {
		err        *llmservice.Error
		status     int
		code, typ  string
		paramNamed bool
	}{
		{llmservice.InvalidParam("limit", "bad"), 400, "invalid_request", "invalid_request_error", true},
		{llmservice.Errorf(llmservice.Unauthenticated, "x"), 401, "unauthorized", "authentication_error", false},
		{llmservice.Errorf(llmservice.NotFound, "x"), 404, "not_found", "invalid_request_error", false},
		{llmservice.Errorf(llmservice.Conflict, "x"), 409, "conflict", "invalid_request_error", false},
		{llmservice.Errorf(llmservice.TooEarly, "x"), 425, "too_early", "invalid_request_error", false},
		{&llmservice.Error{Kind: llmservice.PaymentRequired, Code: "insufficient_credits", Message: "Insufficient credits"}, 402, "insufficient_credits", "insufficient_quota", false},
		// The type comes from the one OpenAI table (it said provider_error
		// here once, upstream_error everywhere else); the code stays
		// StackForDevs' own.
		{llmservice.Errorf(llmservice.Upstream, "x"), 502, "provider_error", "upstream_error", false},
		{llmservice.Errorf(llmservice.Internal, "internal error"), 500, "internal_error", "server_error", false},
	} {
		w := httptest.NewRecorder()
		sfdhttp.WriteError(w, nil, tc.err.Kind.HTTPStatus(), tc.err)
		var b sfdhttp.ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
			t.Fatal(err)
		}
		if w.Code != tc.status || b.Error.Code != tc.code || b.Error.Type != tc.typ || (b.Error.Param != nil) != tc.paramNamed {
			t.Errorf("%v: %d %s; want %d code %s type %s", tc.err, w.Code, w.Body, tc.status, tc.code, tc.typ)
		}
	}
}
