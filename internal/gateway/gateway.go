// Package gateway is the core of llmservice: it authenticates a caller,
// resolves the model they asked for to a provider instance, calls it, and
// settles the call in the usage ledger. It knows nothing of HTTP paths or
// wire formats: dialects hand it canonical requests, adapters serve them.
package gateway

import (
	"context"
	"crypto/rand"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

// Instance is one configured provider: a name callers and the catalog refer
// to, the wire protocol family it speaks, and its adapter.
type Instance struct {
	Name     string
	Family   string // openai, openai-compatible, anthropic, gemini, ollama, mock
	Provider llm.Provider
	// Models are upstream model ids the instance advertises in /v1/models
	// as "<name>/<model>" (optional).
	Models []string
}

// Meter takes usage records off the hot path; Record must not block on I/O.
type Meter interface {
	Record(rec llmservice.UsageRecord)
}

// Stores is what the gateway reads. Reads happen on cache misses only.
type Stores struct {
	Keys interface {
		FindKeyByHash(ctx context.Context, hash string) (*llmservice.Key, error)
	}
	Teams interface {
		FindTeamByID(ctx context.Context, id string) (*llmservice.Team, error)
	}
	Catalog interface {
		FindModels(ctx context.Context) ([]*llmservice.Model, error)
	}
}

// Config wires a Gateway.
type Config struct {
	Instances []Instance
	Stores    Stores
	Meter     Meter
	Logger    *slog.Logger
	// Timeout bounds a whole non-streaming call and a stream's wait for its
	// first chunk.
	Timeout time.Duration
	Now     func() time.Time
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

	keys    sync.Map // key hash -> *principalEntry
	catalog catalogCache
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
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.timeout <= 0 {
		g.timeout = 10 * time.Minute
	}
	for i := range cfg.Instances {
		in := cfg.Instances[i]
		g.instances[in.Name] = &in
		g.names = append(g.names, in.Name)
	}
	sort.Strings(g.names)
	if err := g.ReloadCatalog(ctx); err != nil {
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

// NewID returns a random identifier with the given prefix.
func NewID(prefix string) string { return prefix + rand.Text() }
