package gateway

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/pricing"
)

// target is one public model: its deployments and its catalog settings.
type target struct {
	Public      string
	Entry       *llmservice.Model // nil when resolved without the catalog
	Deployments []*hostpick.Deployment
	Strategy    hostpick.Strategy
	// Price, when set, is the catalog's price for every deployment.
	Price *pricing.Price
}

// Plan is what a requested name resolves to: the primary model and, for a
// model group, its fallbacks in order.
type Plan struct {
	Public  string // the name the caller used
	Group   *llmservice.ModelGroup
	Targets []*target
	// MaxInputPerTok and MaxOutputPerTok are the dearest prices among all
	// deployments, in nano-dollars per token: budget reservations use them
	// so that no fallback can cost more than what was held.
	MaxInputPerTok, MaxOutputPerTok float64
	tiers                           [][]*hostpick.Deployment
	strategy                        hostpick.Strategy
}

// catalog is an immutable snapshot of the catalog and model groups; plans
// built from it are cached until the next reload. Plans of catalog and
// group names are as many as the operator made; plans of other names
// ("instance/model", well-known prefixes) are the client's choice, so
// their cache is bounded.
type catalog struct {
	models map[string]*llmservice.Model
	groups map[string]*llmservice.ModelGroup
	plans  sync.Map // catalog or group name -> *Plan
	adhoc  boundedCache[*Plan]
}

// maxAdhocPlans bounds the plans cached for names outside the catalog.
const maxAdhocPlans = 1024

// boundedCache is a concurrent map that holds at most max entries: when
// full, it starts over empty. Reads take no lock; a client cycling through
// new names costs the others a rebuild of what they use, never memory.
type boundedCache[V any] struct {
	m atomic.Pointer[sync.Map]
	n atomic.Int64
}

func (c *boundedCache[V]) load(k string) (V, bool) {
	var zero V
	m := c.m.Load()
	if m == nil {
		return zero, false
	}
	v, ok := m.Load(k)
	if !ok {
		return zero, false
	}
	return v.(V), true
}

func (c *boundedCache[V]) store(k string, v V, max int64) {
	m := c.m.Load()
	if m == nil || c.n.Load() >= max {
		fresh := new(sync.Map)
		if c.m.CompareAndSwap(m, fresh) {
			c.n.Store(0)
		}
		m = c.m.Load()
	}
	if _, loaded := m.LoadOrStore(k, v); !loaded {
		c.n.Add(1)
	}
}

// len reports how many entries the cache holds (for tests).
func (c *boundedCache[V]) len() int64 { return c.n.Load() }

type catalogCache struct {
	p atomic.Pointer[catalog]

	// Loads run at once (an admin write's, the bus's, the refresh's): the
	// one that started last wins, so an older snapshot that a slow load
	// read before a write cannot replace the newer one stored meanwhile.
	started atomic.Uint64
	mu      sync.Mutex
	stored  uint64 // the start number of the load in p
}

// ReloadCatalog reads the catalog and model groups into memory; admin
// changes call it, so requests never read them from the database.
func (g *Gateway) ReloadCatalog(ctx context.Context) error {
	if err := g.loadCatalog(ctx); err != nil {
		return err
	}
	g.announce("catalog")
	return nil
}

func (g *Gateway) loadCatalog(ctx context.Context) error {
	n := g.catalog.started.Add(1)
	ms, err := g.stores.Catalog.FindModels(ctx)
	if err != nil {
		return fmt.Errorf("load catalog: %w", err)
	}
	c := &catalog{models: make(map[string]*llmservice.Model, len(ms)), groups: map[string]*llmservice.ModelGroup{}}
	for _, e := range ms {
		c.models[e.Name] = e
	}
	if g.stores.Groups != nil {
		gs, err := g.stores.Groups.FindModelGroups(ctx)
		if err != nil {
			return fmt.Errorf("load model groups: %w", err)
		}
		for _, mg := range gs {
			c.groups[mg.Name] = mg
		}
	}
	g.catalog.mu.Lock()
	defer g.catalog.mu.Unlock()
	if n > g.catalog.stored {
		g.catalog.p.Store(c)
		g.catalog.stored = n
	}
	return nil
}

