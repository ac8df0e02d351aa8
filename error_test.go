package llmservice_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/llmservice/llmservice"
)

func TestKindHTTPStatus(t *testing.T) {
	tests := []struct {
		kind   llmservice.Kind
		status int
	}{
		{llmservice.Internal, 500},
		{llmservice.Invalid, 400},
		{llmservice.Unauthenticated, 401},
		{llmservice.PaymentRequired, 402},
		{llmservice.Forbidden, 403},
		{llmservice.NotFound, 404},
		{llmservice.Conflict, 409},
		{llmservice.TooLarge, 413},
		{llmservice.TooEarly, 425},
		{llmservice.RateLimited, 429},
		{llmservice.BudgetExceeded, 429},
		{llmservice.Upstream, 502},
		{llmservice.Unavailable, 503},
		{llmservice.UpstreamTimeout, 504},
		{llmservice.Kind(200), 500}, // an unknown kind is the server's fault
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			if got := tt.kind.HTTPStatus(); got != tt.status {
				t.Errorf("%v.HTTPStatus() = %d; want %d", tt.kind, got, tt.status)
			}
		})
	}
}

// Every named kind has a name and a status, so adding a kind without its
// row in either table fails here.
func TestEveryKindIsNamed(t *testing.T) {
	for k := llmservice.Internal; k <= llmservice.TooEarly; k++ {
		if s := k.String(); s == "" || s == fmt.Sprintf("kind(%d)", k) {
			t.Errorf("Kind(%d).String() = %q; want a name", k, s)
		}
		if st := k.HTTPStatus(); st < 400 || st > 599 {
			t.Errorf("%v.HTTPStatus() = %d; want an error status", k, st)
		}
		if k != llmservice.Internal && k.HTTPStatus() == 500 {
			t.Errorf("%v.HTTPStatus() = 500; only Internal should be 500", k)
		}
	}
	if got := llmservice.Kind(99).String(); got != "kind(99)" {
		t.Errorf("Kind(99).String() = %q; want kind(99)", got)
	}
}

func TestErrorText(t *testing.T) {
	cause := errors.New("disk full")
	tests := []struct {
		err  *llmservice.Error
		want string
	}{
		{llmservice.Errorf(llmservice.NotFound, "team %q not found", "t1"), `not_found: team "t1" not found`},
		{&llmservice.Error{Kind: llmservice.Internal, Message: "internal error", Err: cause}, "internal: internal error: disk full"},
		{llmservice.InvalidParam("model", "model is required"), "invalid: model is required"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
	}
}

func TestAsError(t *testing.T) {
	known := llmservice.InvalidParam("n", "bad n")
	wrapped := fmt.Errorf("decode: %w", known)
	if got := llmservice.AsError(wrapped); got != known {
		t.Errorf("AsError(wrapped) = %v; want the wrapped *Error", got)
	}
	if got := llmservice.ErrorKind(wrapped); got != llmservice.Invalid {
		t.Errorf("ErrorKind(wrapped) = %v; want invalid", got)
	}

	secret := errors.New("pq: password authentication failed for user admin")
	e := llmservice.AsError(secret)
	if e.Kind != llmservice.Internal || e.Message != "internal error" {
		t.Errorf("AsError(plain) = {Kind:%v Message:%q}; want internal, \"internal error\"", e.Kind, e.Message)
	}
	if !errors.Is(e, secret) {
		t.Errorf("AsError(plain) does not unwrap to the cause, so logs would lose it")
	}
	if llmservice.ErrorKind(secret) != llmservice.Internal {
		t.Errorf("ErrorKind(plain) = %v; want internal", llmservice.ErrorKind(secret))
	}
}
