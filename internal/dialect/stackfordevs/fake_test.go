package stackfordevs_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/byok"
	"github.com/llmservice/llmservice/internal/dialect/stackfordevs"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/llm"
)

// Two tenants, each with one key and secret.
var tenants = map[string]struct{ key, secret string }{
	"acme":   {"sk-acme", "sks-acme"},
	"globex": {"sk-globex", "sks-globex"},
}

type fakeGateway struct{}

func (fakeGateway) AuthenticateSecret(ctx context.Context, key, secret string) (*gateway.Principal, error) {
	for team, c := range tenants {
		if c.key == key {
			if c.secret != secret {
				return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key", Message: "invalid API key or secret"}
			}
			return &gateway.Principal{Key: &llmservice.Key{ID: "key_" + team, TeamID: team}, Team: &llmservice.Team{ID: team}}, nil
		}
	}
	return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key", Message: "Incorrect API key provided"}
}

// fakeProvider answers Chat with err (nil: success) and records the model.
type fakeProvider struct {
	key   string
	err   error
	model string
}

func (p *fakeProvider) Chat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	p.model = req.Model
	if p.err != nil {
		return nil, p.err
	}
	return &llm.ChatResponse{Choices: []llm.Choice{{Message: llm.TextMessage("assistant", "p")}}}, nil
}

func (p *fakeProvider) ChatStream(ctx context.Context, req *llm.ChatRequest) (llm.Stream, error) {
	return nil, llmservice.Errorf(llmservice.Invalid, "no streams")
}

// fakeCredentials keeps keys in memory; ProviderErr makes the provider
// refuse calls.
type fakeCredentials struct {
	mu          sync.Mutex
	m           map[string]*llmservice.ProviderCredential
	keys        map[string]string
	ProviderErr error
	last        *fakeProvider
}

func (f *fakeCredentials) Save(ctx context.Context, team, typ, key string) (*llmservice.ProviderCredential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if key == "" {
		return nil, llmservice.InvalidParam("apiKey", "apiKey is required")
	}
	if f.m == nil {
		f.m, f.keys = map[string]*llmservice.ProviderCredential{}, map[string]string{}
	}
	now := time.Unix(1700000000, 0).UTC()
	c := &llmservice.ProviderCredential{TeamID: team, ProviderType: typ, Hint: byok.Mask(key), CreatedAt: now, UpdatedAt: now}
	if old, ok := f.m[team+"/"+typ]; ok {
		c.CreatedAt = old.CreatedAt
		c.UpdatedAt = now.Add(time.Second)
	}
	f.m[team+"/"+typ] = c
	f.keys[team+"/"+typ] = key
	return c, nil
}

func (f *fakeCredentials) List(ctx context.Context, team string) ([]*llmservice.ProviderCredential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*llmservice.ProviderCredential
	for _, c := range f.m {
		if c.TeamID == team {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProviderType < out[j].ProviderType })
	return out, nil
}

func (f *fakeCredentials) Delete(ctx context.Context, team, typ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.m[team+"/"+typ]; !ok {
		return llmservice.Errorf(llmservice.NotFound, "provider credential not found")
	}
	delete(f.m, team+"/"+typ)
	return nil
}

func (f *fakeCredentials) Provider(ctx context.Context, team, typ string) (llm.Provider, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key, ok := f.keys[team+"/"+typ]
	if !ok || f.m[team+"/"+typ] == nil {
		return nil, false, nil
	}
	f.last = &fakeProvider{key: key, err: f.ProviderErr}
	return f.last, true, nil
}

// fakeUsage serves fixed records and totals, and records the filters.
type fakeUsage struct {
	mu       sync.Mutex
	records  []llmservice.UsageRecord
	lastRecF llmservice.RecordFilter
	sums     []llmservice.UsageFilter
}

func (u *fakeUsage) FindUsageRecords(ctx context.Context, f llmservice.RecordFilter) ([]llmservice.UsageRecord, string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.lastRecF = f
	var out []llmservice.UsageRecord
	for _, r := range u.records {
		if r.TeamID == f.TeamID && (f.Project == "" || r.Project == f.Project) {
			out = append(out, r)
		}
	}
	next := ""
	if f.Limit > 0 && len(out) > f.Limit {
		out, next = out[:f.Limit], out[f.Limit-1].ID
	}
	return out, next, nil
}

func (u *fakeUsage) SumUsage(ctx context.Context, f llmservice.UsageFilter) ([]llmservice.UsageTotal, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.sums = append(u.sums, f)
	if f.GroupBy == "model" {
		return []llmservice.UsageTotal{
			{Group: "gpt-4", Requests: 3, Errors: 1, PromptTokens: 30, CompletionTokens: 12, TotalTokens: 42, CostUSD: 0.5, AvgLatencyMS: 100},
			{Group: "mock/echo", Requests: 1, PromptTokens: 2, CompletionTokens: 3, TotalTokens: 5, AvgLatencyMS: 3},
		}, nil
	}
	return []llmservice.UsageTotal{{Requests: 4, Errors: 1, PromptTokens: 32, CompletionTokens: 15, TotalTokens: 47, CostUSD: 0.5, AvgLatencyMS: 75.25}}, nil
}

type fixture struct {
	h       http.Handler
	creds   *fakeCredentials
	usage   *fakeUsage
	flushes int
}

func newFixture() *fixture {
	f := &fixture{creds: &fakeCredentials{}, usage: &fakeUsage{}}
	h := &stackfordevs.Handler{GW: fakeGateway{}, Credentials: f.creds, Usage: f.usage,
		Flush: func(ctx context.Context) error { f.flushes++; return nil },
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)), BodyLimit: 1 << 16}
	mux := http.NewServeMux()
	h.Register(mux)
	f.h = mux
	return f
}

// headers are a tenant's four StackForDevs headers.
func headers(tenant string) map[string]string {
	c := tenants[tenant]
	return map[string]string{"x-api-key": c.key, "x-secret-key": c.secret, "x-tenant-id": tenant, "x-project-id": "web"}
}

func (f *fixture) do(method, path string, h map[string]string, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	for k, v := range h {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}