// CatalogEntries returns the cached catalog.
func (g *Gateway) CatalogEntries() map[string]*llmservice.Model {
	if c := g.catalog.p.Load(); c != nil {
		return c.models
	}
	return nil
}

// ModelGroup returns a cached model group.
func (g *Gateway) ModelGroup(name string) (*llmservice.ModelGroup, bool) {
	c := g.catalog.p.Load()
	if c == nil {
		return nil, false
	}
	mg, ok := c.groups[name]
	return mg, ok
}

// wellKnown maps model name prefixes to the env-configured instance that
// serves them, so that "gpt-4o" works without a catalog entry.
var wellKnown = []struct{ prefix, instance string }{
	{"gpt-", "openai"}, {"chatgpt-", "openai"}, {"o1", "openai"}, {"o3", "openai"}, {"o4", "openai"},
	{"text-embedding-", "openai"}, {"davinci-", "openai"}, {"babbage-", "openai"}, {"omni-moderation", "openai"},
	{"claude-", "anthropic"},
	{"gemini-", "gemini"}, {"text-embedding-004", "gemini"}, {"gemma-", "gemini"},
}

// Resolve maps a requested name to a plan: a model group first, then a
// catalog entry, then "instance/model", then well-known prefixes.
func (g *Gateway) Resolve(name string) (*Plan, error) {
	if name == "" {
		return nil, llmservice.InvalidParam("model", "model is required")
	}
	if err := CheckModel("model", name); err != nil {
		return nil, err
	}
	c := g.catalog.p.Load()
	if p, ok := c.plans.Load(name); ok {
		return p.(*Plan), nil
	}
	if p, ok := c.adhoc.load(name); ok {
		return p, nil
	}
	p := &Plan{Public: name}
	if mg, ok := c.groups[name]; ok {
		p.Group = mg
		p.strategy = hostpick.Strategy(mg.Strategy)
		for _, m := range mg.Models {
			t, err := g.resolveModel(c, m)
			if err != nil {
				return nil, &llmservice.Error{Kind: llmservice.Unavailable, Code: "model_group_misconfigured",
					Message: fmt.Sprintf("model group '%s' lists '%s', which cannot be served: %s", name, m, llmservice.AsError(err).Message)}
			}
			p.Targets = append(p.Targets, t)
		}
	} else {
		t, err := g.resolveModel(c, name)
		if err != nil {
			return nil, err
		}
		p.Targets = []*target{t}
		p.strategy = t.Strategy
	}
	for _, t := range p.Targets {
		p.tiers = append(p.tiers, t.Deployments)
		for _, d := range t.Deployments {
			pr, _ := t.price(g, d)
			p.MaxInputPerTok = max(p.MaxInputPerTok, pr.InputPerMTok*1e3)
			p.MaxOutputPerTok = max(p.MaxOutputPerTok, pr.OutputPerMTok*1e3)
		}
	}
	if _, ok := c.models[name]; ok || p.Group != nil {
		c.plans.Store(name, p)
	} else {
		c.adhoc.store(name, p, maxAdhocPlans)
	}
	return p, nil
}

func (g *Gateway) resolveModel(c *catalog, name string) (*target, error) {
	if e, ok := c.models[name]; ok {
		return g.catalogTarget(name, e)
	}
	if i := strings.IndexByte(name, '/'); i > 0 && i+1 < len(name) {
		if in, ok := g.instances[name[:i]]; ok {
			return &target{Public: name, Deployments: g.instanceDeployments(in, name[i+1:], 1, 0)}, nil
		}
	}
	best := -1
	for i, w := range wellKnown {
		if strings.HasPrefix(name, w.prefix) && (best < 0 || len(w.prefix) > len(wellKnown[best].prefix)) {
			best = i
		}
	}
	if best >= 0 {
		inst := wellKnown[best].instance
		if in, ok := g.instances[inst]; ok {
			return &target{Public: name, Deployments: g.instanceDeployments(in, name, 1, 0)}, nil
		}
		return nil, &llmservice.Error{Kind: llmservice.NotFound, Param: "model", Code: "model_not_found",
			Message: fmt.Sprintf("The model '%s' is served by provider '%s', which is not configured on this gateway.", name, inst)}
	}
	return nil, &llmservice.Error{Kind: llmservice.NotFound, Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("The model '%s' does not exist or you do not have access to it.", name)}
}

