package limit

import "time"

// The arithmetic of the rolling window, shared by Local and Redis.
//
// A rule's window W is cut into Buckets buckets of g = W/Buckets (one
// second for a one-minute window), counted in microseconds. Bucket k covers
// the times [k*g, (k+1)*g) and holds the units charged then. A unit charged
// in bucket k counts until (k+1)*g + W: from its charge for at least W and
// at most W+g. So in every rolling window of length W, every unit charged
// within it is counted at each moment a take is decided, and a take is
// admitted only if the units counted plus its cost fit the limit: no rolling
// window ever holds more than Limit units. The price of the buckets is that
// a unit may keep its place up to one bucket (1/60 of the window) longer
// than an exact log would keep it.
//
// A key's state is its live buckets (at most Buckets+1 of them, one number
// each), independent of the limit: lowering a limit counts what was already
// used under the old one.
//
//	live(k)    (k+1)*g > now - W, i.e. k >= floor((now-W)/g)
//	used       the sum of the live buckets
//	admit c    iff c <= Limit and used + c <= Limit (c = 0 only inspects)
//	frees(k)   (k+1)*g + W - now: when bucket k stops counting
//	Remaining  Limit - used after the take (never negative)
//	ResetIn    frees(newest live bucket): when everything charged is free
//	RetryAfter frees(oldest k such that what is left after k fits c)

// Buckets is how many buckets a window is cut into.
const Buckets = 60

// MaxWindow is the longest window a rule may have, MinWindow the shortest
// (one microsecond per bucket).
const (
	MaxWindow = 31 * 24 * time.Hour
	MinWindow = Buckets * time.Microsecond
)

// maxUnits caps a bucket's count: Redis's Lua numbers are doubles, exact
// below 2^53, and true-ups never refuse, so their sums must stay below it.
const maxUnits = 1 << 50

// span is a rule's bucket length and window, in µs.
type span struct{ g, w int64 }

func spanOf(r Rule) span {
	w := r.Window.Microseconds()
	return span{g: max(w/Buckets, 1), w: w}
}

// floorDiv returns floor(a/b) for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func (s span) bucket(now int64) int64 { return floorDiv(now, s.g) }

// oldest is the oldest bucket still counting at now.
func (s span) oldest(now int64) int64 { return floorDiv(now-s.w, s.g) }

// frees returns how long bucket k keeps counting after now.
func (s span) frees(k, now int64) time.Duration {
	return time.Duration(max((k+1)*s.g+s.w-now, 0)) * time.Microsecond
}

// bucket is one bucket of a key: number k (time k*g to (k+1)*g), n units.
type bucket struct{ k, n int64 }

// view is what a take needs of one rule's key: the units counted, the
// newest bucket holding any (-1 if none) and, for a refused cost that could
// fit, the bucket whose expiry makes it fit (-1 otherwise).
type view struct{ used, newest, retry int64 }

// look computes the view of a key from its live buckets (oldest first),
// with pending units charged by earlier rules of the same take in bucket
// cur, for a cost c against limit.
func look(bs []bucket, pending, cur, c, limit int64) view {
	v := view{used: pending, newest: -1, retry: -1}
	for _, b := range bs {
		v.used += b.n
	}
	if pending > 0 {
		v.newest = cur
	} else if len(bs) > 0 {
		v.newest = bs[len(bs)-1].k
	}
	if fits(v.used, c, limit) || c > limit {
		return v
	}
	need, freed := v.used+c-limit, int64(0)
	for _, b := range bs {
		if freed += b.n; freed >= need {
			v.retry = b.k
			return v
		}
	}
	v.retry = cur // only the pending units, in the current bucket, make room
	return v
}

// fits reports whether cost c fits with used units counted. A cost of 0 is
// an inspection and always fits, even past the limit.
func fits(used, c, limit int64) bool {
	return c == 0 || (c <= limit && used+c <= limit)
}

// status fills in the caller's view of a decided rule. charged says
// whether the whole take was admitted, charging c in bucket cur.
func status(r Rule, c int64, v view, now, cur int64, charged bool) Status {
	s := spanOf(r)
	st := Status{Rule: r, Allowed: fits(v.used, c, r.Limit), TooLarge: c > r.Limit}
	used, newest := v.used, v.newest
	if charged && c > 0 {
		used += c
		newest = cur
		st.receipt = receipt{charged: true, bucket: cur}
	}
	st.Remaining = max(r.Limit-used, 0)
	if newest >= 0 && used > 0 {
		st.ResetIn = s.frees(newest, now)
	}
	if !st.Allowed && v.retry >= 0 {
		st.RetryAfter = max(s.frees(v.retry, now), time.Microsecond)
	}
	return st
}
