package openai

import "github.com/llmservice/llmservice"

// errorType names OpenAI's error.type for each kind.
func errorType(k llmservice.Kind) string {
	switch k {
	case llmservice.Invalid, llmservice.NotFound, llmservice.TooLarge, llmservice.Conflict, llmservice.TooEarly:
		return "invalid_request_error"
	case llmservice.Unauthenticated:
		return "authentication_error"
	case llmservice.Forbidden:
		return "permission_error"
	case llmservice.RateLimited:
		return "rate_limit_error"
	case llmservice.BudgetExceeded:
		return "budget_exceeded"
	case llmservice.PaymentRequired:
		return "insufficient_quota"
	case llmservice.Upstream:
		return "upstream_error"
	case llmservice.UpstreamTimeout:
		return "timeout_error"
	case llmservice.Unavailable:
		return "service_unavailable"
	}
	return "server_error"
}

// NewErrorBody renders e in OpenAI's error shape, which the Chat
// Completions and the Responses dialects share.
func NewErrorBody(e *llmservice.Error) ErrorBody {
	b := ErrorBody{Error: ErrorDetail{Message: e.Message, Type: errorType(e.Kind)}}
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
