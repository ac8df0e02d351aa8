package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/pricing"
)

// Target is where a public model name is served.
type Target struct {
	Public   string // the name the caller used
	Instance *Instance
	Upstream string // the model id sent upstream
	Entry    *llmservice.Model
	Price    pricing.Price
	HasPrice bool
}

type catalogCache struct {
	m atomic.Pointer[map[string]*llmservice.Model]
}

// ReloadCatalog reads the catalog into memory; admin changes call it so that
// the next request sees them without a database read per request.
func (g *Gateway) ReloadCatalog(ctx context.Context) error {
	ms, err := g.stores.Catalog.FindModels(ctx)
	if err != nil {
		return fmt.Errorf("load catalog: %w", err)
	}
	m := make(map[string]*llmservice.Model, len(ms))
	for _, e := range ms {
		m[e.Name] = e
	}
	g.catalog.m.Store(&m)
	return nil
}

// CatalogEntries returns the cached catalog.
func (g *Gateway) CatalogEntries() map[string]*llmservice.Model {
	if p := g.catalog.m.Load(); p != nil {
		return *p
	}
	return nil
}

// wellKnown maps model name prefixes to the env-configured instance that
// serves them, so that "gpt-4o" works without a catalog entry.
var wellKnown = []struct{ prefix, instance string }{
	{"gpt-", "openai"}, {"chatgpt-", "openai"}, {"o1", "openai"}, {"o3", "openai"}, {"o4", "openai"},
	{"text-embedding-", "openai"}, {"davinci-", "openai"}, {"babbage-", "openai"}, {"omni-moderation", "openai"},
	{"claude-", "anthropic"},
	{"gemini-", "gemini"}, {"text-embedding-004", "gemini"}, {"gemma-", "gemini"},
}

// Resolve maps a public model name to a target: a catalog entry first, then
// "instance/model", then well-known prefixes.
func (g *Gateway) Resolve(model string) (*Target, error) {
	if model == "" {
		return nil, llmservice.InvalidParam("model", "model is required")
	}
	if e, ok := g.CatalogEntries()[model]; ok {
		in, ok := g.instances[e.Provider]
		if !ok {
			return nil, &llmservice.Error{Kind: llmservice.Unavailable, Code: "provider_not_configured",
				Message: fmt.Sprintf("model '%s' is mapped to provider '%s', which is not configured", model, e.Provider)}
		}
		return g.target(model, in, e.Upstream(), e), nil
	}
	if i := strings.IndexByte(model, '/'); i > 0 {
		if in, ok := g.instances[model[:i]]; ok && i+1 < len(model) {
			return g.target(model, in, model[i+1:], nil), nil
		}
	}
	best := -1
	for i, w := range wellKnown {
		if strings.HasPrefix(model, w.prefix) && (best < 0 || len(w.prefix) > len(wellKnown[best].prefix)) {
			best = i
		}
	}
	if best >= 0 {
		name := wellKnown[best].instance
		if in, ok := g.instances[name]; ok {
			return g.target(model, in, model, nil), nil
		}
		return nil, &llmservice.Error{Kind: llmservice.NotFound, Param: "model", Code: "model_not_found",
			Message: fmt.Sprintf("The model '%s' is served by provider '%s', which is not configured on this gateway.", model, name)}
	}
	return nil, &llmservice.Error{Kind: llmservice.NotFound, Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("The model '%s' does not exist or you do not have access to it.", model)}
}

func (g *Gateway) target(public string, in *Instance, upstream string, e *llmservice.Model) *Target {
	t := &Target{Public: public, Instance: in, Upstream: upstream, Entry: e}
	t.Price, t.HasPrice = pricing.Lookup(in.Family, upstream)
	if e != nil && (e.InputPerMTok != nil || e.OutputPerMTok != nil) {
		if e.InputPerMTok != nil {
			t.Price.InputPerMTok = *e.InputPerMTok
		}
		if e.OutputPerMTok != nil {
			t.Price.OutputPerMTok = *e.OutputPerMTok
		}
		t.Price.CacheReadPerMTok = 0
		t.HasPrice = true
	}
	return t
}
