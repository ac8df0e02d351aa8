// Package gemini serves Google's Gemini API (generateContent,
// streamGenerateContent, countTokens and the model list) under both
// /v1beta and /v1, the API Gemini CLI and the @google/genai SDK speak.
//
// A call to a model on a Gemini upstream takes the gateway's pass-through
// lane: the body goes upstream as the client sent it (the model is in the
// path, which the adapter rewrites), and the answer comes back byte for
// byte. Any other upstream takes the translation lane: the request is
// decoded into the canonical types and the answer encoded back into a
// GenerateContentResponse, or a stream of them, here.
// https://ai.google.dev/api/generate-content
package gemini

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	wire "github.com/llmservice/llmservice/internal/wire/gemini"
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

// Register adds the Gemini routes. The model and the method share one
// path segment ("gemini-2.5-flash:generateContent"), which the mux cannot
// split, so one route per prefix reads both. GET /v1/models is the OpenAI
// dialect's; it hands requests carrying x-goog-api-key to Models and Model.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST /v1beta/models/{rest...}", h.handle(h.method))
	mux.Handle("POST /v1/models/{rest...}", h.handle(h.method))
	mux.Handle("GET /v1beta/models", h.handle(h.listModels))
	mux.Handle("GET /v1beta/models/{model...}", h.handle(h.getModel))
}

// Models serves GET /v1/models in Gemini's list shape.
func (h *Handler) Models() http.Handler { return h.handle(h.listModels) }

// Model serves GET /v1/models/{model...} in Gemini's shape.
func (h *Handler) Model() http.Handler { return h.handle(h.getModel) }

func (h *Handler) handle(fn httpx.HandlerFunc) http.Handler {
	return httpx.Handle(h.Log, WriteError, fn)
}

// method dispatches POST …/models/{model}:{method}.
func (h *Handler) method(w http.ResponseWriter, r *http.Request) error {
	rest := r.PathValue("rest")
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return &llmservice.Error{Kind: llmservice.NotFound, Message: "expected models/{model}:{method} in the path, got models/" + rest}
	}
	model, m := rest[:i], rest[i+1:]
	switch m {
	case opGenerate, opStream:
		return h.generate(w, r, model, m == opStream)
	case opCount:
		return h.countTokens(w, r, model)
	}
	return &llmservice.Error{Kind: llmservice.NotFound, Message: "method " + strconv.Quote(m) + " is not served; use generateContent, streamGenerateContent or countTokens"}
}

// authenticate reads the virtual key from x-goog-api-key (what the SDKs
// and Gemini CLI send), the key query parameter (the REST documentation's
// curl examples) or Authorization: Bearer.
func (h *Handler) authenticate(r *http.Request) (*gateway.Principal, error) {
	key := r.Header.Get("X-Goog-Api-Key")
	if key == "" {
		key = r.URL.Query().Get("key")
	}
	if key == "" {
		key = httpx.BearerToken(r)
	}
	if key == "" {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key",
			Message: "API key required: send it in the x-goog-api-key header or the key query parameter"}
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

// statusName gives the google.rpc.Code name Google's APIs pair with an
// HTTP status.
// https://cloud.google.com/apis/design/errors#handling_errors
func statusName(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return wire.StatusInvalidArgument
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return wire.StatusPermissionDenied
	case http.StatusNotFound:
		return wire.StatusNotFound
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusTooManyRequests:
		return wire.StatusResourceExhausted
	case 499:
		return "CANCELLED"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusServiceUnavailable:
		return wire.StatusUnavailable
	case http.StatusGatewayTimeout:
		return wire.StatusDeadlineExceeded
	}
	if status >= 500 {
		return wire.StatusInternal
	}
	return wire.StatusFailedPrecondition
}

func newErrorBody(status int, e *llmservice.Error) wire.ErrorResponse {
	return wire.ErrorResponse{Error: &wire.Status{Code: status, Message: e.Message, Status: statusName(status)}}
}

// WriteError writes e in Google's error shape,
// {"error":{"code","message","status"}}.
func WriteError(w http.ResponseWriter, r *http.Request, status int, e *llmservice.Error) {
	_ = httpx.WriteJSON(w, status, newErrorBody(status, e))
}

// errorJSON is an error as a stream element.
func errorJSON(err error) []byte {
	e := llmservice.AsError(err)
	b, _ := json.Marshal(newErrorBody(e.Kind.HTTPStatus(), e))
	return b
}
