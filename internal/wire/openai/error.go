package openai

import "github.com/llmservice/llmservice"

// errorTypes is OpenAI's error.type for each kind: the one table every
// OpenAI-shaped error body (Chat Completions, Responses, Athena,
// StackForDevs, batches) uses. OpenAI's own types are kept where it has
// one; the gateway's own failures (budget, upstream) get a word of their
// own.
var errorTypes = map[llmservice.Kind]string{
	llmservice.Invalid:         "invalid_request_error",
	llmservice.NotFound:        "invalid_request_error",
	llmservice.TooLarge:        "invalid_request_error",
	llmservice.Conflict:        "invalid_request_error",
	llmservice.TooEarly:        "invalid_request_error",
	llmservice.Unauthenticated: "authentication_error",
	llmservice.Forbidden:       "permission_error",
	llmservice.RateLimited:     "rate_limit_error",
	llmservice.BudgetExceeded:  "budget_exceeded",
	llmservice.PaymentRequired: "insufficient_quota",
	llmservice.Upstream:        "upstream_error",
	llmservice.UpstreamTimeout: "timeout_error",
	llmservice.Unavailable:     "service_unavailable",
}

// ErrorType names OpenAI's error.type for k ("server_error" for Internal
// and any kind the table does not name).
func ErrorType(k llmservice.Kind) string {
	if t, ok := errorTypes[k]; ok {
		return t
	}
	return "server_error"
}

// NewErrorBody renders e in OpenAI's error shape, which the Chat
// Completions and the Responses dialects share.
func NewErrorBody(e *llmservice.Error) ErrorBody {
	b := ErrorBody{Error: ErrorDetail{Message: e.Message, Type: ErrorType(e.Kind)}}
	if e.Param != "" {
		p := e.Param
		b.Error.Param = &p
	}
	code := e.Code
	if code == "" && e.Kind == llmservice.BudgetExceeded {
		code = "budget_exceeded"
	}
	if code != "" {
		b.Error.Code = &code
	}
	return b
}
