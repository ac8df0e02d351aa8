package hostpick

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
)

func TestClassify(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want verdict
	}{
		{"success", context.Background(), nil, vOK},
		{"400 is the request's fault", context.Background(), err400, vAlive},
		{"upstream refused our credentials", context.Background(), statusErr(401, ""), vAlive},
		{"500", context.Background(), err500, vFail},
		{"429", context.Background(), err429("1"), vFail},
		{"timeout", context.Background(), errTimeout, vFail},
		{"refused connection", context.Background(), errRefused, vRefused},
		{"client went away", cancelled, err500, vNeutral},
		{"unknown error", context.Background(), errPlain, vAlive},
	}
	for _, tt := range tests {
		if got := classify(tt.ctx, tt.err); got != tt.want {
			t.Errorf("classify(%s) = %d; want %d", tt.name, got, tt.want)
		}
	}
}

// TestCircuitOpensAndRecovers walks one deployment through the breaker:
// FailuresToOpen failures open it, it is skipped while cooling down, and
// after Cooldown exactly one real request probes it and closes it.
func TestCircuitOpensAndRecovers(t *testing.T) {
	h := newHarness(Policy{RetriesPerDeployment: -1, FailuresToOpen: 3, Cooldown: 30 * time.Second}, nil)
	a := dep("a", err500, err500, err500)
	a.Priority = 0
	b := dep("b")
	b.Priority = 1
	plan := [][]*Deployment{{a, b}}

	for i := range 3 {
		out, err := h.Do(context.Background(), plan, Weighted, chat)
		if err != nil {
			t.Fatalf("Do #%d: %v", i, err)
		}
		if diff := cmp.Diff([]string{"a:500", "b:ok"}, trace(out.Attempts)); diff != "" {
			t.Fatalf("Do #%d attempts (-want +got):\n%s", i, diff)
		}
	}
	s := stateOf(t, h.Router, a)
	if s.Status != StatusCoolingDown || !s.CooldownUntil.Equal(h.clk.Now().Add(30*time.Second)) {
		t.Fatalf("after 3 failures: %+v; want cooling_down for 30s", s)
	}
	if s.ErrorRate <= 0 || s.ConsecutiveFailures != 3 {
		t.Errorf("after 3 failures: error rate %v, consecutive %d", s.ErrorRate, s.ConsecutiveFailures)
	}

	out, _ := h.Do(context.Background(), plan, Weighted, chat)
	if diff := cmp.Diff([]string{"b:ok"}, trace(out.Attempts)); diff != "" {
		t.Errorf("while cooling down (-want +got):\n%s", diff)
	}

	h.clk.Advance(30 * time.Second)
	if s := stateOf(t, h.Router, a); s.Status != StatusHalfOpen {
		t.Fatalf("after cooldown: status %q; want half_open", s.Status)
	}
	out, _ = h.Do(context.Background(), plan, Weighted, chat)
	if diff := cmp.Diff([]string{"a:ok"}, trace(out.Attempts)); diff != "" {
		t.Errorf("probe (-want +got):\n%s", diff)
	}
	if s := stateOf(t, h.Router, a); s.Status != StatusHealthy || s.ConsecutiveFailures != 0 || !s.CooldownUntil.IsZero() {
		t.Errorf("after a successful probe: %+v; want healthy", s)
	}
}

func TestFailedProbeReopens(t *testing.T) {
	h := newHarness(Policy{FailuresToOpen: 1, Cooldown: time.Minute}, nil)
	a := dep("a", err500, err500, err500)
	b := dep("b")
	b.Priority = 1
	plan := [][]*Deployment{{a, b}}
	h.Do(context.Background(), plan, Weighted, chat)
	h.clk.Advance(time.Minute)

	// The probe gets one attempt, not RetriesPerDeployment more.
	out, _ := h.Do(context.Background(), plan, Weighted, chat)
	if diff := cmp.Diff([]string{"a:500", "b:ok"}, trace(out.Attempts)); diff != "" {
		t.Errorf("failed probe (-want +got):\n%s", diff)
	}
	s := stateOf(t, h.Router, a)
	if s.Status != StatusCoolingDown || !s.CooldownUntil.Equal(h.clk.Now().Add(time.Minute)) {
		t.Errorf("after a failed probe: %+v; want cooling_down for another minute", s)
	}
}

