// Package gateway is the core of llmservice: it authenticates a caller,
// admits the call (access, rate limits, budget), resolves the model to
// deployments, calls them with retries and fallbacks, and settles the call
// in the usage ledger. It knows nothing of HTTP paths or wire formats:
// dialects hand it canonical requests, adapters serve them.
package gateway

import (
	"context"
	"crypto/rand"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/budget"
	"github.com/llmservice/llmservice/internal/cache"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/limit"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/outage"
)

// Instance is one configured provider: a name callers and the catalog refer
// to, the wire protocol family it speaks, and one adapter per host.
type Instance struct {
	Name   string
	Family string // openai, openai-compatible, anthropic, gemini, ollama, mock
	Hosts  []llm.Provider
	// Models are upstream model ids the instance advertises in /v1/models
	// as "<name>/<model>" (optional).
	Models []string
}

// Meter takes usage records off the hot path; Record must not block on I/O.
type Meter interface {
	Record(rec llmservice.UsageRecord)
}

// TokenVerifier checks a signed access token (a JWT from the Django-style
// login API) and returns the ID of the key it stands for.
type TokenVerifier interface {
	// Verify returns Unauthenticated for a bad, tampered or expired token.
	Verify(ctx context.Context, token string) (keyID string, err error)
}

// TeamProviders supplies a team's own provider credentials (bring your own
// key): when it returns a provider for a family, that team's calls to
// deployments of that family use it instead of the gateway's.
type TeamProviders interface {
	Provider(ctx context.Context, teamID, family string) (llm.Provider, bool, error)
}

// Stores is what the gateway reads. Reads happen on cache misses only.
type Stores struct {
	Keys interface {
		FindKeyByHash(ctx context.Context, hash string) (*llmservice.Key, error)
		FindKeyByID(ctx context.Context, id string) (*llmservice.Key, error)
	}
	Teams interface {
		FindTeamByID(ctx context.Context, id string) (*llmservice.Team, error)
	}
	Catalog interface {
		FindModels(ctx context.Context) ([]*llmservice.Model, error)
	}
	Groups interface {
		FindModelGroups(ctx context.Context) ([]*llmservice.ModelGroup, error)
	}
}

// Budgets holds and books spend against USD budgets: budget.Accountant
// keeps the figures in one replica's memory, budget.Redis shares them
// between replicas.
type Budgets interface {
	// Reserve holds amount in every scope or in none (BudgetExceeded).
	Reserve(ctx context.Context, scopes []budget.Scope, amount llmservice.Nanos) (*budget.Reservation, error)
	Available(ctx context.Context, s budget.Scope) (llmservice.Nanos, error)
	Status(ctx context.Context, s budget.Scope) (budget.Status, error)
	// Forget makes the next call reload the scope's spend from the ledger.
	Forget(key string)
}

var (
	_ Budgets = (*budget.Accountant)(nil)
	_ Budgets = (*budget.Redis)(nil)
)

// Defaults are the limits of teams and keys that set none.
type Defaults struct {
	Team llmservice.Limits
	Key  llmservice.Limits
}

// Config wires a Gateway.
type Config struct {
	Instances []Instance
	Stores    Stores
	Meter     Meter
	Logger    *slog.Logger
	// Router runs attempts; nil means a router with default policy.
	Router *hostpick.Router
	// Limiter enforces rate limits; nil means an in-memory one.
	Limiter limit.Limiter
	// Spend reads a scope's spend from the ledger for budgets; nil disables
	// budgets unless Budgets is set.
	Spend budget.SpendSource
	// Budgets keeps budget spend; nil means an in-memory one over Spend.
	Budgets  Budgets
	Defaults Defaults
	// Tokens, when set, lets JWT access tokens authenticate like keys.
	Tokens TokenVerifier
	// TeamProviders, when set, routes a team's calls through its own
	// provider credentials.
	TeamProviders TeamProviders
	// LogBodies is the default of teams' log_bodies: "off", "full" or
	// "redacted".
	LogBodies string
	// Timeout bounds a whole non-streaming call (retries included) and a
	// stream's wait for its first chunk.
	Timeout time.Duration
	// Bus, when set, carries this replica's admin changes to the others.
	Bus Publisher
	// Refresh bounds how long cached keys, teams and the catalog are
	// trusted (DefaultRefresh when zero; negative: forever).
	Refresh time.Duration
	// StaleGrace is how long past its refresh a cached key may be served
	// while the database is unavailable (DefaultStaleGrace when zero;
	// negative: never).
	StaleGrace time.Duration
	// Outages, when set, receives the metrics of the gateway's view of the
	// database (internal/outage).
	Outages *outage.Metrics
	// Cache, when set, keeps answers for teams, keys and models whose
	// cache policy is on (respcache.go).
	Cache cache.Store
	// Observer, when set, watches calls (internal/telemetry).
	Observer Observer
	Now      func() time.Time
}

