package sfdhttp

import (
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// ErrorBody is StackForDevs' error answer. The seed documents statuses but
// no body, so the body is OpenAI's {"error":{message,type,code,param}}:
// POST /v1/completions, which StackForDevs shares with OpenAI, answers in
// it, and one shape for every endpoint is what clients can rely on. Code is
// always set, so clients can branch on it.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Code    string  `json:"code"`
	Param   *string `json:"param"`
}

// codes are the default code of each kind, used when the error names none.
var codes = map[llmservice.Kind]string{
	llmservice.Invalid:         "invalid_request",
	llmservice.Unauthenticated: "unauthorized",
	llmservice.Forbidden:       "forbidden",
	llmservice.NotFound:        "not_found",
	llmservice.Conflict:        "conflict",
	llmservice.TooLarge:        "request_too_large",
	llmservice.TooEarly:        "too_early",
	llmservice.RateLimited:     "rate_limited",
	llmservice.BudgetExceeded:  "budget_exceeded",
	llmservice.PaymentRequired: "insufficient_credits",
	llmservice.Upstream:        "provider_error",
	llmservice.UpstreamTimeout: "provider_timeout",
	llmservice.Unavailable:     "service_unavailable",
	llmservice.Internal:        "internal_error",
}

// Code is e's code, or its kind's default code when it names none.
func Code(e *llmservice.Error) string {
	if e.Code != "" {
		return e.Code
	}
	return codes[e.Kind]
}

// NewErrorBody renders e.
func NewErrorBody(e *llmservice.Error) ErrorBody {
	d := ErrorDetail{Message: e.Message, Type: wire.ErrorType(e.Kind), Code: Code(e)}
	if e.Param != "" {
		p := e.Param
		d.Param = &p
	}
	return ErrorBody{Error: d}
}

// WriteError writes e in StackForDevs' error shape with status.
func WriteError(w http.ResponseWriter, r *http.Request, status int, e *llmservice.Error) {
	_ = httpx.WriteJSON(w, status, NewErrorBody(e))
}
