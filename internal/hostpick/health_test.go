package hostpick

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCheckOnce(t *testing.T) {
	tests := []struct {
		name       string
		open       bool          // open the circuit first
		advance    time.Duration // then move the clock
		health     error
		wantProbes int
		wantStatus string
	}{
		{"healthy host passing stays healthy", false, 0, nil, 1, StatusHealthy},
		{"healthy host failing is opened", false, 0, err503, 1, StatusCoolingDown},
		{"healthy host refusing is opened", false, 0, errRefused, 1, StatusCoolingDown},
		{"probe error of unknown shape counts against the host", false, 0, errors.New("boom"), 1, StatusCoolingDown},
		{"a 404 from a server without the endpoint is an answer", false, 0, statusErr(404, ""), 1, StatusHealthy},
		{"cooling down is left alone", true, 10 * time.Second, nil, 0, StatusCoolingDown},
		{"half-open passing is closed", true, time.Minute, nil, 1, StatusHealthy},
		{"half-open failing is re-opened", true, time.Minute, err503, 1, StatusCoolingDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(Policy{FailuresToOpen: 1, Cooldown: time.Minute}, nil)
			hp := &healthProvider{}
			d := &Deployment{ID: "d", Provider: hp}
			if tt.open {
				hp.failNext(errRefused)
				h.Do(context.Background(), [][]*Deployment{{d}}, Weighted, chat)
			}
			h.clk.Advance(tt.advance)
			hp.setHealth(tt.health)

			h.checkOnce(context.Background(), []*Deployment{d}, time.Second)

			if got := hp.Probes(); got != tt.wantProbes {
				t.Errorf("probes = %d; want %d", got, tt.wantProbes)
			}
			s := stateOf(t, h.Router, d)
			if s.Status != tt.wantStatus {
				t.Errorf("status = %q; want %q", s.Status, tt.wantStatus)
			}
			if tt.wantStatus == StatusCoolingDown && tt.wantProbes == 1 && !s.CooldownUntil.Equal(h.clk.Now().Add(time.Minute)) {
				t.Errorf("cooldown until %v; want a minute from now", s.CooldownUntil)
			}
		})
	}
}

// gatedHealth is a Health method that announces each probe and answers
// with whatever the test sends on gate.
type gatedHealth struct {
	fakeProvider
	probed chan struct{}
	gate   chan error
}

func (g *gatedHealth) Health(ctx context.Context) error {
	g.probed <- struct{}{}
	return <-g.gate
}

// TestRunHealthChecks: while the checker runs, a half-open deployment is
// left to it, so no user request is the probe; its probe closes the circuit;
// once the checker stops, user requests probe again.
func TestRunHealthChecks(t *testing.T) {
	h := newHarness(Policy{FailuresToOpen: 1, Cooldown: time.Minute}, nil)
	gp := &gatedHealth{probed: make(chan struct{}), gate: make(chan error)}
	d := &Deployment{ID: "d", Provider: gp}
	backup := dep("backup")
	plan := [][]*Deployment{{d}, {backup}}
	gp.failNext(errRefused)
	h.Do(context.Background(), plan, Weighted, chat)
	h.clk.Advance(time.Minute) // half-open

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.RunHealthChecks(ctx, []*Deployment{d, d, backup}, time.Hour) // d twice: probed once
	}()
	<-gp.probed // the first round runs at once

	out, _ := h.Do(context.Background(), plan, Weighted, chat)
	if diff := cmp.Diff([]string{"backup:ok"}, trace(out.Attempts)); diff != "" {
		t.Errorf("user call while the checker probes (-want +got):\n%s", diff)
	}

	gp.gate <- nil
	cancel()
	<-done
	if s := stateOf(t, h.Router, d); s.Status != StatusHealthy {
		t.Errorf("after the checker's good probe: %q; want healthy", s.Status)
	}
	if n := h.state(d).checked.Load(); n != 0 {
		t.Errorf("checked = %d after the checker stopped; want 0", n)
	}

	// With no checker, a half-open deployment is probed by one user request.
	gp.failNext(errRefused)
	h.Do(context.Background(), plan, Weighted, chat)
	h.clk.Advance(time.Minute)
	out, _ = h.Do(context.Background(), plan, Weighted, chat)
	if diff := cmp.Diff([]string{"d:ok"}, trace(out.Attempts)); diff != "" {
		t.Errorf("user call with no checker (-want +got):\n%s", diff)
	}
}

func TestStartHealthChecksIgnoresProvidersWithoutHealth(t *testing.T) {
	h := newHarness(Policy{}, nil)
	d := dep("plain")
	// Returns at once: nothing to check. A hang here would time the test out.
	h.RunHealthChecks(context.Background(), []*Deployment{d}, time.Millisecond)
	if n := h.state(d).checked.Load(); n != 0 {
		t.Errorf("checked = %d; want 0", n)
	}
}

func TestStartHealthChecks(t *testing.T) {
	h := newHarness(Policy{}, nil)
	gp := &gatedHealth{probed: make(chan struct{}), gate: make(chan error)}
	d := &Deployment{ID: "d", Provider: gp}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.StartHealthChecks(ctx, []*Deployment{d}, time.Hour)
	<-gp.probed
	gp.gate <- err503
	cancel()
}
