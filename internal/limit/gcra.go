package limit

import (
	"math/bits"
	"time"
)

// The arithmetic of GCRA with a burst of Limit, shared by Local and Redis.
//
// Everything is an integer number of nanoseconds. A rule lets Limit units
// through per Window W, so one unit occupies W/Limit of time. The only state
// of a key is its theoretical arrival time TAT: the moment at which all units
// charged so far will have drained. We work with the backlog
//
//	b = max(TAT - now, 0)
//
// which is zero for a key never seen or idle long enough (so an absent key and
// an expired one are the same thing, and idle keys can be dropped).
//
//	inc(c)  = floor(c * W / Limit)            time that c units occupy (128-bit product)
//	admit c  iff  b + inc(c) <= W             the burst tolerance is the whole window
//	on admit: TAT = now + b + inc(c)
//	Remaining  = floor((W - b') * Limit / W)  units that still fit, b' the backlog after
//	ResetIn    = b'                           until the backlog has drained
//	RetryAfter = b + inc(c) - W               until enough has drained for c to fit
//
// From an empty state, k takes of one unit leave b = k*inc(1) <= k*W/Limit, so
// Limit fit at once and, when W/Limit divides exactly or exceeds Limit+1 ns
// (any limit under about 245,000 per minute), not one more. Afterwards one
// unit fits every W/Limit. Nothing is counted in fixed buckets, so there is no
// boundary at which 2*Limit get through: over any interval of length t at
// most Limit + t*Limit/W units pass.
//
// Rounding inc down makes each take at most 1ns cheaper than exact, that is
// at most Limit/W of a unit (under one, since validation requires Limit <= W
// in ns; 1e-9 of a request at 60 RPM). It keeps the burst whole: Limit unit
// takes never sum past W, where rounding up would refuse the last one.

// MaxWindow is the longest window a rule may have. It keeps every backlog far
// below 2^53 ns, where the Redis script (whose numbers are doubles) stays exact.
const MaxWindow = 31 * 24 * time.Hour

// maxBacklog caps how far a key's TAT may run ahead of now: positive Adjusts
// never refuse, so without a cap a huge true-up could overflow.
const maxBacklog = 1 << 52

// increment returns floor(cost*window/limit), saturating at maxBacklog.
// It requires limit > 0 and cost >= 0; cost may exceed limit (for Adjust).
func increment(cost, limit, window int64) int64 {
	q, r := cost/limit, cost%limit
	if q > maxBacklog/window {
		return maxBacklog
	}
	// r < limit, so r*window/limit < window: Div64 cannot overflow.
	hi, lo := bits.Mul64(uint64(r), uint64(window))
	f, _ := bits.Div64(hi, lo, uint64(limit))
	return min(q*window+int64(f), maxBacklog)
}

// remaining returns how many units fit into what is left of the window.
func remaining(backlog, limit, window int64) int64 {
	if backlog >= window {
		return 0
	}
	// (window-backlog) <= window, so the quotient is at most limit.
	hi, lo := bits.Mul64(uint64(window-backlog), uint64(limit))
	q, _ := bits.Div64(hi, lo, uint64(window))
	return int64(q)
}

// cell is one rule of a take while it is being decided.
type cell struct {
	window   int64 // W in ns, also the burst tolerance
	inc      int64 // time the cost occupies
	backlog  int64 // b before this take, never negative
	tooLarge bool  // cost > Limit: can never fit
}

// newCell prepares a rule and its cost; the backlog is filled in by the caller.
func newCell(r Rule, cost int64) cell {
	c := cell{window: int64(r.Window)}
	switch {
	case cost > r.Limit:
		c.tooLarge = true
	case cost > 0:
		c.inc = increment(cost, r.Limit, c.window)
	}
	return c
}

// fits reports whether the rule admits its cost. A cost of 0 is an inspection
// and always fits, even when a true-up has pushed the backlog past the window.
func (c cell) fits() bool {
	return !c.tooLarge && (c.inc == 0 || c.backlog+c.inc <= c.window)
}

// status fills in the caller's view of a decided cell. charged says whether
// the whole take was admitted and this cell's cost was consumed.
func (c *cell) status(s *Status, r *Rule, charged bool) {
	*s = Status{Rule: *r, Allowed: c.fits(), TooLarge: c.tooLarge}
	b := c.backlog
	if charged {
		b += c.inc
	} else if !s.Allowed && !c.tooLarge {
		s.RetryAfter = time.Duration(c.backlog + c.inc - c.window)
	}
	s.Remaining = remaining(b, r.Limit, c.window)
	s.ResetIn = time.Duration(b)
}

// change returns the signed shift of the backlog for a true-up of delta
// units, saturated at maxBacklog either way.
func change(r Rule, delta int64) int64 {
	if r.Limit == 0 || delta == 0 {
		return 0
	}
	w := int64(r.Window)
	if delta > 0 {
		return increment(delta, r.Limit, w)
	}
	refund := -delta
	if refund < 0 { // delta was MinInt64
		refund = maxBacklog
	}
	return -increment(refund, r.Limit, w)
}

// adjusted returns the backlog after a true-up of delta units: never below
// zero (units given back cannot make room beyond the burst) nor above maxBacklog.
func adjusted(backlog int64, r Rule, delta int64) int64 {
	return min(max(backlog+change(r, delta), 0), maxBacklog)
}

// decide fills in statuses (as long as cells) for cells whose backlogs are
// known and reports whether every rule fits. Rules that share a key share
// one state: a later rule sees the charges of the earlier ones in the same take.
func decide(statuses []Status, rules []Rule, cells []cell) bool {
	ok := true
	for i := range cells {
		if !cells[i].fits() {
			ok = false
		}
	}
	for i := range cells {
		cells[i].status(&statuses[i], &rules[i], ok)
	}
	return ok
}
