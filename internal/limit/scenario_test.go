package limit

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// A scenario is a sequence of takes and adjusts with the statuses each should
// return. The same scenarios run against Local (injected clock) and against
// Redis (its own clock, so only the scenarios where no time passes, with
// windows scaled up so that the milliseconds between calls change nothing).
type scenario struct {
	name  string
	rules []Rule
	steps []step
}

type step struct {
	at time.Duration // time since the scenario started (Local only)
	// A take when costs is set; else an Adjust of rules[rule] by delta.
	costs  []int64
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

func adjust(at time.Duration, rule int, delta int64) step {
	return step{at: at, rule: rule, delta: delta}
}

func rule(key string, limit int64, window time.Duration) Rule {
	return Rule{Key: key, Limit: limit, Window: window, Name: fmt.Sprintf("%d per %v of %s", limit, window, key)}
}

func one(n int64) []int64 { return []int64{n} }

const s = time.Second

var scenarios = []scenario{
	{
		name:  "burst admits exactly the limit",
		rules: []Rule{rule("burst", 5, 10*s)},
		steps: []step{
			take(0, true, one(1), ok(4, 2*s)),
			take(0, true, one(1), ok(3, 4*s)),
			take(0, true, one(1), ok(2, 6*s)),
			take(0, true, one(1), ok(1, 8*s)),
			take(0, true, one(1), ok(0, 10*s)),
			take(0, false, one(1), refused(0, 10*s, 2*s)),
		},
	},
	{
		name:  "refills one unit per window/limit",
		rules: []Rule{rule("refill", 5, 10*s)},
		steps: []step{
			take(0, true, one(5), ok(0, 10*s)),
			take(1*s, false, one(1), refused(0, 9*s, 1*s)),
			take(2*s, true, one(1), ok(0, 10*s)),
			take(2*s, false, one(1), refused(0, 10*s, 2*s)),
			take(6*s, true, one(2), ok(0, 10*s)),
			take(30*s, true, one(0), ok(5, 0)),
		},
	},
	{
		// Fixed one-minute buckets would admit 50 more at 60.1s.
		name:  "no double burst at a minute boundary",
		rules: []Rule{rule("boundary", 50, time.Minute)},
		steps: []step{
			take(59900*time.Millisecond, true, one(50), ok(0, 60*s)),
			take(60100*time.Millisecond, false, one(1), refused(0, 59800*time.Millisecond, 1*s)),
			take(61100*time.Millisecond, true, one(1), ok(0, 60*s)),
			take(89900*time.Millisecond, true, one(24), ok(0, 60*s)), // 25 refilled, 1 taken at 61.1s
			take(89900*time.Millisecond, false, one(1), refused(0, 60*s, 1200*time.Millisecond)),
		},
	},
	{
		name:  "retry after a large cost fits",
		rules: []Rule{rule("tokens", 100, time.Minute)},
		steps: []step{
			take(0, true, one(80), ok(20, 48*s)),
			take(0, false, one(40), refused(20, 48*s, 12*s)),
			take(0, true, one(20), ok(0, 60*s)),
		},
	},
	{
		name:  "a cost above the limit can never fit",
		rules: []Rule{rule("large", 100, time.Minute), rule("large-other", 10, time.Minute)},
		steps: []step{
			take(0, false, []int64{101, 1},
				want{remaining: 100, tooLarge: true},
				ok(10, 0)), // fits, but nothing is charged
			take(0, true, []int64{100, 0}, ok(0, 60*s), ok(10, 0)),
		},
	},
	{
		name:  "all or nothing across rules",
		rules: []Rule{rule("key", 10, 10*s), rule("team", 2, 10*s)},
		steps: []step{
			take(0, true, []int64{1, 1}, ok(9, 1*s), ok(1, 5*s)),
			take(0, true, []int64{1, 1}, ok(8, 2*s), ok(0, 10*s)),
			take(0, false, []int64{1, 1}, ok(8, 2*s), refused(0, 10*s, 5*s)),
			take(0, true, []int64{0, 0}, ok(8, 2*s), ok(0, 10*s)),
			take(0, true, []int64{1, 0}, ok(7, 3*s), ok(0, 10*s)),
		},
	},
	{
		name:  "cost zero only inspects",
		rules: []Rule{rule("inspect", 5, 10*s)},
		steps: []step{
			take(0, true, one(0), ok(5, 0)),
			take(0, true, one(1), ok(4, 2*s)),
			take(0, true, one(0), ok(4, 2*s)),
			take(0, true, one(0), ok(4, 2*s)),
		},
	},
	{
		name:  "adjust refunds and charges",
		rules: []Rule{rule("trueup", 100, time.Minute)},
		steps: []step{
			take(0, true, one(50), ok(50, 30*s)),
			adjust(0, 0, -30), // used 20 of the 50 reserved
			take(0, true, one(0), ok(80, 12*s)),
			adjust(0, 0, 40), // used 40 more than reserved
			take(0, true, one(0), ok(40, 36*s)),
			adjust(0, 0, 200), // far more: in debt past the window
			take(0, true, one(0), ok(0, 156*s)),
			take(0, false, one(1), refused(0, 156*s, 96600*time.Millisecond)),
			adjust(0, 0, -1000), // refunds never make room beyond the limit
			take(0, true, one(0), ok(100, 0)),
		},
	},
	{
		name:  "limit zero blocks everything",
		rules: []Rule{rule("blocked", 0, time.Minute)},
		steps: []step{
			take(0, false, one(1), want{tooLarge: true}),
			take(0, true, one(0), ok(0, 0)),
			adjust(0, 0, 10),
			take(0, true, one(0), ok(0, 0)),
		},
	},
	{
		name:  "rules sharing a key share its state",
		rules: []Rule{rule("twice", 3, 3*s), rule("twice", 3, 3*s)},
		steps: []step{
			take(0, true, []int64{1, 1}, ok(2, 1*s), ok(1, 2*s)),
			take(0, false, []int64{1, 1}, ok(1, 2*s), refused(0, 3*s, 1*s)),
			take(0, true, []int64{0, 1}, ok(1, 2*s), ok(0, 3*s)),
		},
	},
	{
		name:  "a limit that does not divide the window",
		rules: []Rule{rule("seven", 7, time.Minute)},
		steps: []step{
			take(0, true, one(1), ok(6, 8571428571)),
			take(0, true, one(5), ok(1, 51428571428)),
			take(0, true, one(1), ok(0, 59999999999)),
			take(0, false, one(1), refused(0, 59999999999, 8571428570)),
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
// (Redis). Windows and expected times are multiplied by scale; slack is how
// far a time may be from the expected one, since a real clock moves between
// calls and a scaled window rounds differently.
func runScenario(t *testing.T, l Limiter, sc scenario, setClock func(time.Duration), scale int64, prefix string, slack time.Duration) {
	t.Helper()
	ctx := context.Background()
	rules := make([]Rule, len(sc.rules))
	for i, r := range sc.rules {
		r.Key = prefix + r.Key
		r.Window *= time.Duration(scale)
		rules[i] = r
	}
	for n, st := range sc.steps {
		if setClock != nil {
			setClock(st.at)
		}
		if st.costs == nil {
			if err := l.Adjust(ctx, rules[st.rule], st.delta); err != nil {
				t.Fatalf("step %d: Adjust(%d) = %v", n, st.delta, err)
			}
			continue
		}
		got, gotOK, err := l.Take(ctx, rules, st.costs)
		if err != nil {
			t.Fatalf("step %d: Take(%v) = %v", n, st.costs, err)
		}
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
			if g.Rule != rules[i] || g.Allowed != w.allowed || g.Remaining != w.remaining || g.TooLarge != w.tooLarge ||
				!near(g.ResetIn, w.resetIn, slack) || !near(g.RetryAfter, w.retryAfter, slack) {
				t.Errorf("step %d rule %d: got {allowed %v remaining %d resetIn %v retryAfter %v tooLarge %v}; want %+v",
					n, i, g.Allowed, g.Remaining, g.ResetIn, g.RetryAfter, g.TooLarge, w)
			}
		}
	}
}

// near reports got within slack of want, and zero where zero is wanted.
func near(got, want, slack time.Duration) bool {
	if want == 0 {
		return got == 0
	}
	return got >= want-slack && got <= want+slack
}
