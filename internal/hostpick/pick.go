package hostpick

import (
	"math"
)

// pick returns the index in tier of the deployment to try next, or -1 when
// none is left. done marks deployments already tried in this call; pick also
// marks those it finds unusable (open circuit, or a half-open one whose probe
// is taken), so that each is looked at once per call. Among the remaining
// deployments of the lowest priority, the strategy decides.
func (r *Router) pick(tier []*Deployment, sts []*dstate, done []bool, s Strategy, now int64) int {
	best, n, only := math.MaxInt, 0, -1
	for i, d := range tier {
		if done[i] {
			continue
		}
		if !sts[i].usable(now, r.p.Cooldown) {
			done[i] = true
			continue
		}
		switch {
		case d.Priority < best:
			best, n, only = d.Priority, 1, i
		case d.Priority == best:
			n++
		}
	}
	if n <= 1 {
		return only
	}
	switch s {
	case LeastOutstanding:
		return r.pickMin(tier, sts, done, best, func(st *dstate) float64 { return float64(st.inflight.Load()) })
	case LowestLatency:
		// A deployment with no measurement yet scores 0, so it is tried
		// early and gets one.
		return r.pickMin(tier, sts, done, best, func(st *dstate) float64 { return math.Float64frombits(st.latency.Load()) })
	}
	return r.pickWeighted(tier, done, best)
}

// pickWeighted draws one deployment with probability proportional to its
// weight.
func (r *Router) pickWeighted(tier []*Deployment, done []bool, prio int) int {
	var total int64
	for i, d := range tier {
		if !done[i] && d.Priority == prio {
			total += d.weight()
		}
	}
	x := r.int64n(total)
	last := -1
	for i, d := range tier {
		if done[i] || d.Priority != prio {
			continue
		}
		last = i
		if x -= d.weight(); x < 0 {
			return i
		}
	}
	return last
}

// pickMin returns the deployment with the lowest score. Ties are broken at
// random in proportion to weight (a one-pass weighted reservoir), so that
// idle or unmeasured deployments share the load as the weights say.
func (r *Router) pickMin(tier []*Deployment, sts []*dstate, done []bool, prio int, score func(*dstate) float64) int {
	choice, low := -1, math.Inf(1)
	var w int64
	for i, d := range tier {
		if done[i] || d.Priority != prio {
			continue
		}
		sc := score(sts[i])
		switch {
		case sc < low:
			choice, low, w = i, sc, d.weight()
		case sc == low:
			w += d.weight()
			if r.int64n(w) < d.weight() {
				choice = i
			}
		}
	}
	return choice
}