// TestHalfOpenLetsOneRequestThrough holds the probe inside fn while a second
// call runs: the second must not probe the same deployment.
func TestHalfOpenLetsOneRequestThrough(t *testing.T) {
	h := newHarness(Policy{FailuresToOpen: 1, Cooldown: time.Minute}, nil)
	a := dep("a", err500)
	b := dep("b")
	b.Priority = 1
	plan := [][]*Deployment{{a, b}}
	h.Do(context.Background(), plan, Weighted, chat)
	h.clk.Advance(time.Minute)

	entered, release := make(chan struct{}), make(chan struct{})
	done := make(chan Outcome)
	go func() {
		out, _ := h.Do(context.Background(), plan, Weighted, func(ctx context.Context, d *Deployment) error {
			if d == a {
				close(entered)
				<-release
			}
			return chat(ctx, d)
		})
		done <- out
	}()
	<-entered
	out, _ := h.Do(context.Background(), plan, Weighted, chat)
	if diff := cmp.Diff([]string{"b:ok"}, trace(out.Attempts)); diff != "" {
		t.Errorf("second call while the probe runs (-want +got):\n%s", diff)
	}
	close(release)
	if diff := cmp.Diff([]string{"a:ok"}, trace((<-done).Attempts)); diff != "" {
		t.Errorf("probe (-want +got):\n%s", diff)
	}
	if s := stateOf(t, h.Router, a); s.Status != StatusHealthy {
		t.Errorf("after the probe: %q; want healthy", s.Status)
	}
}

// TestAllOpenTriesLeastRecentlyFailed: when every circuit is open, Do gives
// the deployment that failed longest ago one attempt instead of failing
// without trying.
func TestAllOpenTriesLeastRecentlyFailed(t *testing.T) {
	h := newHarness(Policy{FailuresToOpen: 1, Cooldown: time.Hour}, nil)
	a := dep("a", err500, err500)
	b := dep("b", err500)
	h.Do(context.Background(), [][]*Deployment{{a}}, Weighted, chat)
	h.clk.Advance(time.Second)
	h.Do(context.Background(), [][]*Deployment{{b}}, Weighted, chat)
	h.clk.Advance(time.Second)

	plan := [][]*Deployment{{b}, {a}}
	out, err := h.Do(context.Background(), plan, Weighted, chat)
	if diff := cmp.Diff([]string{"a:500"}, trace(out.Attempts)); diff != "" {
		t.Errorf("all open, first call (-want +got):\n%s", diff)
	}
	if llmservice.AsError(err).Code != "no_available_hosts" || !errors.Is(err, err500) {
		t.Errorf("Do() error = %v; want no_available_hosts wrapping the 500", err)
	}
	// a failed just now, so b is the least recently failed; it recovered.
	out, err = h.Do(context.Background(), plan, Weighted, chat)
	if err != nil || cmp.Diff([]string{"b:ok"}, trace(out.Attempts)) != "" {
		t.Errorf("all open, second call: %v, %v; want b:ok", trace(out.Attempts), err)
	}
	if s := stateOf(t, h.Router, b); s.Status != StatusHealthy {
		t.Errorf("b after its last-resort success: %q; want healthy", s.Status)
	}
}

func TestRequestErrorsDoNotOpen(t *testing.T) {
	h := newHarness(Policy{FailuresToOpen: 1}, nil)
	a := dep("a", err400, err400, err400)
	for range 3 {
		h.Do(context.Background(), [][]*Deployment{{a}}, Weighted, chat)
	}
	if s := stateOf(t, h.Router, a); s.Status != StatusHealthy || s.ErrorRate != 0 {
		t.Errorf("after three 400s: %+v; want healthy with no error rate", s)
	}
}

func TestLongRetryAfterCoolsDownForThatLong(t *testing.T) {
	h := newHarness(Policy{MaxRetryAfter: 10 * time.Second, Cooldown: 30 * time.Second}, nil)
	a := dep("a", err429("120"))
	h.Do(context.Background(), [][]*Deployment{{a}, {dep("b")}}, Weighted, chat)
	s := stateOf(t, h.Router, a)
	if want := h.clk.Now().Add(120 * time.Second); s.Status != StatusCoolingDown || !s.CooldownUntil.Equal(want) {
		t.Errorf("after 429 Retry-After 120: %+v; want cooling_down until %v", s, want)
	}
}

func TestErrorRateDecays(t *testing.T) {
	h := newHarness(Policy{FailuresToOpen: 100, RetriesPerDeployment: -1}, nil)
	a := dep("a", err500)
	plan := [][]*Deployment{{a}}
	h.Do(context.Background(), plan, Weighted, chat)
	after1 := stateOf(t, h.Router, a).ErrorRate
	for range 50 {
		h.Do(context.Background(), plan, Weighted, chat)
	}
	after51 := stateOf(t, h.Router, a).ErrorRate
	if !(after1 > 0 && after51 < after1/2) {
		t.Errorf("error rate after one failure %v, after 50 successes %v; want it to decay by more than half", after1, after51)
	}
}
