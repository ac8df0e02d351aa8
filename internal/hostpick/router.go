// Package hostpick is the routing engine: given the deployments that can serve
// one logical model (and those of its fallbacks), it picks one, retries
// failures worth retrying with backoff, moves on to the next deployment and
// the next tier, and keeps a circuit breaker per deployment so that a host
// that keeps failing is skipped until it has had time to recover.
//
// The engine knows nothing of HTTP, wire formats or storage: the caller hands
// Do a function that performs one attempt against one deployment and returns
// its error, classified by internal/provider/upstream.
//
// Streams: the caller's fn for a stream returns only after the first chunk
// has been read, so retry and fallback happen only before the first byte
// reaches the client. A failure after that is the caller's to report (as an
// SSE error event); the engine has already counted the attempt a success.
// Callers that want least-outstanding balancing to see a stream for its whole
// life call Hold on success inside fn and Release when the stream closes.
package hostpick

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/llmservice/llmservice/internal/llm"
)

// Deployment is one place a model is served: a provider instance (or one
// host of it) and an upstream model.
type Deployment struct {
	// ID is unique and stable, e.g. "ollama#2/llama3.1". The router keys its
	// health and latency state by ID, so rebuilding the Deployment values
	// (after an admin change) keeps what was learnt about each host.
	ID       string
	Instance string       // provider instance name (for headers and the ledger)
	Model    string       // upstream model id
	Provider llm.Provider // the adapter; may implement interface{ Health(context.Context) error }
	Weight   int          // >0; 0 or less counts as 1
	// Priority orders deployments within a tier: lower is preferred, and a
	// higher priority is used only when every lower one is unavailable.
	Priority int
}

func (d *Deployment) weight() int64 {
	if d.Weight <= 0 {
		return 1
	}
	return int64(d.Weight)
}

// Strategy picks among the healthy deployments of one priority in one tier.
type Strategy string

// Strategies. The zero Strategy ("") is Weighted.
const (
	Weighted         Strategy = "weighted"
	LeastOutstanding Strategy = "least-outstanding"
	LowestLatency    Strategy = "lowest-latency"
)

// Valid reports whether s is a known strategy ("" included, as Weighted);
// the admin API uses it to reject a typo before it reaches traffic.
func (s Strategy) Valid() bool {
	switch s {
	case "", Weighted, LeastOutstanding, LowestLatency:
		return true
	}
	return false
}

// Policy bounds retries and tunes the circuit breaker. Zero fields take the
// defaults noted; a negative RetriesPerDeployment or MaxRetryAfter turns the
// feature off.
type Policy struct {
	MaxAttempts          int           // total attempts over all deployments and tiers (default 4)
	RetriesPerDeployment int           // extra tries of one deployment on a retryable error before moving on (default 1)
	BaseBackoff          time.Duration // exponential backoff base, full jitter (default 100ms)
	MaxBackoff           time.Duration // backoff cap (default 2s)
	// MaxRetryAfter is the longest upstream Retry-After the router waits
	// for (default 10s). A longer one moves on to the next deployment and
	// keeps the deployment open for as long as upstream asked.
	MaxRetryAfter time.Duration
	// FailuresToOpen consecutive retryable failures open the circuit
	// (default 3); a refused connection opens it at once.
	FailuresToOpen int
	Cooldown       time.Duration // open -> half-open after this (default 30s)
}

// DefaultPolicy is the policy New uses for zero fields.
var DefaultPolicy = Policy{
	MaxAttempts:          4,
	RetriesPerDeployment: 1,
	BaseBackoff:          100 * time.Millisecond,
	MaxBackoff:           2 * time.Second,
	MaxRetryAfter:        10 * time.Second,
	FailuresToOpen:       3,
	Cooldown:             30 * time.Second,
}

func (p Policy) withDefaults() Policy {
	d := DefaultPolicy
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	switch {
	case p.RetriesPerDeployment == 0:
		p.RetriesPerDeployment = d.RetriesPerDeployment
	case p.RetriesPerDeployment < 0:
		p.RetriesPerDeployment = 0
	}
	if p.BaseBackoff <= 0 {
		p.BaseBackoff = d.BaseBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = d.MaxBackoff
	}
	if p.MaxBackoff < p.BaseBackoff {
		p.MaxBackoff = p.BaseBackoff
	}
	switch {
	case p.MaxRetryAfter == 0:
		p.MaxRetryAfter = d.MaxRetryAfter
	case p.MaxRetryAfter < 0:
		p.MaxRetryAfter = 0
	}
	if p.FailuresToOpen <= 0 {
		p.FailuresToOpen = d.FailuresToOpen
	}
	if p.Cooldown <= 0 {
		p.Cooldown = d.Cooldown
	}
	return p
}

// Router runs calls over deployments. It is safe for concurrent use; one
// Router should serve every model so that a host shared by several models
// has one circuit.
type Router struct {
	p     Policy
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	// int64n returns a uniform number in [0, n); n > 0.
	int64n func(n int64) int64
	states sync.Map // Deployment.ID -> *dstate
}

// Option configures a Router; tests use them to take time and chance out of
// the engine.
type Option func(*Router)

// WithClock replaces time.Now. Cooldowns, latencies and the comparison of a
// planned wait with the context's deadline all read this clock.
func WithClock(now func() time.Time) Option { return func(r *Router) { r.now = now } }

// WithSleep replaces the backoff wait. sleep must return ctx.Err() when ctx
// ends first.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(r *Router) { r.sleep = sleep }
}

// WithRand makes load balancing and jitter draw from src, which the router
// guards with a mutex. The default is math/rand/v2's lock-free global source.
func WithRand(src rand.Source) Option {
	return func(r *Router) {
		var mu sync.Mutex
		rr := rand.New(src)
		r.int64n = func(n int64) int64 {
			mu.Lock()
			defer mu.Unlock()
			return rr.Int64N(n)
		}
	}
}

// New returns a Router with p (zero fields take DefaultPolicy's values).
func New(p Policy, opts ...Option) *Router {
	r := &Router{p: p.withDefaults(), now: time.Now, sleep: sleepCtx, int64n: rand.Int64N}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Policy returns the effective policy, defaults filled in.
func (r *Router) Policy() Policy { return r.p }

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// state returns the router's state for d, creating it on first sight.
func (r *Router) state(d *Deployment) *dstate {
	if v, ok := r.states.Load(d.ID); ok {
		return v.(*dstate)
	}
	v, _ := r.states.LoadOrStore(d.ID, new(dstate))
	return v.(*dstate)
}

// Forget drops what the router learnt about the deployment with this ID, so
// that removed deployments do not accumulate.
func (r *Router) Forget(id string) { r.states.Delete(id) }
