// Package stackfordevs serves the StackForDevs LLM Service API: bring-your-
// own provider keys (/v1/providers), completion logs and usage statistics
// (/v1/logs, /v1/stats). The OpenAPI document of the whole service
// (/openapi.json, /docs), which StackForDevs' reference links to, is
// internal/apidoc.
//
// StackForDevs authenticates every request with four headers: x-api-key and
// x-secret-key (a key and its secret from POST /admin/keys), x-tenant-id
// (the key's team) and x-project-id (a label kept with each call). Its
// completions (POST /v1/completions with messages) share the path with
// OpenAI's legacy completions and are served by the OpenAI dialect, which
// accepts the same headers; batches (/v1/batch*) live with the queue.
package stackfordevs

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/sfdhttp"
)

// Gateway is what this dialect needs from the core.
type Gateway interface {
	AuthenticateSecret(ctx context.Context, key, secret string) (*gateway.Principal, error)
}

// Credentials keeps teams' own provider keys (internal/byok).
type Credentials interface {
	Save(ctx context.Context, teamID, providerType, apiKey string) (*llmservice.ProviderCredential, error)
	List(ctx context.Context, teamID string) ([]*llmservice.ProviderCredential, error)
	Delete(ctx context.Context, teamID, providerType string) error
	// Provider returns the adapter that calls upstream with the team's key.
	Provider(ctx context.Context, teamID, providerType string) (llm.Provider, bool, error)
}

// Usage reads the usage ledger.
type Usage interface {
	FindUsageRecords(ctx context.Context, f llmservice.RecordFilter) ([]llmservice.UsageRecord, string, error)
	SumUsage(ctx context.Context, f llmservice.UsageFilter) ([]llmservice.UsageTotal, error)
}

// Handler serves the dialect.
type Handler struct {
	GW          Gateway
	Credentials Credentials
	Usage       Usage
	// Flush writes the usage the meter still buffers, so that logs and
	// stats include the calls just made.
	Flush     func(ctx context.Context) error
	Log       *slog.Logger
	BodyLimit int64
	// TestModels names the model POST /v1/providers/test calls for each
	// provider type; DefaultTestModels fills what it leaves out.
	TestModels map[string]string
	// TestTimeout bounds the provider test call (default 30s).
	TestTimeout time.Duration
	Now         func() time.Time
}

// DefaultTestModels are small, cheap models every account can call.
var DefaultTestModels = map[string]string{
	llmservice.CredentialOpenAI:    "gpt-4o-mini",
	llmservice.CredentialAnthropic: "claude-3-5-haiku-latest",
}

// Register mounts the dialect's routes.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST /v1/providers", h.handle(h.saveProvider))
	mux.Handle("GET /v1/providers", h.handle(h.listProviders))
	mux.Handle("GET /v1/providers/{providerType}", h.handle(h.getProvider))
	mux.Handle("DELETE /v1/providers/{providerType}", h.handle(h.deleteProvider))
	mux.Handle("POST /v1/providers/test", h.handle(h.testProvider))
	mux.Handle("GET /v1/logs/{tenant}/{project}", h.handle(h.logs))
	mux.Handle("GET /v1/stats/{tenant}/{project}", h.handle(h.stats))
}

func (h *Handler) handle(fn httpx.HandlerFunc) http.Handler {
	return httpx.Handle(h.Log, sfdhttp.WriteError, fn)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) authenticate(r *http.Request) (*sfdhttp.Caller, error) {
	return sfdhttp.Authenticate(r.Context(), h.GW, r)
}
