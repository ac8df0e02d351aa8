package hostpick

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

// Moving-average weights. errAlpha 0.02 makes the error rate cover roughly
// the last 100 outcomes; latAlpha 0.1 lets the latency follow a host that
// slows down within a few dozen calls.
const (
	errAlpha = 0.02
	latAlpha = 0.1
)

// dstate is what the router knows about one deployment. The fields read on
// every call are atomics, so that the happy path takes no lock; mu guards
// only the rare transitions of an open circuit.
type dstate struct {
	inflight atomic.Int64
	latency  atomic.Uint64 // float64 bits: moving average of successful latencies in ms; 0 before the first
	errRate  atomic.Uint64 // float64 bits: moving average of outcomes, 1 for a retryable failure
	fails    atomic.Int32  // consecutive retryable failures
	// openUntil is the Unix time in ns at which an open circuit turns
	// half-open; 0 while the circuit is closed.
	openUntil atomic.Int64
	// checked counts the health-check loops watching this deployment. While
	// one is, a half-open circuit waits for the checker's probe rather than
	// letting a user request pay for it.
	checked atomic.Int32

	mu sync.Mutex
	// probeSince is when the one request let through a half-open circuit
	// started; zero when none is in flight. A probe older than a cooldown is
	// considered lost (its caller panicked or hangs) and another may start.
	probeSince time.Time
	lastFail   time.Time
}

// verdict is what one attempt says about the host's health.
type verdict uint8

const (
	vOK      verdict = iota // success
	vAlive                  // the host answered, but the request was at fault (4xx): not retried, not held against the host
	vNeutral                // the caller went away: says nothing about the host
	vFail                   // a retryable failure
	vRefused                // nothing listens there: open at once
)

// classify judges an attempt. Errors that are not *llmservice.Error (a bug
// in the caller's fn, say) are never retried. A timeout counts against the
// host even when it was the call's own deadline that ran out: otherwise a
// host that accepts connections and never answers would never be opened.
func classify(ctx context.Context, err error) verdict {
	switch {
	case err == nil:
		return vOK
	case errors.Is(ctx.Err(), context.Canceled):
		return vNeutral
	case !upstream.Retryable(err):
		return vAlive
	case errors.Is(err, syscall.ECONNREFUSED):
		return vRefused
	}
	return vFail
}

// retryAfter is the wait upstream asked for, when err carries one.
func retryAfter(err error) time.Duration {
	if err == nil {
		return 0 // before the declaration below, which escapes to the heap
	}
	var e *llmservice.Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// usable reports whether the deployment may be picked at now (Unix ns):
// closed, or half-open with no live probe and no health checker to probe it.
func (s *dstate) usable(now int64, cooldown time.Duration) bool {
	until := s.openUntil.Load()
	if until == 0 {
		return true
	}
	if now < until || s.checked.Load() > 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.probeSince.IsZero() || time.Duration(now-s.probeSince.UnixNano()) >= cooldown
}

// tryProbe claims the one request a half-open circuit lets through. ok is
// false when another request holds a live probe or the cooldown has not
// ended; probe is false with ok true when the circuit is closed (it may have
// closed since pick looked), and the caller proceeds as normal.
func (s *dstate) tryProbe(now time.Time, cooldown time.Duration) (probe, ok bool) {
	if s.openUntil.Load() == 0 {
		return false, true // the happy path takes no lock
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	until := s.openUntil.Load()
	if until == 0 {
		return false, true
	}
	if now.UnixNano() < until {
		return false, false
	}
	if !s.probeSince.IsZero() && now.Sub(s.probeSince) < cooldown {
		return false, false
	}
	s.probeSince = now
	return true, true
}

// record applies one attempt's outcome.
func (s *dstate) record(v verdict, latency time.Duration, now time.Time, p *Policy, ra time.Duration) {
	switch v {
	case vOK:
		ewma(&s.latency, float64(latency)/float64(time.Millisecond), latAlpha, true)
		ewma(&s.errRate, 0, errAlpha, false)
		s.healthy()
	case vAlive:
		ewma(&s.errRate, 0, errAlpha, false)
		s.healthy()
	case vNeutral:
		s.endProbe()
	case vFail, vRefused:
		ewma(&s.errRate, 1, errAlpha, false)
		n := s.fails.Add(1)
		// A Retry-After longer than the router waits is upstream saying
		// plainly how long it will refuse: believe it.
		if v == vRefused || int(n) >= p.FailuresToOpen || ra > p.MaxRetryAfter || s.openUntil.Load() != 0 {
			s.open(now, max(p.Cooldown, ra))
			return
		}
		s.mu.Lock()
		s.lastFail = now
		s.mu.Unlock()
	}
}

// healthy resets the failure count and closes an open circuit: an answer
// from the host, even a probe's, shows it serves again.
func (s *dstate) healthy() {
	if s.fails.Load() != 0 {
		s.fails.Store(0)
	}
	if s.openUntil.Load() != 0 {
		s.mu.Lock()
		s.openUntil.Store(0)
		s.probeSince = time.Time{}
		s.mu.Unlock()
	}
}

// open opens (or re-opens) the circuit for d from now.
func (s *dstate) open(now time.Time, d time.Duration) {
	s.mu.Lock()
	s.openUntil.Store(now.Add(d).UnixNano())
	s.probeSince = time.Time{}
	s.lastFail = now
	s.mu.Unlock()
}

func (s *dstate) endProbe() {
	if s.openUntil.Load() == 0 {
		return
	}
	s.mu.Lock()
	s.probeSince = time.Time{}
	s.mu.Unlock()
}

func (s *dstate) lastFailure() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastFail
}

// ewma folds x into the moving average at a. When seed is set, the first
// sample (stored value 0) is taken as is rather than pulled towards zero.
// When x is 0 and the average already is, nothing is written, so that a
// healthy deployment's error rate costs no contended store per call.
func ewma(a *atomic.Uint64, x, alpha float64, seed bool) {
	for {
		old := a.Load()
		if old == 0 && x == 0 {
			return
		}
		v := math.Float64frombits(old)
		var n float64
		if old == 0 && seed {
			n = x
		} else {
			n = v + alpha*(x-v)
		}
		if n < 1e-6 && !seed {
			n = 0 // let a recovered host's error rate settle to exactly 0
		}
		if a.CompareAndSwap(old, math.Float64bits(n)) {
			return
		}
	}
}
