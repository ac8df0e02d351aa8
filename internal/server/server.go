// Package server assembles the HTTP API: routes.go lists every path, the
// admin handlers live here one file per resource, and the middleware wraps
// it all.
package server

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/authguard"
	danthropic "github.com/llmservice/llmservice/internal/dialect/anthropic"
	dgemini "github.com/llmservice/llmservice/internal/dialect/gemini"
	dopenai "github.com/llmservice/llmservice/internal/dialect/openai"
	dresponses "github.com/llmservice/llmservice/internal/dialect/responses"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/openaihttp"
)

// Stores are the stores the admin API manages.
type Stores struct {
	Teams   llmservice.TeamStore
	Keys    llmservice.KeyStore
	Catalog llmservice.CatalogStore
	Usage   llmservice.UsageStore
	Groups  llmservice.ModelGroupStore
	Credits llmservice.CreditStore
	// Stats and Jobs serve the dashboard.
	Stats llmservice.UsageStatsStore
	Jobs  JobStore
}

// Flusher writes buffered usage, so that admin totals include the latest calls.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Registrar mounts one API (a seed service's dialect) on the mux.
type Registrar interface {
	Register(mux *http.ServeMux)
}

// Config holds the server's dependencies.
type Config struct {
	Gateway      *gateway.Gateway
	Stores       Stores
	Meter        Flusher
	AdminKeyHash string // hex SHA-256 of the admin key
	BodyLimit    int64
	// BodyBytesInFlight bounds the body bytes of all requests in flight
	// and MaxRequestsInFlight their number (0: no bound); a request
	// beyond either is answered 503 with Retry-After in its dialect.
	BodyBytesInFlight   int64
	MaxRequestsInFlight int
	// WriteTimeout cuts a client that takes nothing of the answer for
	// that long; every write moves the deadline on (0: none).
	WriteTimeout time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Dialects are the seed services' APIs, mounted beside the OpenAI one.
	Dialects []Registrar
	// Metrics serves /metrics when set.
	Metrics http.Handler
	// UI serves the dashboard under /ui/ when set.
	UI http.Handler
	// AuthGuard throttles failed authentications per client address;
	// nil throttles nothing.
	AuthGuard *authguard.Guard
	// Batches cancels batches as their API does; without it the
	// dashboard's cancel leaves a batch cancelling until the sweep.
	Batches BatchCanceller
	// Ready says why the replica should get no traffic (the usage
	// ledger is full, it is shutting down), or nil; /readyz answers it.
	Ready  func() error
	Logger *slog.Logger
	Now    func() time.Time
	// Responses keeps the Responses API's stored responses; nil keeps
	// them in memory.
	Responses dresponses.Store
}

// Server is the HTTP API.
type Server struct {
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	mux       *http.ServeMux
	openai    *dopenai.Handler
	anthropic *danthropic.Handler
	responses *dresponses.Handler
	gemini    *dgemini.Handler
	lim       *limits
}

// New builds the handler tree.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cfg.BodyLimit <= 0 {
		s.cfg.BodyLimit = 16 << 20
	}
	s.responses = &dresponses.Handler{GW: cfg.Gateway, Log: s.log, BodyLimit: s.cfg.BodyLimit, Store: cfg.Responses, Now: s.now}
	s.lim = &limits{maxRequests: int64(cfg.MaxRequestsInFlight), maxBytes: cfg.BodyBytesInFlight, bodyLimit: s.cfg.BodyLimit}
	s.anthropic = &danthropic.Handler{GW: cfg.Gateway, Log: s.log, BodyLimit: s.cfg.BodyLimit}
	s.gemini = &dgemini.Handler{GW: cfg.Gateway, Log: s.log, BodyLimit: s.cfg.BodyLimit}
	s.openai = &dopenai.Handler{GW: cfg.Gateway, Log: s.log, BodyLimit: s.cfg.BodyLimit, Now: func() int64 { return s.now().Unix() },
		ModelsBy: []dopenai.ModelsRoute{{Header: "Anthropic-Version", List: s.anthropic.Models(), Get: s.anthropic.Model()},
			{Header: "X-Goog-Api-Key", List: s.gemini.Models(), Get: s.gemini.Model()}}}
	s.routes()
	return s
}

// requestState is what the middleware keeps per request, in one
// allocation: the request's context (client address, refusal), the
// writers that wrap the response, and the body bytes charged to the
// in-flight budget. Nothing of it outlives the request's handler.
type requestState struct {
	ctx     httpx.RequestContext
	dw      deadlineWriter
	sw      statusWriter
	charged atomic.Int64
}

// ServeHTTP runs the middleware chain and the mux.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &requestState{}
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 128 {
		id = gateway.NewID("req_")
	}
	// The key is canonical already: assigning skips Set's canonicalization.
	w.Header()["X-Request-Id"] = []string{id}
	st.ctx = httpx.RequestContext{Context: r.Context(), IP: clientIP(r, s.cfg.TrustedProxies)}
	st.ctx.Refusal = s.lim.admitInto(r, &st.charged)
	defer s.lim.release(&st.charged)
	r = r.WithContext(&st.ctx)
	if s.cfg.WriteTimeout > 0 {
		st.dw = deadlineWriter{ResponseWriter: w, rc: *http.NewResponseController(w), timeout: s.cfg.WriteTimeout}
		w = &st.dw
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "path", r.URL.Path, "request_id", id, "panic", v)
			openaihttp.WriteError(w, r, http.StatusInternalServerError, &llmservice.Error{Kind: llmservice.Internal, Message: "internal error"})
		}
	}()
	s.guardAuth(w, r, &st.sw)
}

// handle wraps an OpenAI-shaped JSON handler.
func (s *Server) handle(fn httpx.HandlerFunc) http.Handler {
	return httpx.Handle(s.log, openaihttp.WriteError, fn)
}

// admin wraps an admin handler with the admin key check.
func (s *Server) admin(fn httpx.HandlerFunc) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		tok := httpx.BearerToken(r)
		if tok == "" {
			return &llmservice.Error{Kind: llmservice.Unauthenticated, Message: "admin API requires 'Authorization: Bearer <admin key>'"}
		}
		got := llmservice.HashSecret(tok)
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.AdminKeyHash)) != 1 {
			return &llmservice.Error{Kind: llmservice.Unauthenticated, Message: "invalid admin key"}
		}
		return fn(w, r)
	})
}

// healthz is liveness, public: it names nothing of the configuration
// (provider instances, hosts, versions); the admin API has those.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// readyz is readiness, for a load balancer: 503 while the replica should
// get no new calls. /healthz stays liveness (the process serves HTTP).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			return httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": err.Error()})
		}
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// notFound answers unknown paths in OpenAI's error shape. HEAD requests,
// which agents send as connectivity probes (HEAD /, HEAD /api/hello), get
// an empty 200.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	return &llmservice.Error{Kind: llmservice.NotFound, Message: "Unknown request URL: " + r.Method + " " + r.URL.Path}
}

// deployments shows the router's view of every host: health, in-flight
// calls, recent latency and error rate.
func (s *Server) deployments(w http.ResponseWriter, r *http.Request) error {
	gw := s.cfg.Gateway
	return httpx.WriteJSON(w, http.StatusOK, newList(gw.Router().States(gw.Hosts())))
}