func (g *Gateway) catalogTarget(name string, e *llmservice.Model) (*target, error) {
	t := &target{Public: name, Entry: e, Strategy: hostpick.Strategy(e.Strategy)}
	deps := e.Deployments
	if len(deps) == 0 {
		deps = []llmservice.Deployment{{Provider: e.Provider, UpstreamModel: e.UpstreamModel}}
	}
	for _, d := range deps {
		in, ok := g.instances[d.Provider]
		if !ok {
			return nil, &llmservice.Error{Kind: llmservice.Unavailable, Code: "provider_not_configured",
				Message: fmt.Sprintf("model '%s' is mapped to provider '%s', which is not configured", name, d.Provider)}
		}
		up := d.UpstreamModel
		if up == "" {
			up = e.Upstream()
		}
		t.Deployments = append(t.Deployments, g.instanceDeployments(in, up, d.Weight, d.Priority)...)
	}
	if e.InputPerMTok != nil || e.OutputPerMTok != nil {
		// Catalog prices override the embedded ones for every deployment of
		// the entry: what the operator charges is what counts.
		p := pricing.Price{}
		if e.InputPerMTok != nil {
			p.InputPerMTok = *e.InputPerMTok
		}
		if e.OutputPerMTok != nil {
			p.OutputPerMTok = *e.OutputPerMTok
		}
		t.Price = &p
	}
	return t, nil
}

// instanceDeployments returns one deployment per host of an instance. The
// ID names the host, not the model: the router keeps health per ID, and a
// host that refuses connections does so for every model. IDs are stable, so
// what the router learnt survives a catalog reload.
func (g *Gateway) instanceDeployments(in *Instance, model string, weight, priority int) []*hostpick.Deployment {
	out := make([]*hostpick.Deployment, len(in.Hosts))
	for i, h := range in.Hosts {
		id := in.Name
		if len(in.Hosts) > 1 {
			id = in.Name + "#" + strconv.Itoa(i+1)
		}
		out[i] = &hostpick.Deployment{ID: id, Instance: in.Name, Model: model, Provider: h, Weight: weight, Priority: priority}
	}
	return out
}

// price returns the price of a call of t served by d: the catalog's
// input and output prices or else the price table's, then the catalog's
// cache prices over either, and the family's cache multipliers for what is
// still unknown (relative to the catalog's input price when it set one).
func (t *target) price(g *Gateway, d *hostpick.Deployment) (pricing.Price, bool) {
	p, ok := t.basePrice(g, d)
	if e := t.Entry; e != nil && (e.CacheReadPerMTok != nil || e.CacheWritePerMTok != nil) {
		if e.CacheReadPerMTok != nil {
			p.CacheReadPerMTok = *e.CacheReadPerMTok
		}
		if e.CacheWritePerMTok != nil {
			p.CacheWritePerMTok = *e.CacheWritePerMTok
		}
		ok = true
	}
	return p.WithFamilyDefaults(g.instances[d.Instance].Family), ok
}

// basePrice is the catalog's price of t, or the price table's for d.
func (t *target) basePrice(g *Gateway, d *hostpick.Deployment) (pricing.Price, bool) {
	if t.Price != nil {
		return *t.Price, true
	}
	// pricing.Lookup caches by model name itself, bounded; a cache here
	// keyed by "instance/model" grew with every name a client made up.
	return pricing.Lookup(g.instances[d.Instance].Family, d.Model)
}

// targetOf returns the target of the plan a deployment belongs to. It
// compares deployments, not their IDs: an ID names a host, which two
// models of a group may share.
func (p *Plan) targetOf(d *hostpick.Deployment) *target {
	for _, t := range p.Targets {
		for _, x := range t.Deployments {
			if x == d {
				return t
			}
		}
	}
	return p.Targets[0]
}
