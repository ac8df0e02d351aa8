// Package anthropic serves Anthropic's Messages API (POST /v1/messages,
// POST /v1/messages/count_tokens, and the model list in Anthropic's shape),
// the API Claude Code and the Anthropic SDKs speak.
//
// A call to a model on an Anthropic upstream takes the gateway's
// pass-through lane: the body goes upstream as the client sent it, apart
// from its model, and the answer comes back byte for byte apart from its
// model. Any other upstream takes the translation lane: the request is
// decoded into the canonical types and the answer encoded back into a
// Messages response or event stream here.
// https://platform.claude.com/docs/en/api/messages
package anthropic

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
)

// Gateway is what this dialect needs from the core.
type Gateway interface {
	Authenticate(ctx context.Context, key string) (*gateway.Principal, error)
	Exchange(ctx context.Context, c *gateway.Call, x *gateway.Exchange) (*gateway.Answer, error)
	CountTokens(ctx context.Context, c *gateway.Call, x *gateway.Exchange) (int, error)
	Models(p *gateway.Principal) []gateway.ModelInfo
}

// Handler serves the dialect.
type Handler struct {
	GW        Gateway
	Log       *slog.Logger
	BodyLimit int64
}

// Register adds the Messages routes. GET /v1/models is shared with the
// OpenAI dialect, which hands requests carrying anthropic-version to
// Models and Model.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST /v1/messages", h.handle(h.messages))
	mux.Handle("POST /v1/messages/count_tokens", h.handle(h.countTokens))
}

// Models serves GET /v1/models in Anthropic's list shape.
func (h *Handler) Models() http.Handler { return h.handle(h.listModels) }

// Model serves GET /v1/models/{model...} in Anthropic's shape.
func (h *Handler) Model() http.Handler { return h.handle(h.getModel) }

func (h *Handler) handle(fn httpx.HandlerFunc) http.Handler {
	return httpx.Handle(h.Log, WriteError, fn)
}

// authenticate reads the virtual key from x-api-key (what Claude Code and
// the API documentation send) or from Authorization: Bearer (what the
// TypeScript SDK sends its apiKey as, and Claude Code its auth token).
func (h *Handler) authenticate(r *http.Request) (*gateway.Principal, error) {
	key := r.Header.Get("X-Api-Key")
	if key == "" {
		key = httpx.BearerToken(r)
	}
	if key == "" {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key",
			Message: "x-api-key header is required"}
	}
	return h.GW.Authenticate(r.Context(), key)
}

func newCall(r *http.Request, p *gateway.Principal, endpoint, model string) *gateway.Call {
	return &gateway.Call{Principal: p, Endpoint: endpoint, Model: model, Project: r.Header.Get("X-Project-Id"),
		Purpose: r.Header.Get("X-Purpose"), ClientIP: httpx.ClientIP(r.Context())}
}

// setServedHeaders says which provider and model served the call, and the
// rate limits that applied.
func setServedHeaders(w http.ResponseWriter, s gateway.Served) {
	for _, kv := range s.Headers() {
		w.Header().Set(kv[0], kv[1])
	}
}

// Error types and statuses of the Messages API.
// https://platform.claude.com/docs/en/api/errors
const (
	errInvalidRequest = "invalid_request_error"
	errAuthentication = "authentication_error"
	errBilling        = "billing_error"
	errPermission     = "permission_error"
	errNotFound       = "not_found_error"
	errTooLarge       = "request_too_large"
	errRateLimit      = "rate_limit_error"
	errAPI            = "api_error"
	errTimeout        = "timeout_error"
	errOverloaded     = "overloaded_error"

	statusOverloaded = 529
)

// errorType gives the Messages API's error type and status for e.
func errorType(e *llmservice.Error) (string, int) {
	status := e.Kind.HTTPStatus()
	switch e.Kind {
	case llmservice.Invalid, llmservice.Conflict, llmservice.TooEarly:
		return errInvalidRequest, status
	case llmservice.Unauthenticated:
		return errAuthentication, status
	case llmservice.PaymentRequired:
		return errBilling, status
	case llmservice.Forbidden:
		return errPermission, status
	case llmservice.NotFound:
		return errNotFound, status
	case llmservice.TooLarge:
		return errTooLarge, status
	case llmservice.RateLimited, llmservice.BudgetExceeded:
		return errRateLimit, status
	case llmservice.UpstreamTimeout:
		return errTimeout, status
	case llmservice.Unavailable:
		return errOverloaded, statusOverloaded
	case llmservice.Upstream:
		if e.Status == statusOverloaded {
			return errOverloaded, statusOverloaded
		}
		return errAPI, status
	}
	return errAPI, status
}

// errorBody is {"type":"error","error":{"type","message"}}.
type errorBody struct {
	Type  string      `json:"type"`
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func newErrorBody(e *llmservice.Error) (errorBody, int) {
	typ, status := errorType(e)
	return errorBody{Type: "error", Error: errorDetail{Type: typ, Message: e.Message}}, status
}

// WriteError writes e in Anthropic's error shape, with the status the API
// uses for its type (529 for overloaded).
func WriteError(w http.ResponseWriter, r *http.Request, status int, e *llmservice.Error) {
	b, st := newErrorBody(e)
	if status == http.StatusInternalServerError || st == statusOverloaded {
		status = st
	}
	_ = httpx.WriteJSON(w, status, b)
}

// errorEvent is the data of a stream's error event.
func errorEvent(err error) []byte {
	b, _ := newErrorBody(llmservice.AsError(err))
	out, _ := json.Marshal(b)
	return out
}

// protocolHeaders are the client headers that travel with the raw request.
var protocolHeaders = []string{"Anthropic-Version", "Anthropic-Beta"}

func rawHeader(r *http.Request) map[string][]string {
	out := map[string][]string{}
	for _, k := range protocolHeaders {
		if v := r.Header.Values(k); len(v) > 0 {
			out[k] = v
		}
	}
	return out
}
