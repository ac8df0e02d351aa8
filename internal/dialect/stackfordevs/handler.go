// Package stackfordevs serves the StackForDevs LLM Service API: bring-your-
// own provider keys (/v1/providers), completion logs and usage statistics
// (/v1/logs, /v1/stats), and the interactive API reference the service links
// to (/openapi.json, /docs) covering the whole llmservice API.
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
	mux.Handle("GET /openapi.json", http.HandlerFunc(serveOpenAPI))
	mux.Handle("GET /docs", http.HandlerFunc(serveDocs))
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

// Caller is an authenticated StackForDevs request.
type Caller struct {
	Principal *gateway.Principal
	Tenant    string
	Project   string
}

// Headers StackForDevs clients send on every request.
const (
	HeaderAPIKey    = "X-Api-Key"
	HeaderSecretKey = "X-Secret-Key"
	HeaderTenantID  = "X-Tenant-Id"
	HeaderProjectID = "X-Project-Id"
)

// Authenticate checks the four StackForDevs headers: the key and its
// secret, the tenant (which must be the key's team: anything else is 401,
// as for a wrong secret) and the project, and the key's IP allowlist.
func Authenticate(ctx context.Context, gw Gateway, r *http.Request) (*Caller, error) {
	key, secret := r.Header.Get(HeaderAPIKey), r.Header.Get(HeaderSecretKey)
	tenant, project := r.Header.Get(HeaderTenantID), r.Header.Get(HeaderProjectID)
	switch {
	case key == "":
		return nil, unauthenticated("missing_api_key", "x-api-key header is required")
	case secret == "":
		return nil, unauthenticated("missing_secret_key", "x-secret-key header is required")
	case tenant == "":
		return nil, unauthenticated("missing_tenant_id", "x-tenant-id header is required")
	}
	p, err := gw.AuthenticateSecret(ctx, key, secret)
	if err != nil {
		return nil, err
	}
	if tenant != p.Team.ID {
		return nil, unauthenticated("tenant_mismatch", "x-tenant-id does not match the tenant of this API key")
	}
	if err := p.CheckIP(httpx.ClientIP(ctx)); err != nil {
		return nil, err
	}
	if project == "" {
		return nil, &llmservice.Error{Kind: llmservice.Invalid, Param: "x-project-id", Code: "missing_project_id", Message: "x-project-id header is required"}
	}
	return &Caller{Principal: p, Tenant: tenant, Project: project}, nil
}

func unauthenticated(code, msg string) error {
	return &llmservice.Error{Kind: llmservice.Unauthenticated, Code: code, Message: msg}
}

func (h *Handler) authenticate(r *http.Request) (*Caller, error) {
	return Authenticate(r.Context(), h.GW, r)
}
