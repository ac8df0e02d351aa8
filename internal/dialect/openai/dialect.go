// Package openai serves the OpenAI-compatible API (/v1/chat/completions,
// /v1/completions, /v1/embeddings, /v1/models) that every SDK speaks.
package openai

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// Gateway is what this dialect needs from the core.
type Gateway interface {
	Authenticate(ctx context.Context, key string) (*gateway.Principal, error)
	Chat(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.Result, error)
	ChatStream(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.StreamResult, error)
	Embed(ctx context.Context, c *gateway.Call, req *llm.EmbedRequest) (*gateway.EmbedResult, error)
	Models(p *gateway.Principal) []gateway.ModelInfo
}

// Handler serves the dialect.
type Handler struct {
	GW        Gateway
	Log       *slog.Logger
	BodyLimit int64
	Now       func() int64 // unix seconds, for "created"
}

// Register adds the dialect's routes under prefix ("" for /v1/..., "/api/v1"
// for Athena's copy of chat completions).
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST /v1/chat/completions", h.handle(h.chat))
	mux.Handle("POST /v1/completions", h.handle(h.completions))
	mux.Handle("POST /v1/embeddings", h.handle(h.embeddings))
	mux.Handle("GET /v1/models", h.handle(h.models))
	mux.Handle("GET /v1/models/{model...}", h.handle(h.model))
}

func (h *Handler) handle(fn httpx.HandlerFunc) http.Handler {
	return httpx.Handle(h.Log, WriteError, func(w http.ResponseWriter, r *http.Request) error {
		err := fn(w, r)
		var re *gateway.RateError
		if errors.As(err, &re) {
			SetRateHeaders(w, re.Rate)
		}
		return err
	})
}

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

// ErrorBody renders e in OpenAI's error shape.
func ErrorBody(e *llmservice.Error) wire.ErrorBody {
	b := wire.ErrorBody{Error: wire.ErrorDetail{Message: e.Message, Type: errorType(e.Kind)}}
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

// WriteError writes e as {"error":{message,type,param,code}}.
func WriteError(w http.ResponseWriter, r *http.Request, status int, e *llmservice.Error) {
	_ = httpx.WriteJSON(w, status, ErrorBody(e))
}

// authenticate reads the bearer key.
func (h *Handler) authenticate(r *http.Request) (*gateway.Principal, error) {
	tok := httpx.BearerToken(r)
	if tok == "" {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key",
			Message: "You didn't provide an API key. Provide it in the Authorization header as 'Bearer <key>'."}
	}
	return h.GW.Authenticate(r.Context(), tok)
}

// setServedHeaders says which provider and model served the call, and the
// rate limits that applied.
func setServedHeaders(w http.ResponseWriter, s gateway.Served) {
	h := w.Header()
	h.Set("X-Llmservice-Provider", s.Instance)
	h.Set("X-Llmservice-Model", s.Model)
	h.Set("X-Llmservice-Attempts", strconv.Itoa(s.Attempts))
	SetRateHeaders(w, s.Rate)
}

// SetRateHeaders writes OpenAI's x-ratelimit-* headers for the tightest
// request and token limits.
func SetRateHeaders(w http.ResponseWriter, ri gateway.RateInfo) {
	h := w.Header()
	if s := ri.Requests; s != nil {
		h.Set("X-Ratelimit-Limit-Requests", strconv.FormatInt(s.Rule.Limit, 10))
		h.Set("X-Ratelimit-Remaining-Requests", strconv.FormatInt(s.Remaining, 10))
		h.Set("X-Ratelimit-Reset-Requests", s.ResetIn.Round(time.Millisecond).String())
	}
	if s := ri.Tokens; s != nil {
		h.Set("X-Ratelimit-Limit-Tokens", strconv.FormatInt(s.Rule.Limit, 10))
		h.Set("X-Ratelimit-Remaining-Tokens", strconv.FormatInt(s.Remaining, 10))
		h.Set("X-Ratelimit-Reset-Tokens", s.ResetIn.Round(time.Millisecond).String())
	}
}

func newCall(r *http.Request, p *gateway.Principal, endpoint, model string) *gateway.Call {
	return &gateway.Call{Principal: p, Endpoint: endpoint, Model: model, Project: r.Header.Get("X-Project-Id"),
		Purpose: r.Header.Get("X-Purpose"), ClientIP: httpx.ClientIP(r.Context())}
}
