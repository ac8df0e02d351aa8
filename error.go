package llmservice

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error so that each dialect can pick its status code and
// body without comparing message strings.
type Kind uint8

// Error kinds. The HTTP status of each lives in one table in internal/httpx.
const (
	Internal Kind = iota
	Invalid
	Unauthenticated
	Forbidden
	NotFound
	Conflict
	TooLarge
	RateLimited
	BudgetExceeded
	PaymentRequired
	Upstream
	UpstreamTimeout
	Unavailable
	TooEarly
	// ClientClosed is a call whose client hung up before its answer: not
	// an upstream failure. The ledger records it as 499 (nginx's "client
	// closed request"), which no client ever reads.
	ClientClosed
)

var kindNames = [...]string{
	Internal:        "internal",
	Invalid:         "invalid",
	Unauthenticated: "unauthenticated",
	Forbidden:       "forbidden",
	NotFound:        "not_found",
	Conflict:        "conflict",
	TooLarge:        "too_large",
	RateLimited:     "rate_limited",
	BudgetExceeded:  "budget_exceeded",
	PaymentRequired: "payment_required",
	Upstream:        "upstream",
	UpstreamTimeout: "upstream_timeout",
	Unavailable:     "unavailable",
	TooEarly:        "too_early",
	ClientClosed:    "client_closed",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is the one error type that crosses package boundaries. Message is safe
// to show to clients; Err is for logs only and never reaches a response.
type Error struct {
	Kind    Kind
	Message string
	// Param names the request field at fault, when there is one.
	Param string
	// Code is a machine-readable code for the client ("model_not_found").
	Code string
	// RetryAfter, when set, becomes a Retry-After header.
	RetryAfter time.Duration
	// Status is the upstream HTTP status for Upstream errors (0 otherwise).
	Status int
	Err    error
}

func (e *Error) Error() string {
	s := e.Kind.String() + ": " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error of the given kind with a client-safe message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// InvalidParam reports a bad request field, naming it.
func InvalidParam(param, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Param: param, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind returns the kind of err, or Internal when err is not an *Error.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// AsError returns err as an *Error; anything else becomes an Internal error
// whose message reveals nothing.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Message: "internal error", Err: err}
}

// HTTPStatus is the one table from error kind to HTTP status. Dialects with
// their own documented statuses override single rows at their edge.
func (k Kind) HTTPStatus() int {
	switch k {
	case Invalid:
		return 400
	case Unauthenticated:
		return 401
	case PaymentRequired:
		return 402
	case Forbidden:
		return 403
	case NotFound:
		return 404
	case Conflict:
		return 409
	case TooLarge:
		return 413
	case TooEarly:
		return 425
	case RateLimited, BudgetExceeded:
		return 429
	case Upstream:
		return 502
	case Unavailable:
		return 503
	case UpstreamTimeout:
		return 504
	case ClientClosed:
		return 499
	}
	return 500
}
