package hostpick

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

func TestDo(t *testing.T) {
	// With maxSource, the first backoff of the default policy is its whole
	// 100ms window less one nanosecond.
	const firstBackoff = 100*time.Millisecond - 1
	tests := []struct {
		name   string
		policy Policy
		tiers  [][]*Deployment
		// want
		trace    []string
		sleeps   []time.Duration
		served   string // Outcome.Deployment.ID; "" for nil
		errKind  llmservice.Kind
		errCode  string
		errIs    error         // the error Do returns or wraps
		retryAft time.Duration // on the returned error
	}{
		{
			name:   "primary 500 falls back to the next tier",
			tiers:  [][]*Deployment{{dep("primary", err500, err500)}, {dep("fallback")}},
			trace:  []string{"primary:500", "primary:500", "fallback:ok"},
			sleeps: []time.Duration{firstBackoff},
			served: "fallback",
		},
		{
			name:   "429 with Retry-After waits that long and retries the same deployment",
			tiers:  [][]*Deployment{{dep("a", err429("2"))}, {dep("b")}},
			trace:  []string{"a:429", "a:ok"},
			sleeps: []time.Duration{2 * time.Second},
			served: "a",
		},
		{
			name:   "Retry-After beyond MaxRetryAfter moves on without waiting",
			tiers:  [][]*Deployment{{dep("a", err429("60"))}, {dep("b")}},
			trace:  []string{"a:429", "b:ok"},
			served: "b",
		},
		{
			name:    "400 is returned at once",
			tiers:   [][]*Deployment{{dep("a", err400)}, {dep("b")}},
			trace:   []string{"a:400"},
			served:  "a",
			errKind: llmservice.Invalid,
			errCode: "upstream_rejected_request",
			errIs:   err400,
		},
		{
			name:    "an error of unknown shape is not retried",
			tiers:   [][]*Deployment{{dep("a", errPlain)}, {dep("b")}},
			trace:   []string{"a:internal"},
			served:  "a",
			errKind: llmservice.Internal,
			errIs:   errPlain,
		},
		{
			name:   "a refused connection moves on at once",
			tiers:  [][]*Deployment{{dep("a", errRefused)}, {dep("b")}},
			trace:  []string{"a:upstream", "b:ok"},
			served: "b",
		},
		{
			name:   "timeouts are retried",
			tiers:  [][]*Deployment{{dep("a", errTimeout)}},
			trace:  []string{"a:upstream_timeout", "a:ok"},
			sleeps: []time.Duration{firstBackoff},
			served: "a",
		},
		{
			name:   "retries grow exponentially up to MaxBackoff",
			policy: Policy{RetriesPerDeployment: 3, MaxAttempts: 10, FailuresToOpen: 10, BaseBackoff: time.Second, MaxBackoff: 3 * time.Second},
			tiers:  [][]*Deployment{{dep("a", err503, err503, err503)}},
			trace:  []string{"a:503", "a:503", "a:503", "a:ok"},
			sleeps: []time.Duration{time.Second - 1, 2*time.Second - 1, 3*time.Second - 1},
			served: "a",
		},
		{
			name:     "every tier failing ends with no available hosts, wrapping the last error",
			tiers:    [][]*Deployment{{dep("a", err500, err500)}, {dep("b", err500, err503)}},
			trace:    []string{"a:500", "a:500", "b:500", "b:503"},
			sleeps:   []time.Duration{firstBackoff, firstBackoff},
			served:   "b",
			errKind:  llmservice.Unavailable,
			errCode:  "no_available_hosts",
			errIs:    err503,
			retryAft: 0,
		},
		{
			name:    "MaxAttempts bounds the call",
			policy:  Policy{MaxAttempts: 3},
			tiers:   [][]*Deployment{{dep("a", err500, err500)}, {dep("b", err500, err500)}, {dep("c")}},
			trace:   []string{"a:500", "a:500", "b:500"},
			sleeps:  []time.Duration{firstBackoff},
			served:  "b",
			errKind: llmservice.Unavailable,
			errCode: "no_available_hosts",
			errIs:   err500,
		},
		{
			name:     "an upstream that rate limits to the end is a 429 with its Retry-After",
			tiers:    [][]*Deployment{{dep("a", err429("60"))}},
			trace:    []string{"a:429"},
			served:   "a",
			errKind:  llmservice.RateLimited,
			errCode:  "upstream_rate_limited",
			retryAft: 60 * time.Second,
		},
		{
			name:    "an upstream that times out to the end is a 504",
			tiers:   [][]*Deployment{{dep("a", errTimeout, errTimeout)}},
			trace:   []string{"a:upstream_timeout", "a:upstream_timeout"},
			sleeps:  []time.Duration{firstBackoff},
			served:  "a",
			errKind: llmservice.UpstreamTimeout,
			errCode: "upstream_timeout",
			errIs:   errTimeout,
		},
		{
			name:    "an unreadable answer to the end is a 502 that says so",
			tiers:   [][]*Deployment{{dep("a", errUnreadable, errUnreadable)}},
			trace:   []string{"a:upstream", "a:upstream"},
			sleeps:  []time.Duration{firstBackoff},
			served:  "a",
			errKind: llmservice.Upstream,
			errCode: upstream.CodeUnreadable,
			errIs:   errUnreadable,
		},
		{
			name:   "negative RetriesPerDeployment moves on after one failure",
			policy: Policy{RetriesPerDeployment: -1},
			tiers:  [][]*Deployment{{dep("a", err500)}, {dep("b")}},
			trace:  []string{"a:500", "b:ok"},
			served: "b",
		},
		{
			name:   "empty tiers are skipped",
			tiers:  [][]*Deployment{{}, {dep("b")}},
			trace:  []string{"b:ok"},
			served: "b",
		},
		{
			name:    "no deployments at all",
			tiers:   nil,
			trace:   []string{},
			errKind: llmservice.Unavailable,
			errCode: "no_available_hosts",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.policy, nil)
			out, err := h.Do(context.Background(), tt.tiers, Weighted, chat)
			if diff := cmp.Diff(tt.trace, trace(out.Attempts)); diff != "" {
				t.Errorf("attempts mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.sleeps, h.sleeps.Got()); diff != "" {
				t.Errorf("sleeps mismatch (-want +got):\n%s", diff)
			}
			served := ""
			if out.Deployment != nil {
				served = out.Deployment.ID
			}
			if served != tt.served {
				t.Errorf("Outcome.Deployment = %q; want %q", served, tt.served)
			}
			wantErr := tt.errKind != llmservice.Internal || tt.errIs != nil
			if !wantErr {
				if err != nil {
					t.Fatalf("Do() error = %v; want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Do() error = nil; want an error")
			}
			e := llmservice.AsError(err)
			if e.Kind != tt.errKind || e.Code != tt.errCode {
				t.Errorf("Do() error kind, code = %v, %q; want %v, %q", e.Kind, e.Code, tt.errKind, tt.errCode)
			}
			if tt.errCode == "no_available_hosts" && e.Message != "Max attempts reached - no available hosts" {
				t.Errorf("Do() error message = %q", e.Message)
			}
			if tt.errIs != nil && !errors.Is(err, tt.errIs) {
				t.Errorf("Do() error = %v; want it to wrap %v", err, tt.errIs)
			}
			if e.RetryAfter != tt.retryAft {
				t.Errorf("Do() error RetryAfter = %v; want %v", e.RetryAfter, tt.retryAft)
			}
		})
	}
}

