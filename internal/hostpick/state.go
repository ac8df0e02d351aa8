package hostpick

import (
	"math"
	"time"
)

// Deployment statuses in State.Status.
const (
	StatusHealthy     = "healthy"
	StatusCoolingDown = "cooling_down" // circuit open: skipped until CooldownUntil
	StatusHalfOpen    = "half_open"    // cooldown over: waiting for a probe to close it
)

// State is one deployment as the router sees it, for GET /admin/deployments.
type State struct {
	ID        string  `json:"id"`
	Instance  string  `json:"instance"`
	Model     string  `json:"model"`
	Status    string  `json:"status"`
	InFlight  int     `json:"in_flight"`
	LatencyMS float64 `json:"latency_ms"` // moving average of successful calls; 0 before the first
	// ErrorRate is the moving average of retryable failures over roughly
	// the last 100 attempts, from 0 to 1.
	ErrorRate float64 `json:"error_rate"`
	// ConsecutiveFailures counts retryable failures since the last success.
	ConsecutiveFailures int       `json:"consecutive_failures"`
	CooldownUntil       time.Time `json:"cooldown_until,omitzero"`
	Weight              int       `json:"weight"`
	Priority            int       `json:"priority"`
}

// States returns the state of each of ds, in order.
func (r *Router) States(ds []*Deployment) []State {
	now := r.now().UnixNano()
	out := make([]State, len(ds))
	for i, d := range ds {
		st := r.state(d)
		s := State{
			ID: d.ID, Instance: d.Instance, Model: d.Model, Status: StatusHealthy,
			InFlight:            int(st.inflight.Load()),
			LatencyMS:           math.Float64frombits(st.latency.Load()),
			ErrorRate:           math.Float64frombits(st.errRate.Load()),
			ConsecutiveFailures: int(st.fails.Load()),
			Weight:              int(d.weight()),
			Priority:            d.Priority,
		}
		if until := st.openUntil.Load(); until != 0 {
			s.CooldownUntil = time.Unix(0, until)
			s.Status = StatusCoolingDown
			if now >= until {
				s.Status = StatusHalfOpen
			}
		}
		out[i] = s
	}
	return out
}

// Hold counts d in flight until the matching Release. Do counts a deployment
// only while fn runs; a stream's fn returns at its first chunk, so callers
// that want least-outstanding balancing to see the rest of the stream call
// Hold before fn returns successfully and Release when the stream closes.
func (r *Router) Hold(d *Deployment) { r.state(d).inflight.Add(1) }

// Release ends a Hold.
func (r *Router) Release(d *Deployment) { r.state(d).inflight.Add(-1) }
