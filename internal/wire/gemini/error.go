package gemini

import "encoding/json"

// ErrorResponse is the body of every non-2xx answer, and of an error event
// inside an SSE stream: Google's standard google.rpc.Status wrapped in
// "error".
// https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
// https://cloud.google.com/apis/design/errors#http_mapping
type ErrorResponse struct {
	Error *Status `json:"error"`
}

// Status is a google.rpc.Status. Code is the HTTP status, Status the
// canonical code name ("INVALID_ARGUMENT", "RESOURCE_EXHAUSTED", …).
type Status struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Status  string            `json:"status,omitempty"`
	Details []json.RawMessage `json:"details,omitempty"`
}

// Canonical status names used by the Gemini API.
const (
	StatusInvalidArgument    = "INVALID_ARGUMENT"
	StatusFailedPrecondition = "FAILED_PRECONDITION"
	StatusPermissionDenied   = "PERMISSION_DENIED"
	StatusNotFound           = "NOT_FOUND"
	StatusResourceExhausted  = "RESOURCE_EXHAUSTED"
	StatusInternal           = "INTERNAL"
	StatusUnavailable        = "UNAVAILABLE"
	StatusDeadlineExceeded   = "DEADLINE_EXCEEDED"
)

// Detail is the union of the error details the gateway reads: ErrorInfo
// (Reason, e.g. "API_KEY_INVALID") and RetryInfo (RetryDelay, a protobuf
// Duration such as "37s").
// https://cloud.google.com/apis/design/errors#error_details
type Detail struct {
	Type       string `json:"@type"`
	Reason     string `json:"reason,omitempty"`
	Domain     string `json:"domain,omitempty"`
	RetryDelay string `json:"retryDelay,omitempty"`
}

// Detail type URLs.
const (
	TypeErrorInfo = "type.googleapis.com/google.rpc.ErrorInfo"
	TypeRetryInfo = "type.googleapis.com/google.rpc.RetryInfo"
)

// ErrorInfo reasons that mean the gateway's own API key was refused: Gemini
// reports an unknown key as 400 INVALID_ARGUMENT, not 401.
const (
	ReasonAPIKeyInvalid = "API_KEY_INVALID"
	ReasonAPIKeyExpired = "API_KEY_EXPIRED"
)