// Gateway runs calls. It is safe for concurrent use.
type Gateway struct {
	instances map[string]*Instance
	names     []string
	stores    Stores
	meter     Meter
	log       *slog.Logger
	timeout   time.Duration
	now       func() time.Time
	router    *hostpick.Router
	limiter   limit.Limiter
	budgets   Budgets
	defaults  Defaults
	tokens    TokenVerifier
	byok      TeamProviders
	logBodies string
	bus       Publisher
	refresh   time.Duration
	grace     time.Duration
	db        *outage.Tracker // the database as key and catalog loads see it
	obs       Observer
	labels    labelModels // model names with a metrics label of their own

	keys      sync.Map // key hash -> *principalEntry
	keyHashes sync.Map // key ID -> key hash, for JWT access tokens
	unknown   unknownKeys
	catalog   catalogCache
	// invalidations counts dropped keys and teams: a load that one
	// overtook caches nothing. resyncs counts resyncs (see resync).
	// nextProbe is when, in unix nanoseconds, the database may next be
	// tried for a key while it is down.
	invalidations, resyncs atomic.Uint64
	nextProbe              atomic.Int64
	cacheState
}

// New builds a Gateway and loads the catalog.
func New(ctx context.Context, cfg Config) (*Gateway, error) {
	g := &Gateway{
		instances: make(map[string]*Instance, len(cfg.Instances)),
		stores:    cfg.Stores,
		meter:     cfg.Meter,
		log:       cfg.Logger,
		timeout:   cfg.Timeout,
		now:       cfg.Now,
		router:    cfg.Router,
		limiter:   cfg.Limiter,
		budgets:   cfg.Budgets,
		defaults:  cfg.Defaults,
		tokens:    cfg.Tokens,
		byok:      cfg.TeamProviders,
		logBodies: cfg.LogBodies,
		bus:       cfg.Bus,
		refresh:   cfg.Refresh,
		grace:     cfg.StaleGrace,
		obs:       cfg.Observer,
	}
	g.cache = cfg.Cache
	if g.refresh == 0 {
		g.refresh = DefaultRefresh
	}
	if g.grace == 0 {
		g.grace = DefaultStaleGrace
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	g.db = cfg.Outages.Tracker("gateway", "database", g.log)
	if g.now == nil {
		g.now = time.Now
	}
	if g.timeout <= 0 {
		g.timeout = 10 * time.Minute
	}
	if g.router == nil {
		g.router = hostpick.New(hostpick.Policy{})
	}
	if g.limiter == nil {
		g.limiter = limit.NewLocal(g.now)
	}
	if g.budgets == nil && cfg.Spend != nil {
		g.budgets = budget.New(cfg.Spend, g.now)
	}
	for i := range cfg.Instances {
		in := cfg.Instances[i]
		g.instances[in.Name] = &in
		g.names = append(g.names, in.Name)
	}
	sort.Strings(g.names)
	if err := g.loadCatalog(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// Instance returns the named provider instance.
func (g *Gateway) Instance(name string) (*Instance, bool) {
	in, ok := g.instances[name]
	return in, ok
}

// InstanceNames lists configured instances, sorted.
func (g *Gateway) InstanceNames() []string { return g.names }

// Router returns the router, for the admin view of deployments.
func (g *Gateway) Router() *hostpick.Router { return g.router }

// Hosts lists one deployment per host of every instance, for the admin view
// and for active health checks.
func (g *Gateway) Hosts() []*hostpick.Deployment {
	var out []*hostpick.Deployment
	for _, n := range g.names {
		out = append(out, g.instanceDeployments(g.instances[n], "", 1, 0)...)
	}
	return out
}

// NewID returns a random identifier with the given prefix.
func NewID(prefix string) string {
	// What prefix + rand.Text() returns (26 characters of the RFC 4648
	// base32 alphabet, each from one random byte), built in one buffer:
	// one allocation instead of two, on every request.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var b [48]byte
	if len(prefix) > len(b)-26 {
		return prefix + rand.Text()
	}
	n := copy(b[:], prefix)
	r := b[n : n+26]
	_, _ = rand.Read(r)
	for i := range r {
		r[i] = alphabet[r[i]%32]
	}
	return string(b[:n+26])
}

// crockford is Crockford's base32 alphabet, whose order is ASCII order, so
// that encoded times sort as the times do.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewTimeID returns prefix + a ULID-like identifier: 48 bits of the time in
// milliseconds, then 80 random bits, 26 characters. Records keyed by it are
// appended at the end of their primary-key index instead of landing at
// random places in it, which keeps batched inserts cheap.
func NewTimeID(prefix string, t time.Time) string {
	var b [len("req_") + 32]byte
	out := append(b[:0], prefix...)
	ms := uint64(t.UnixMilli())
	for i := 9; i >= 0; i-- {
		out = append(out, crockford[(ms>>(5*uint(i)))&31])
	}
	var r [10]byte
	_, _ = rand.Read(r[:])
	var acc uint64
	bits := 0
	for _, c := range r {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, crockford[(acc>>uint(bits))&31])
		}
	}
	return string(out)
}
