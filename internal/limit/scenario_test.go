package limit

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// A scenario is a sequence of takes and adjusts with the statuses each should
// return. The same scenarios run against Local (injected clock, starting at
// the start of a bucket) and against Redis (its own clock, so only the
// scenarios where no time passes, with windows scaled up so that the
// milliseconds between calls change nothing, and times known to a bucket).
type scenario struct {
	name  string
	rules []Rule
	steps []step
}

type step struct {
	at time.Duration // time since the scenario started (Local only)
	// A take when costs is set; else an Adjust by delta of the status of
	// rule `rule` returned by step `ref`.
	costs  []int64
	ref    int
	rule   int
	delta  int64
	wantOK bool
	want   []want
}

// want is the part of a Status the scenarios check.
type want struct {
	allowed    bool
	remaining  int64
	resetIn    time.Duration
	retryAfter time.Duration
	tooLarge   bool
}

func ok(remaining int64, resetIn time.Duration) want {
	return want{allowed: true, remaining: remaining, resetIn: resetIn}
}

func refused(remaining int64, resetIn, retryAfter time.Duration) want {
	return want{remaining: remaining, resetIn: resetIn, retryAfter: retryAfter}
}

func take(at time.Duration, wantOK bool, costs []int64, w ...want) step {
	return step{at: at, costs: costs, wantOK: wantOK, want: w}
}

// adjust trues up rule of the take of step ref by delta.
func adjust(at time.Duration, ref, rule int, delta int64) step {
	return step{at: at, ref: ref, rule: rule, delta: delta}
}

func rule(key string, limit int64, window time.Duration) Rule {
	return Rule{Key: key, Limit: limit, Window: window, Name: fmt.Sprintf("%d per %v of %s", limit, window, key)}
}

func one(n int64) []int64 { return []int64{n} }

const (
	s  = time.Second
	ms = time.Millisecond
)

// With a window of 6 s a bucket is 100 ms; with a minute, 1 s. A unit
// charged at the start of a bucket counts for the window plus that bucket.
var scenarios = []scenario{
	{
		name:  "burst admits exactly the limit",
		rules: []Rule{rule("burst", 5, 6*s)},
		steps: []step{
			take(0, true, one(1), ok(4, 6100*ms)),
			take(0, true, one(1), ok(3, 6100*ms)),
			take(0, true, one(1), ok(2, 6100*ms)),
			take(0, true, one(1), ok(1, 6100*ms)),
			take(0, true, one(1), ok(0, 6100*ms)),
			take(0, false, one(1), refused(0, 6100*ms, 6100*ms)),
		},
	},
	{
		name:  "a unit counts until its bucket has left the window",
		rules: []Rule{rule("leave", 5, 6*s)},
		steps: []step{
			take(0, true, one(3), ok(2, 6100*ms)),
			take(3*s, true, one(2), ok(0, 6100*ms)),
			take(6*s, false, one(1), refused(0, 3100*ms, 100*ms)),
			take(6050*ms, false, one(1), refused(0, 3050*ms, 50*ms)),
			take(6100*ms, true, one(3), ok(0, 6100*ms)),
			take(9100*ms, true, one(2), ok(0, 6100*ms)),
			take(30*s, true, one(0), ok(5, 0)),
		},
	},
	{
		// Fixed one-minute buckets would admit 50 more at 60.1s; GCRA one
		// more every 1.2 s.
		name:  "no rolling minute holds more than the limit",
		rules: []Rule{rule("boundary", 50, time.Minute)},
		steps: []step{
			take(59900*ms, true, one(50), ok(0, 60100*ms)),
			take(60100*ms, false, one(1), refused(0, 59900*ms, 59900*ms)),
			take(119900*ms, false, one(1), refused(0, 100*ms, 100*ms)),
			take(120*s, true, one(50), ok(0, 61*s)),
		},
	},
	{
		name:  "retry after a large cost fits",
		rules: []Rule{rule("tokens", 100, time.Minute)},
		steps: []step{
			take(0, true, one(60), ok(40, 61*s)),
			take(30*s, true, one(40), ok(0, 61*s)),
			take(30*s, false, one(50), refused(0, 61*s, 31*s)),
			take(61*s, true, one(50), ok(10, 61*s)),
		},
	},
	{
		name:  "a cost above the limit can never fit",
		rules: []Rule{rule("large", 100, time.Minute), rule("large-other", 10, time.Minute)},
		steps: []step{
			take(0, false, []int64{101, 1},
				want{remaining: 100, tooLarge: true},
				ok(10, 0)), // fits, but nothing is charged
			take(0, true, []int64{100, 0}, ok(0, 61*s), ok(10, 0)),
		},
	},
	{
		name:  "all or nothing across rules",
		rules: []Rule{rule("key", 10, 6*s), rule("team", 2, 6*s)},
		steps: []step{
			take(0, true, []int64{1, 1}, ok(9, 6100*ms), ok(1, 6100*ms)),
			take(0, true, []int64{1, 1}, ok(8, 6100*ms), ok(0, 6100*ms)),
			take(0, false, []int64{1, 1}, ok(8, 6100*ms), refused(0, 6100*ms, 6100*ms)),
			take(0, true, []int64{0, 0}, ok(8, 6100*ms), ok(0, 6100*ms)),
			take(0, true, []int64{1, 0}, ok(7, 6100*ms), ok(0, 6100*ms)),
		},
	},
	{
		name:  "cost zero only inspects",
		rules: []Rule{rule("inspect", 5, 6*s)},
		steps: []step{
			take(0, true, one(0), ok(5, 0)),
			take(0, true, one(1), ok(4, 6100*ms)),
			take(0, true, one(0), ok(4, 6100*ms)),
			take(0, true, one(0), ok(4, 6100*ms)),
		},
	},
	{
		name:  "adjust refunds and charges",
		rules: []Rule{rule("trueup", 100, time.Minute)},
		steps: []step{
			take(0, true, one(50), ok(50, 61*s)),
			adjust(0, 0, 0, -30), // used 20 of the 50 estimated
			take(0, true, one(0), ok(80, 61*s)),
			adjust(0, 0, 0, 40), // used 40 more than estimated
			take(0, true, one(0), ok(40, 61*s)),
			adjust(0, 0, 0, 200), // far more: over the limit until it leaves
			take(0, true, one(0), ok(0, 61*s)),
			take(0, false, one(1), refused(0, 61*s, 61*s)),
			adjust(0, 0, 0, -1000), // a refund gives back at most what the bucket holds
			take(0, true, one(0), ok(100, 0)),
		},
	},
	{
		name:  "a true-up charges now and refunds where it was charged",
		rules: []Rule{rule("later", 100, time.Minute)},
		steps: []step{
			take(0, true, one(50), ok(50, 61*s)),
			adjust(30*s, 0, 0, 10),
			take(30*s, true, one(0), ok(40, 61*s)),
			take(61*s, true, one(0), ok(90, 30*s)),
			adjust(61*s, 0, 0, -50), // its bucket has left the window
			take(61*s, true, one(0), ok(90, 30*s)),
		},
	},
	{
		name:  "limit zero blocks everything",
		rules: []Rule{rule("blocked", 0, time.Minute)},
		steps: []step{
			take(0, false, one(1), want{tooLarge: true}),
			take(0, true, one(0), ok(0, 0)),
		},
	},
	{
		name:  "rules sharing a key share its state",
		rules: []Rule{rule("twice", 3, 6*s), rule("twice", 3, 6*s)},
		steps: []step{
			take(0, true, []int64{1, 1}, ok(2, 6100*ms), ok(1, 6100*ms)),
			take(0, false, []int64{1, 1}, ok(1, 6100*ms), refused(0, 6100*ms, 6100*ms)),
			take(0, true, []int64{0, 1}, ok(1, 6100*ms), ok(0, 6100*ms)),
		},
	},
	{
		// Issue 15: 3 used under rpm 100, then PATCHed to rpm 3.
		name:  "lowering a limit counts what was already used",
		rules: []Rule{rule("lowered", 100, time.Minute), rule("lowered", 3, time.Minute)},
		steps: []step{
			take(0, true, []int64{1, 0}, ok(99, 61*s), ok(2, 61*s)),
			take(0, true, []int64{2, 0}, ok(97, 61*s), ok(0, 61*s)),
			take(10*s, false, []int64{0, 1}, ok(97, 51*s), refused(0, 51*s, 51*s)),
			take(61*s, true, []int64{0, 1}, ok(100, 0), ok(2, 61*s)),
		},
	},
}

