// Package athena serves the API of the Athena LLM Service: OpenAI-style chat
// completions under /api/v1 that also carry a top-level "content", persisted
// conversations, usage and models, and the GraphQL endpoint the service
// calls its primary integration surface. REST and GraphQL share one set of
// operations (ops.go), so both answer the same data.
//
// Athena documents no error body, so errors use OpenAI's
// {"error":{message,type,param,code}}, which its users' clients already
// understand.
package athena

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/openaihttp"
)

// Gateway is what this dialect needs from the core.
type Gateway interface {
	Authenticate(ctx context.Context, key string) (*gateway.Principal, error)
	Chat(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.Result, error)
	ChatStream(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.StreamResult, error)
	Models(p *gateway.Principal) []gateway.ModelInfo
	CatalogEntries() map[string]*llmservice.Model
	// Resolve and Instance find a model's context window.
	Resolve(name string) (*gateway.Plan, error)
	Instance(name string) (*gateway.Instance, bool)
}

// UsageSource sums the usage ledger.
type UsageSource interface {
	SumUsage(ctx context.Context, f llmservice.UsageFilter) ([]llmservice.UsageTotal, error)
}

// Handler serves the dialect.
type Handler struct {
	GW    Gateway
	Store llmservice.ConversationStore
	Usage UsageSource
	// Flush, when set, writes the usage the meter still buffers, so that a
	// usage report includes the calls just made.
	Flush     func(ctx context.Context) error
	Log       *slog.Logger
	BodyLimit int64
	// DefaultContextWindow applies to models whose window neither the
	// catalog nor the price table knows (default 8192).
	DefaultContextWindow int
	Now                  func() time.Time

	schemaOnce sync.Once
	schema     *graphql.Schema
}

// Register mounts the REST API and GraphQL.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST /api/v1/chat/completions", h.handle(h.chat))
	mux.Handle("POST /api/v1/conversations", h.handle(h.createConversation))
	mux.Handle("GET /api/v1/conversations", h.handle(h.listConversations))
	mux.Handle("GET /api/v1/conversations/{id}", h.handle(h.getConversation))
	mux.Handle("DELETE /api/v1/conversations/{id}", h.handle(h.deleteConversation))
	mux.Handle("POST /api/v1/conversations/{id}/messages", h.handle(h.sendMessage))
	mux.Handle("GET /api/v1/models", h.handle(h.models))
	mux.Handle("GET /api/v1/usage", h.handle(h.usage))
	mux.Handle("POST /graphql", http.HandlerFunc(h.graphQL))
	mux.Handle("GET /graphql", http.HandlerFunc(h.playground))
}

func (h *Handler) handle(fn httpx.HandlerFunc) http.Handler {
	return httpx.Handle(h.Log, openaihttp.WriteError, func(w http.ResponseWriter, r *http.Request) error {
		err := fn(w, r)
		var re *gateway.RateError
		if errors.As(err, &re) {
			openaihttp.SetRateHeaders(w, re.Rate)
		}
		return err
	})
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// caller is an authenticated request: who calls, and the ledger labels
// that travel with every call it makes.
type caller struct {
	p       *gateway.Principal
	project string
	purpose string
	// ask is what the client asked of the response cache (askErr when its
	// headers do not parse), offered to every model call of the request.
	ask    *gateway.CacheAsk
	askErr error
	// cached collects the cache states of a GraphQL document's model
	// calls, which share one response header.
	mu     sync.Mutex
	cached []string
}

// authenticate reads the bearer key and the ledger labels of r.
func (h *Handler) authenticate(r *http.Request) (*caller, error) {
	tok := httpx.BearerToken(r)
	if tok == "" {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key",
			Message: "You didn't provide an API key. Provide it in the Authorization header as 'Bearer <key>'."}
	}
	p, err := h.GW.Authenticate(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	c := &caller{p: p, project: r.Header.Get("X-Project-Id"), purpose: r.Header.Get("X-Purpose")}
	// A bad x-llmservice-cache-ttl fails the model calls only: listing
	// models or conversations does not read it.
	c.ask, c.askErr = gateway.ParseCacheAsk(r.Header.Get)
	return c, nil
}

// call describes one model call of c for admission and the ledger. The
// conversation's metadata labels it when the request headers do not. Every
// model call of this API may be answered by the response cache: a
// conversation turn's request holds the whole history sent (system
// message, kept turns, the new message), so the key covers the state the
// answer depends on.
func (c *caller) call(ctx context.Context, model string, meta *labels) (*gateway.Call, error) {
	if c.askErr != nil {
		return nil, c.askErr
	}
	gc := &gateway.Call{Principal: c.p, Endpoint: "chat", Model: model, Project: c.project, Purpose: c.purpose,
		ClientIP: httpx.ClientIP(ctx), Cache: c.ask}
	if meta != nil {
		if gc.Project == "" {
			gc.Project, gc.Params.Project = meta.Project, "metadata.project"
		}
		if gc.Purpose == "" {
			gc.Purpose, gc.Params.Purpose = meta.Purpose, "metadata.purpose"
		}
	}
	return gc, nil
}

// noteCache keeps the cache state of one of a GraphQL document's calls.
func (c *caller) noteCache(s gateway.Served) {
	if s.Cache == "" {
		return
	}
	c.mu.Lock()
	c.cached = append(c.cached, s.Cache)
	c.mu.Unlock()
}

// cacheHeader is x-llmservice-cache for a GraphQL document: one state per
// model call the cache applied to, in the order they were made ("miss,
// hit"); "" when it applied to none.
func (c *caller) cacheHeader() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.cached, ", ")
}

// setServedHeaders says which provider and model served the call, the
// rate limits that applied and the response cache's state, as the
// OpenAI-compatible API does.
func setServedHeaders(w http.ResponseWriter, s gateway.Served) {
	h := w.Header()
	h.Set("X-Llmservice-Provider", s.Instance)
	h.Set("X-Llmservice-Model", s.HeaderModel())
	h.Set("X-Llmservice-Attempts", strconv.Itoa(s.Attempts))
	openaihttp.SetRateHeaders(w, s.Rate)
	if s.Cache != "" {
		h.Set("X-Llmservice-Cache", s.Cache)
	}
}
