package hostpick

import (
	"context"
	"errors"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

// Attempt is one call of fn, for response headers and the usage ledger.
type Attempt struct {
	DeploymentID string
	Deployment   *Deployment
	Err          error // nil for the success that ended the call
	Latency      time.Duration
}

// Outcome reports how a call went. Deployment is the one that answered, or
// on failure the last one tried (nil when none was).
type Outcome struct {
	Deployment *Deployment
	Attempts   []Attempt
}

// call is the state of one Do, shared by its helpers.
type call struct {
	fn       func(ctx context.Context, d *Deployment) error
	out      Outcome
	last     error
	attempts int
}

// Do runs fn over a plan: tiers[0] are the primary's deployments, tiers[1]
// the first fallback's, and so on. Within a tier the strategy orders the
// usable deployments, lowest Priority first. A retryable failure (see
// upstream.Retryable) is retried on the same deployment after a jittered
// exponential backoff, or after upstream's Retry-After when it sent one,
// then Do moves on to the next deployment and then the next tier. Any other
// error is returned at once, as is. ctx's deadline bounds everything: no wait
// is started that would end past it.
//
// When nothing is left, the error is an *llmservice.Error wrapping the last
// failure: of kind Unavailable, code "no_available_hosts", unless the last
// failure says better (see exhausted).
func (r *Router) Do(ctx context.Context, tiers [][]*Deployment, strategy Strategy, fn func(ctx context.Context, d *Deployment) error) (Outcome, error) {
	c := call{fn: fn}
	for _, tier := range tiers {
		if len(tier) == 0 {
			continue
		}
		// Small tiers keep their bookkeeping on the stack.
		var sbuf [8]*dstate
		var dbuf [8]bool
		sts, done := sbuf[:0], dbuf[:0]
		if len(tier) > len(sbuf) {
			sts, done = make([]*dstate, 0, len(tier)), make([]bool, 0, len(tier))
		}
		for _, d := range tier {
			sts = append(sts, r.state(d))
			done = append(done, false)
		}
		for {
			now := r.now()
			if c.attempts >= r.p.MaxAttempts || r.expired(ctx, now) {
				return c.out, r.exhausted(ctx, &c)
			}
			i := r.pick(tier, sts, done, strategy, now.UnixNano())
			if i < 0 {
				break
			}
			done[i] = true
			probe, ok := sts[i].tryProbe(now, r.p.Cooldown)
			if !ok {
				continue // another request probes it
			}
			if stop, err := r.try(ctx, &c, tier[i], sts[i], probe, now); stop {
				return c.out, err
			}
		}
	}
	if c.attempts == 0 && ctx.Err() == nil {
		// Every deployment of every tier has an open circuit. Rather than
		// fail without trying, give the one that failed longest ago a single
		// attempt: it is the likeliest to have recovered, and a success
		// closes its circuit for everyone.
		if d, st := r.leastRecentlyFailed(tiers); d != nil {
			if stop, err := r.try(ctx, &c, d, st, true, r.now()); stop {
				return c.out, err
			}
		}
	}
	return c.out, r.exhausted(ctx, &c)
}

// try runs attempts against one deployment until one succeeds, a
// non-retryable error ends the call (stop is true in both cases), or it is
// time to move on. A probe gets one attempt: its failure re-opens the circuit.
// now, read just before, serves as the first attempt's start: clock reads
// are most of the engine's cost on the happy path (~85ns each on a VM).
func (r *Router) try(ctx context.Context, c *call, d *Deployment, st *dstate, probe bool, now time.Time) (stop bool, err error) {
	start := now
	for n := 0; ; n++ {
		if n > 0 {
			if n > r.p.RetriesPerDeployment || c.attempts >= r.p.MaxAttempts || st.openUntil.Load() != 0 {
				return false, nil
			}
			wait, ok := r.backoff(c.last, n)
			if !ok || r.expired(ctx, r.now().Add(wait)) {
				return false, nil
			}
			if r.sleep(ctx, wait) != nil {
				return false, nil
			}
			start = r.now()
		}
		err := r.attempt(ctx, c.fn, d, st)
		end := r.now()
		lat := end.Sub(start)
		c.attempts++
		c.out.Deployment = d
		c.out.Attempts = append(c.out.Attempts, Attempt{DeploymentID: d.ID, Deployment: d, Err: err, Latency: lat})
		v := classify(ctx, err)
		st.record(v, lat, end, &r.p, retryAfter(err))
		switch v {
		case vOK:
			return true, nil
		case vAlive, vNeutral:
			return true, err
		}
		c.last = err
		if probe || ctx.Err() != nil {
			return false, nil
		}
	}
}

// attempt calls fn with the deployment counted in flight.
func (r *Router) attempt(ctx context.Context, fn func(context.Context, *Deployment) error, d *Deployment, st *dstate) error {
	st.inflight.Add(1)
	defer st.inflight.Add(-1)
	return fn(ctx, d)
}

// backoff returns the wait before retry n (1-based) of a deployment after
// err: upstream's Retry-After when it sent one, else full-jitter exponential
// backoff. ok is false when Retry-After is longer than the router waits.
func (r *Router) backoff(err error, n int) (wait time.Duration, ok bool) {
	if ra := retryAfter(err); ra > 0 {
		return ra, ra <= r.p.MaxRetryAfter
	}
	ceil := r.p.BaseBackoff << min(n-1, 30)
	if ceil > r.p.MaxBackoff || ceil <= 0 {
		ceil = r.p.MaxBackoff
	}
	return time.Duration(r.int64n(int64(ceil))), true
}

// expired reports whether ctx's deadline is at or before t, by the router's
// clock (so that tests with a fake clock see deadlines move with it).
func (r *Router) expired(ctx context.Context, t time.Time) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !t.Before(dl)
}