// instant reports whether no time passes in the scenario.
func (sc scenario) instant() bool {
	for _, st := range sc.steps {
		if st.at != 0 {
			return false
		}
	}
	return true
}

// runScenario plays sc against l. setClock moves the clock (Local) or is nil
// (Redis). Windows and expected times are multiplied by scale. Local's clock
// starts at a bucket's start, so its times are exact; Redis's is anywhere in
// a bucket, so its times may be up to one bucket (plus a second for the
// calls) short of the expected ones.
func runScenario(t *testing.T, l Limiter, sc scenario, setClock func(time.Duration), scale int64, prefix string) {
	t.Helper()
	ctx := context.Background()
	rules := make([]Rule, len(sc.rules))
	for i, r := range sc.rules {
		r.Key = prefix + r.Key
		r.Window *= time.Duration(scale)
		rules[i] = r
	}
	taken := make([][]Status, len(sc.steps))
	for n, st := range sc.steps {
		if setClock != nil {
			setClock(st.at)
		}
		if st.costs == nil {
			if err := l.Adjust(ctx, taken[st.ref][st.rule], st.delta); err != nil {
				t.Fatalf("step %d: Adjust(%d) = %v", n, st.delta, err)
			}
			continue
		}
		got, gotOK, err := l.Take(ctx, rules, st.costs)
		if err != nil {
			t.Fatalf("step %d: Take(%v) = %v", n, st.costs, err)
		}
		taken[n] = got
		if gotOK != st.wantOK {
			t.Errorf("step %d: Take(%v) ok = %v; want %v", n, st.costs, gotOK, st.wantOK)
		}
		if len(got) != len(st.want) {
			t.Fatalf("step %d: %d statuses; want %d", n, len(got), len(st.want))
		}
		for i, w := range st.want {
			g := got[i]
			w.resetIn *= time.Duration(scale)
			w.retryAfter *= time.Duration(scale)
			slack := time.Duration(0)
			if setClock == nil {
				slack = time.Duration(spanOf(rules[i]).g)*time.Microsecond + time.Second
			}
			if g.Rule != rules[i] || g.Allowed != w.allowed || g.Remaining != w.remaining || g.TooLarge != w.tooLarge ||
				!near(g.ResetIn, w.resetIn, slack) || !near(g.RetryAfter, w.retryAfter, slack) {
				t.Errorf("step %d rule %d: got {allowed %v remaining %d resetIn %v retryAfter %v tooLarge %v}; want %+v",
					n, i, g.Allowed, g.Remaining, g.ResetIn, g.RetryAfter, g.TooLarge, w)
			}
		}
	}
}

// near reports got at most slack short of want (and never past it), and
// zero where zero is wanted.
func near(got, want, slack time.Duration) bool {
	if want == 0 {
		return got == 0
	}
	return got >= want-slack && got <= want
}