var (
	errPlain      = errors.New("plain failure")
	errUnreadable = upstream.Unreadable("response", errors.New("invalid character '<' looking for beginning of value"))
)

// TestDoDeadline shows that no wait is started that would end past the
// context's deadline: the router moves on (here, to nothing) instead.
func TestDoDeadline(t *testing.T) {
	h := newHarness(Policy{MaxAttempts: 100, RetriesPerDeployment: 50, FailuresToOpen: 100,
		BaseBackoff: 400 * time.Millisecond, MaxBackoff: 400 * time.Millisecond}, nil)
	always := make([]error, 100)
	for i := range always {
		always[i] = err500
	}
	a := dep("a", always...)
	start := h.clk.Now()
	deadline := start.Add(time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()

	out, err := h.Do(ctx, [][]*Deployment{{a}}, Weighted, chat)

	if code := llmservice.AsError(err).Code; code != "no_available_hosts" {
		t.Fatalf("Do() error = %v; want no_available_hosts", err)
	}
	// Waits of ~400ms: after 0 and 0.4s; a third would end at 1.2s.
	if got, want := len(out.Attempts), 3; got != want {
		t.Errorf("attempts = %d; want %d (%v)", got, want, trace(out.Attempts))
	}
	if end := h.clk.Now(); end.After(deadline) {
		t.Errorf("router slept until %v past the deadline", end.Sub(deadline))
	}
}

func TestDoDeadlinePassedTriesNothing(t *testing.T) {
	h := newHarness(Policy{}, nil)
	a := dep("a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := h.Do(ctx, [][]*Deployment{{a}}, Weighted, chat)
	if len(out.Attempts) != 0 {
		t.Errorf("attempts = %v; want none", trace(out.Attempts))
	}
	if !errors.Is(err, context.Canceled) || llmservice.AsError(err).Code != "no_available_hosts" {
		t.Errorf("Do() error = %v; want no_available_hosts wrapping context.Canceled", err)
	}
}

// TestDoCancelledNotHeldAgainstHost: a client that goes away mid-call says
// nothing about the host, so its circuit must not move.
func TestDoCancelledNotHeldAgainstHost(t *testing.T) {
	h := newHarness(Policy{FailuresToOpen: 1}, nil)
	a := dep("a")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := h.Do(ctx, [][]*Deployment{{a}, {dep("b")}}, Weighted, func(ctx context.Context, d *Deployment) error {
		cancel()
		return err500
	})
	if !errors.Is(err, err500) {
		t.Errorf("Do() error = %v; want the attempt's own error", err)
	}
	if s := stateOf(t, h.Router, a); s.Status != StatusHealthy || s.ConsecutiveFailures != 0 {
		t.Errorf("state after a cancelled call = %+v; want healthy", s)
	}
}

func TestPolicyDefaults(t *testing.T) {
	tests := []struct {
		in, want Policy
	}{
		{Policy{}, DefaultPolicy},
		{Policy{RetriesPerDeployment: -1, MaxRetryAfter: -1}, func() Policy {
			p := DefaultPolicy
			p.RetriesPerDeployment, p.MaxRetryAfter = 0, 0
			return p
		}()},
		{Policy{BaseBackoff: 5 * time.Second}, func() Policy {
			p := DefaultPolicy
			p.BaseBackoff, p.MaxBackoff = 5*time.Second, 5*time.Second
			return p
		}()},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, New(tt.in).Policy()); diff != "" {
			t.Errorf("New(%+v).Policy() mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestStrategyValid(t *testing.T) {
	for s, want := range map[Strategy]bool{"": true, Weighted: true, LeastOutstanding: true, LowestLatency: true, "round-robin": false} {
		if got := s.Valid(); got != want {
			t.Errorf("Strategy(%q).Valid() = %v; want %v", s, got, want)
		}
	}
}

func TestSleepCtx(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want error
	}{
		{"no wait", context.Background(), 0, nil},
		{"no wait, cancelled", cancelled, 0, context.Canceled},
		{"cancelled before a long wait", cancelled, time.Hour, context.Canceled},
		{"short wait", context.Background(), time.Microsecond, nil},
	}
	for _, tt := range tests {
		if err := sleepCtx(tt.ctx, tt.d); !errors.Is(err, tt.want) {
			t.Errorf("sleepCtx(%s) = %v; want %v", tt.name, err, tt.want)
		}
	}
}

func TestForget(t *testing.T) {
	h := newHarness(Policy{FailuresToOpen: 1}, nil)
	a := dep("a", errRefused)
	h.Do(context.Background(), [][]*Deployment{{a}}, Weighted, chat)
	h.Forget(a.ID)
	if s := stateOf(t, h.Router, a); s.Status != StatusHealthy {
		t.Errorf("status after Forget = %q; want healthy", s.Status)
	}
}
