package anthropic

import (
	"net/http"

	wire "github.com/llmservice/llmservice/internal/wire/anthropic"
)

// errorStatus gives the HTTP status Anthropic documents for an error type.
// An error event inside a 200 stream has only its type; mapping it back to
// the status lets upstream.StatusError classify it like its HTTP twin.
// https://platform.claude.com/docs/en/api/errors
func errorStatus(typ string) int {
	switch typ {
	case wire.ErrInvalidRequest:
		return http.StatusBadRequest
	case wire.ErrAuthentication:
		return http.StatusUnauthorized
	case wire.ErrBilling:
		return http.StatusPaymentRequired
	case wire.ErrPermission:
		return http.StatusForbidden
	case wire.ErrNotFound:
		return http.StatusNotFound
	case wire.ErrRequestTooLarge:
		return http.StatusRequestEntityTooLarge
	case wire.ErrRateLimit:
		return http.StatusTooManyRequests
	case wire.ErrTimeout:
		return http.StatusGatewayTimeout
	case wire.ErrOverloaded:
		return statusOverloaded
	default: // api_error and types added later
		return http.StatusInternalServerError
	}
}

// statusOverloaded is Anthropic's own "overloaded" status, retryable like a 5xx.
const statusOverloaded = 529