// exhausted is the error for a call with nothing left to try. When the
// last failure says what happened, so does the error: an upstream that did
// not answer in time is a 504, one whose answer was unreadable a 502, one
// that rate limited the gateway a 429 with its Retry-After. Otherwise it
// keeps the seed services' wording, which clients match on.
func (r *Router) exhausted(ctx context.Context, c *call) error {
	var last *llmservice.Error
	errors.As(c.last, &last)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || last != nil && last.Kind == llmservice.UpstreamTimeout:
		err := c.last
		if err == nil {
			err = ctx.Err()
		}
		return &llmservice.Error{Kind: llmservice.UpstreamTimeout, Code: "upstream_timeout", Err: err,
			Message: "The upstream did not answer in time"}
	case last != nil && last.Code == upstream.CodeUnreadable:
		return &llmservice.Error{Kind: llmservice.Upstream, Code: last.Code, Message: last.Message, Err: c.last}
	case last != nil && last.Kind == llmservice.RateLimited:
		return &llmservice.Error{Kind: llmservice.RateLimited, Code: last.Code, Message: last.Message, Err: c.last,
			RetryAfter: last.RetryAfter, Status: last.Status}
	}
	e := &llmservice.Error{
		Kind:       llmservice.Unavailable,
		Code:       "no_available_hosts",
		Message:    "Max attempts reached - no available hosts",
		Err:        c.last,
		RetryAfter: retryAfter(c.last),
	}
	if e.Err == nil {
		e.Err = ctx.Err() // the deadline passed before any attempt
	}
	return e
}

// leastRecentlyFailed returns the deployment, over all tiers, whose last
// failure is the oldest.
func (r *Router) leastRecentlyFailed(tiers [][]*Deployment) (*Deployment, *dstate) {
	var best *Deployment
	var bst *dstate
	var at time.Time
	for _, tier := range tiers {
		for _, d := range tier {
			st := r.state(d)
			if t := st.lastFailure(); best == nil || t.Before(at) {
				best, bst, at = d, st, t
			}
		}
	}
	return best, bst
}
