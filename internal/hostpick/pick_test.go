package hostpick

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestWeightedShares: four in-house hosts weighted 1, 2, 3, 4 share 1,000
// requests within a few percent of 10/20/30/40%.
func TestWeightedShares(t *testing.T) {
	h := newHarness(Policy{}, rand.NewPCG(1, 2))
	var tier []*Deployment
	for i, w := range []int{1, 2, 3, 4} {
		d := dep(string(rune('a' + i)))
		d.Weight = w
		tier = append(tier, d)
	}
	const n = 1000
	count := map[string]int{}
	for range n {
		out, err := h.Do(context.Background(), [][]*Deployment{tier}, Weighted, chat)
		if err != nil {
			t.Fatal(err)
		}
		count[out.Deployment.ID]++
	}
	for _, d := range tier {
		got, want := float64(count[d.ID])/n, float64(d.Weight)/10
		t.Logf("%s weight %d: %.1f%%", d.ID, d.Weight, got*100)
		if math.Abs(got-want) > 0.03 {
			t.Errorf("share of %s (weight %d) = %.3f; want %.2f ± 0.03", d.ID, d.Weight, got, want)
		}
	}
}

// TestWeightedSkipsOpen: the weights of the usable deployments still hold
// when one is cooling down.
func TestWeightedSkipsOpen(t *testing.T) {
	h := newHarness(Policy{FailuresToOpen: 1, Cooldown: time.Hour}, rand.NewPCG(3, 4))
	a, b, c := dep("a", errRefused), dep("b"), dep("c")
	h.Do(context.Background(), [][]*Deployment{{a}, {b}}, Weighted, chat)
	count := map[string]int{}
	for range 200 {
		out, _ := h.Do(context.Background(), [][]*Deployment{{a, b, c}}, Weighted, chat)
		count[out.Deployment.ID]++
	}
	if count["a"] != 0 || count["b"] < 60 || count["c"] < 60 {
		t.Errorf("calls per deployment = %v; want none on a and b, c near even", count)
	}
}

func TestPriority(t *testing.T) {
	h := newHarness(Policy{FailuresToOpen: 1, RetriesPerDeployment: -1, Cooldown: time.Hour}, rand.NewPCG(5, 6))
	p0a, p0b, p1 := dep("p0a"), dep("p0b"), dep("p1")
	p1.Priority = 1
	p1.Weight = 100
	tier := []*Deployment{p1, p0a, p0b}
	for range 50 {
		out, _ := h.Do(context.Background(), [][]*Deployment{tier}, Weighted, chat)
		if out.Deployment == p1 {
			t.Fatal("priority 1 served while priority 0 was healthy")
		}
	}
	p0a.Provider.(*fakeProvider).failNext(errRefused)
	p0b.Provider.(*fakeProvider).failNext(errRefused)
	out, err := h.Do(context.Background(), [][]*Deployment{tier}, Weighted, chat)
	if err != nil || out.Deployment != p1 || len(out.Attempts) != 3 {
		t.Errorf("with priority 0 failing: %v, %v; want both p0 tried, then p1", trace(out.Attempts), err)
	}
}

// TestLeastOutstandingPrefersIdle: with one request in flight on a (held by
// a call that has not returned), every new call goes to idle b.
func TestLeastOutstandingPrefersIdle(t *testing.T) {
	h := newHarness(Policy{}, rand.NewPCG(7, 8))
	a, b := dep("a"), dep("b")
	tier := []*Deployment{a, b}

	entered, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		h.Do(context.Background(), [][]*Deployment{{a}}, LeastOutstanding, func(ctx context.Context, d *Deployment) error {
			close(entered)
			<-release
			return nil
		})
	}()
	<-entered
	for range 100 {
		out, _ := h.Do(context.Background(), [][]*Deployment{tier}, LeastOutstanding, chat)
		if out.Deployment != b {
			t.Fatalf("least-outstanding picked %s while a had a call in flight", out.Deployment.ID)
		}
	}
	if s := stateOf(t, h.Router, a); s.InFlight != 1 {
		t.Errorf("a in flight = %d; want 1", s.InFlight)
	}
	close(release)
	<-done

	// Hold keeps a stream counted after its fn returned.
	h.Hold(b)
	out, _ := h.Do(context.Background(), [][]*Deployment{tier}, LeastOutstanding, chat)
	if out.Deployment != a {
		t.Errorf("with b held, least-outstanding picked %s; want a", out.Deployment.ID)
	}
	h.Release(b)
	if s := h.States(tier); s[0].InFlight != 0 || s[1].InFlight != 0 {
		t.Errorf("in flight after release = %d, %d; want 0, 0", s[0].InFlight, s[1].InFlight)
	}
}

// TestLowestLatencyPrefersFast: each deployment is measured once (an
// unmeasured one scores 0), then every call goes to the fast one.
func TestLowestLatencyPrefersFast(t *testing.T) {
	h := newHarness(Policy{}, rand.NewPCG(9, 10))
	slow, fast := dep("slow"), dep("fast")
	tier := []*Deployment{slow, fast}
	took := map[*Deployment]time.Duration{slow: 800 * time.Millisecond, fast: 50 * time.Millisecond}
	fn := func(ctx context.Context, d *Deployment) error {
		h.clk.Advance(took[d])
		return chat(ctx, d)
	}
	count := map[string]int{}
	for range 100 {
		out, _ := h.Do(context.Background(), [][]*Deployment{tier}, LowestLatency, fn)
		count[out.Deployment.ID]++
	}
	if count["slow"] != 1 || count["fast"] != 99 {
		t.Errorf("calls = %v; want slow once (to measure it), fast the rest", count)
	}
	s := h.States(tier)
	if s[0].LatencyMS != 800 || s[1].LatencyMS != 50 {
		t.Errorf("latency = %v, %v ms; want 800, 50", s[0].LatencyMS, s[1].LatencyMS)
	}

	// The fast host slows down; the moving average follows and traffic moves.
	took[fast] = 2 * time.Second
	count = map[string]int{}
	for range 100 {
		out, _ := h.Do(context.Background(), [][]*Deployment{tier}, LowestLatency, fn)
		count[out.Deployment.ID]++
	}
	if count["slow"] < 90 {
		t.Errorf("after fast slowed to 2s: calls = %v; want most on slow", count)
	}
}

// TestLargeTier covers tiers longer than the router's on-stack bookkeeping:
// each deployment is tried once, in some order, until one answers.
func TestLargeTier(t *testing.T) {
	h := newHarness(Policy{MaxAttempts: 20}, rand.NewPCG(11, 12))
	var tier []*Deployment
	for i := range 12 {
		tier = append(tier, dep(fmt.Sprintf("d%02d", i), errRefused))
	}
	tier[7].Provider = &fakeProvider{}
	out, err := h.Do(context.Background(), [][]*Deployment{tier}, Weighted, chat)
	if err != nil || out.Deployment != tier[7] {
		t.Fatalf("Do: %v, served by %v; want d07", err, out.Deployment)
	}
	seen := map[string]bool{}
	for _, a := range out.Attempts {
		if seen[a.DeploymentID] {
			t.Errorf("%s tried twice: %v", a.DeploymentID, trace(out.Attempts))
		}
		seen[a.DeploymentID] = true
	}
}
