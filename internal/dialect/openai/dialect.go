// Package openai serves the OpenAI-compatible API (/v1/chat/completions,
// /v1/completions, /v1/embeddings, /v1/models) that every SDK speaks.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/openaihttp"
	"github.com/llmservice/llmservice/internal/sfdhttp"
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
	// ModelsBy serves GET /v1/models (and /v1/models/{id}) in another
	// dialect's shape when the request carries that dialect's header
	// (Anthropic's clients send anthropic-version): the path is shared,
	// and the first entry whose header is present answers.
	ModelsBy []ModelsRoute
}

// ModelsRoute is another dialect's model list, chosen by a header.
type ModelsRoute struct {
	Header    string
	List, Get http.Handler
}

// modelsRoute returns the route that claims r, or nil.
func (h *Handler) modelsRoute(r *http.Request) *ModelsRoute {
	for i := range h.ModelsBy {
		if r.Header.Get(h.ModelsBy[i].Header) != "" {
			return &h.ModelsBy[i]
		}
	}
	return nil
}

// Register adds the dialect's routes.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST /v1/chat/completions", h.handle(h.chat))
	mux.Handle("POST /v1/completions", h.handle(h.completionsOrChat))
	mux.Handle("POST /v1/embeddings", h.handle(h.embeddings))
	mux.Handle("GET /v1/models", h.handle(h.models))
	mux.Handle("GET /v1/models/{model...}", h.handle(h.model))
}

func (h *Handler) handle(fn httpx.HandlerFunc) http.Handler {
	return httpx.Handle(h.Log, openaihttp.WriteError, fn)
}

// secretAuthenticator is the gateway ability StackForDevs credentials need;
// it is optional so that test fakes of Gateway need not have it.
type secretAuthenticator = sfdhttp.SecretAuthenticator

// authenticate reads the bearer key or, when there is no Authorization
// header but an x-api-key one, either StackForDevs' four headers (key,
// secret, tenant, project: StackForDevs clients post their completions
// here) when a secret or tenant comes with it, or else the virtual key
// alone, as Anthropic's clients send it.
func (h *Handler) authenticate(r *http.Request) (*gateway.Principal, error) {
	if sfdhttp.Keyed(r) {
		if !sfdhttp.Present(r) {
			return h.GW.Authenticate(r.Context(), r.Header.Get(sfdhttp.HeaderAPIKey))
		}
		if sa, ok := h.GW.(secretAuthenticator); ok {
			c, err := sfdhttp.Authenticate(r.Context(), sa, r)
			if err != nil {
				return nil, err
			}
			return c.Principal, nil
		}
	}
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
	kv := [4][2]string{
		{"X-Llmservice-Provider", s.Instance},
		{"X-Llmservice-Model", s.HeaderModel()},
		{"X-Llmservice-Attempts", strconv.Itoa(s.Attempts)},
		{"X-Llmservice-Cache", s.Cache},
	}
	n := len(kv)
	if s.Cache == "" {
		n--
	}
	httpx.SetCanonical(w.Header(), kv[:n])
	openaihttp.SetRateHeaders(w, s.Rate)
}

// completionsOrChat serves POST /v1/completions. OpenAI's legacy prompt
// always gets a text_completion. Chat messages sent with StackForDevs'
// credentials (its completions share this path) get a chat.completion,
// the answer a client that sends chat messages parses
// (choices[0].message.content); with a bearer key they keep the
// text_completion that clients of this path have had so far.
func (h *Handler) completionsOrChat(w http.ResponseWriter, r *http.Request) error {
	if !sfdhttp.Present(r) {
		return h.completions(w, r)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.BodyLimit))
	// The body is put back as it was, with the read error (if any) at its
	// end, so that either handler decodes it and reports what is wrong.
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
	var shape map[string]json.RawMessage
	if err == nil && json.Unmarshal(body, &shape) == nil && len(shape["prompt"]) == 0 &&
		len(shape["messages"]) > 0 && !bytes.Equal(shape["messages"], []byte("null")) {
		if _, ok := shape["temperature"]; !ok {
			// StackForDevs documents a default temperature of 0.7, where
			// OpenAI's and Anthropic's own default is 1.
			shape["temperature"] = json.RawMessage("0.7")
			body, _ = json.Marshal(shape)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		return h.chat(w, r)
	}
	return h.completions(w, r)
}

// errReader returns err, or io.EOF when err is nil.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

func newCall(r *http.Request, p *gateway.Principal, endpoint, model string) *gateway.Call {
	c := &gateway.Call{Principal: p, Endpoint: endpoint, Model: model, Project: r.Header.Get("X-Project-Id"),
		Purpose: r.Header.Get("X-Purpose"), ClientIP: httpx.ClientIP(r.Context())}
	if sfdhttp.Keyed(r) {
		// StackForDevs' logs carry the prompt and the response ("Logs
		// include the prompt, response, ..."): on unless the team or the
		// server's configuration says otherwise.
		c.LogBodies = llmservice.LogBodiesFull
	}
	return c
}

// cacheableCall is newCall for the calls the response cache may answer
// (chat, completions, embeddings): it carries the client's cache directives.
func cacheableCall(r *http.Request, p *gateway.Principal, endpoint, model string) (*gateway.Call, error) {
	ask, err := gateway.ParseCacheAsk(r.Header.Get)
	if err != nil {
		return nil, err
	}
	c := newCall(r, p, endpoint, model)
	c.Cache = ask
	return c, nil
}
