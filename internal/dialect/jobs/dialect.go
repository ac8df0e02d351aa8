// Package jobs serves the jobs API of the SaaS LLM service seed: a client
// creates a job, makes LLM calls within it (by model group, plain or
// streamed), and completes it; a completed job costs its team one credit,
// however many calls it made. Errors use FastAPI's {"detail": ...} body.
package jobs

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/config"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
)

// Gateway is what this dialect needs from the core.
type Gateway interface {
	Authenticate(ctx context.Context, key string) (*gateway.Principal, error)
	ModelGroup(name string) (*llmservice.ModelGroup, bool)
	Resolve(name string) (*gateway.Plan, error)
	Instance(name string) (*gateway.Instance, bool)
	Chat(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.Result, error)
	ChatStream(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.StreamResult, error)
}

// Handler serves the jobs API.
type Handler struct {
	GW        Gateway
	Jobs      llmservice.CreditJobStore
	Log       *slog.Logger
	BodyLimit int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Register mounts the API under /api/jobs.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST /api/jobs/create", h.handle(h.create))
	mux.Handle("GET /api/jobs/{job_id}", h.handle(h.get))
	mux.Handle("POST /api/jobs/{job_id}/llm-call", h.handle(h.call))
	mux.Handle("POST /api/jobs/{job_id}/llm-call-stream", h.handle(h.callStream))
	mux.Handle("POST /api/jobs/{job_id}/complete", h.handle(h.complete))
}

func (h *Handler) handle(fn httpx.HandlerFunc) http.Handler {
	return httpx.Handle(h.Log, WriteError, fn)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// authenticate reads the virtual key from "Authorization: Bearer <key>".
func (h *Handler) authenticate(r *http.Request) (*gateway.Principal, error) {
	tok := httpx.BearerToken(r)
	if tok == "" {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key",
			Message: "Missing virtual key: send it in the Authorization header as 'Bearer sk-...'"}
	}
	return h.GW.Authenticate(r.Context(), tok)
}

// readBody reads at most BodyLimit bytes.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := h.BodyLimit
	if limit <= 0 {
		limit = config.DefaultBodyLimit
	}
	b, err := httpx.ReadBody(w, r, limit)
	switch llmservice.ErrorKind(err) {
	case llmservice.TooLarge: // in the seed's capitalized words
		return nil, llmservice.Errorf(llmservice.TooLarge, "Request body is larger than the limit of %d bytes", limit)
	case llmservice.Invalid:
		return nil, llmservice.Errorf(llmservice.Invalid, "Could not read the request body")
	}
	return b, err
}

// errorStatus is the jobs API's status for each kind. The seed documents
// 500 for every failed LLM call ("LLM call failed"), so upstream errors,
// timeouts and unavailable models all answer 500 here, not 502/503/504.
func errorStatus(k llmservice.Kind) int {
	switch k {
	case llmservice.Invalid:
		return http.StatusUnprocessableEntity // FastAPI's validation status
	case llmservice.Upstream, llmservice.UpstreamTimeout, llmservice.Unavailable, llmservice.Internal:
		return http.StatusInternalServerError
	}
	return k.HTTPStatus()
}

// ErrorBody returns FastAPI's body for e: {"detail": "..."}, or for a
// validation error {"detail": [{"loc", "msg", "type"}, ...]}.
func ErrorBody(e *llmservice.Error) any {
	var ve *ValidationError
	switch {
	case errors.As(e.Err, &ve):
		return map[string]any{"detail": ve.Errors}
	case e.Kind == llmservice.Invalid && e.Param != "":
		return map[string]any{"detail": []FieldError{{Loc: []any{"body", e.Param}, Msg: e.Message, Type: "value_error"}}}
	case e.Kind == llmservice.Internal:
		return map[string]any{"detail": "Internal server error"}
	case e.Kind == llmservice.Upstream || e.Kind == llmservice.UpstreamTimeout || e.Kind == llmservice.Unavailable:
		return map[string]any{"detail": "LLM call failed: " + failureText(e)}
	}
	return map[string]any{"detail": e.Message}
}

// failureText is e's message and, when e wraps the error of the last
// attempt (the router's "no available hosts"), that error's message too:
// it is client-safe, and it says what actually went wrong.
func failureText(e *llmservice.Error) string {
	var last *llmservice.Error
	if errors.As(e.Err, &last) && last.Message != "" && last.Message != e.Message && last.Kind != llmservice.Internal {
		return e.Message + " (last error: " + last.Message + ")"
	}
	return e.Message
}

// WriteError writes e in FastAPI's shape with the jobs API's own status
// (errorStatus), whatever status it is given.
var WriteError = httpx.Restatus(func(e *llmservice.Error) int { return errorStatus(e.Kind) }, writeErrorBody)

// writeErrorBody writes e in FastAPI's shape with status.
func writeErrorBody(w http.ResponseWriter, r *http.Request, status int, e *llmservice.Error) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	_ = httpx.WriteJSON(w, status, ErrorBody(e))
}
