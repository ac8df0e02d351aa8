package redisfallback

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
)

// logRecords keeps what the switch logs; the probe logs from its goroutine.
type logRecords struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecords) WithGroup(string) slog.Handler            { return l }

func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Level.String()+" "+r.Message)
	return nil
}

func (l *logRecords) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

var errDown = errors.New("down")

// fakeRedis answers pings as a test tells it to.
type fakeRedis struct {
	mu       sync.Mutex
	up       bool // pings fail until the test brings Redis up
	failures int  // pings to fail even once up
	calls    int
	upCalls  int // calls once up
}

func (f *fakeRedis) ping() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if !f.up {
		return errDown
	}
	f.upCalls++
	if f.upCalls <= f.failures {
		return errDown
	}
	return nil
}

func (f *fakeRedis) bringUp() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up = true
}

func (f *fakeRedis) counts() (calls, upCalls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, f.upCalls
}

func testOptions(logs *logRecords, reg prometheus.Registerer, ping func() error) Options {
	return Options{
		Name:          "widgets",
		FailMessage:   "redis failed",
		BackMessage:   "redis is back",
		Metric:        "test_widgets",
		FallbacksHelp: "Fallbacks.",
		BackendHelp:   "Backend.",
		Registry:      reg,
		Logger:        slog.New(logs),
		ProbeInterval: time.Millisecond,
		Ping:          ping,
	}
}

// waitFor waits for a condition, not a duration: the deadline only stops a
// broken test from hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s", what)
		}
	}
}

func gauge(s *Switch, backend string) float64 {
	return testutil.ToFloat64(s.BackendGauge().WithLabelValues(backend))
}

// An outage is switched, counted and logged once however many calls fail,
// and ends once Ping answers and Recover (if any) has switched back.
func TestSwitchOutage(t *testing.T) {
	tests := []struct {
		name         string
		pingFailures int // pings failing once Redis is up
		declines     int // Recover calls returning without back; -1: no Recover
	}{
		{"ping answers at once", 0, -1},
		{"ping fails first", 3, -1},
		{"recover switches at once", 0, 0},
		{"recover declines first", 0, 2},
		{"ping fails, recover declines", 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logRecords
			fake := &fakeRedis{failures: tt.pingFailures}
			opts := testOptions(&logs, prometheus.NewRegistry(), fake.ping)
			var mu sync.Mutex
			opts.Locker = &mu
			onFails, recovers := 0, 0 // onFails under mu; recovers in the probe alone
			opts.OnFail = func() {
				if mu.TryLock() {
					t.Error("OnFail ran without Locker held")
					mu.Unlock()
				}
				onFails++
			}
			if tt.declines >= 0 {
				opts.Recover = func(back func()) {
					if recovers++; recovers <= tt.declines {
						return
					}
					mu.Lock()
					back()
					mu.Unlock()
				}
			}
			s := New(opts)
			defer s.Close()
			if s.OnLocal() || s.Backend() != Redis || gauge(s, Redis) != 1 || gauge(s, Local) != 0 {
				t.Fatalf("new switch on %s, gauge redis=%v local=%v; want redis", s.Backend(), gauge(s, Redis), gauge(s, Local))
			}

			for range 3 {
				s.Fail(errors.New("boom"))
			}
			if !s.OnLocal() || s.Backend() != Local || gauge(s, Local) != 1 || gauge(s, Redis) != 0 {
				t.Fatalf("after Fail on %s, gauge redis=%v local=%v; want local", s.Backend(), gauge(s, Redis), gauge(s, Local))
			}
			if n := testutil.ToFloat64(s.Fallbacks()); n != 1 {
				t.Errorf("fallbacks = %v; want 1", n)
			}
			mu.Lock()
			if onFails != 1 {
				t.Errorf("OnFail ran %d times; want 1", onFails)
			}
			mu.Unlock()

			fake.bringUp()
			waitFor(t, "back on redis", func() bool { return !s.OnLocal() })
			s.Close() // the probe has logged once Close returns
			if gauge(s, Redis) != 1 || gauge(s, Local) != 0 {
				t.Errorf("gauge redis=%v local=%v after recovery; want 1, 0", gauge(s, Redis), gauge(s, Local))
			}
			if _, n := fake.counts(); n != tt.pingFailures+1+max(tt.declines, 0) {
				t.Errorf("pinged %d times once up; want %d", n, tt.pingFailures+1+max(tt.declines, 0))
			}
			if n := logs.count("WARN widgets: redis failed"); n != 1 {
				t.Errorf("logged the fallback %d times; want once: %q", n, logs.msgs)
			}
			if n := logs.count("INFO widgets: redis is back"); n != 1 {
				t.Errorf("logged the recovery %d times; want once: %q", n, logs.msgs)
			}
		})
	}
}

// A second outage is a new one: counted, logged and probed again.
func TestSwitchSecondOutage(t *testing.T) {
	var logs logRecords
	s := New(testOptions(&logs, nil, func() error { return nil }))
	defer s.Close()
	for i := range 2 {
		s.Fail(errors.New("boom"))
		waitFor(t, "back on redis", func() bool { return !s.OnLocal() })
		if n := testutil.ToFloat64(s.Fallbacks()); n != float64(i+1) {
			t.Errorf("fallbacks after outage %d = %v; want %d", i+1, n, i+1)
		}
	}
}

// Close stops a probe that would never succeed; after it a failure still
// goes local, but nothing probes any more.
func TestSwitchClose(t *testing.T) {
	var logs logRecords
	fake := &fakeRedis{}
	s := New(testOptions(&logs, nil, fake.ping))
	s.Fail(errors.New("boom"))
	waitFor(t, "probing", func() bool { calls, _ := fake.counts(); return calls > 0 })
	s.Close()
	s.Close()
	if !s.OnLocal() {
		t.Fatal("back on redis though no ping answered")
	}
	before, _ := fake.counts()
	time.Sleep(20 * time.Millisecond)
	if after, _ := fake.counts(); after != before {
		t.Error("still probing after Close")
	}

	closed := New(testOptions(&logs, nil, func() error {
		t.Error("probed after Close")
		return nil
	}))
	closed.Close()
	closed.Fail(errors.New("boom"))
	if !closed.OnLocal() {
		t.Error("Fail after Close did not go local")
	}
	time.Sleep(20 * time.Millisecond)
}

// Two switches on one registry share its series rather than fail; a clash
// with another metric is logged and leaves the switch working.
func TestRegister(t *testing.T) {
	var logs logRecords
	reg := prometheus.NewRegistry()
	a := New(testOptions(&logs, reg, nil))
	b := New(testOptions(&logs, reg, nil))
	if a.Fallbacks() != b.Fallbacks() || a.BackendGauge() != b.BackendGauge() {
		t.Error("second switch on the registry got collectors of its own")
	}
	if n, err := testutil.GatherAndCount(reg, "test_widgets_fallbacks_total", "test_widgets_backend"); err != nil || n != 3 {
		t.Errorf("registered series = %d, %v; want 3", n, err)
	}

	opts := testOptions(&logs, reg, (&fakeRedis{}).ping)
	opts.FallbacksHelp = "Another help for the same name."
	c := New(opts)
	if c.Fallbacks() == a.Fallbacks() {
		t.Error("clashing switch got the registered counter")
	}
	if n := logs.count("WARN widgets: metrics not registered"); n != 1 {
		t.Errorf("logged the clash %d times; want once: %q", n, logs.msgs)
	}
	c.Fail(errors.New("boom"))
	c.Close()
	if n := testutil.ToFloat64(c.Fallbacks()); n != 1 || c.Backend() != Local {
		t.Errorf("clashing switch: fallbacks %v on %s; want 1 on local", n, c.Backend())
	}
}

// A Redis that does not answer fails the ping, so the probe goes on.
func TestPingerUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	if err := Pinger(rdb, time.Second, redis.NewScript("return 1"))(); err == nil {
		t.Error("Pinger answered nil for a closed port")
	}
}

// Issue 11: go-redis printed "connection pool: failed to dial" on stderr
// at every attempt. Quiet makes an outage two structured lines.
func TestQuietLogsOncePerStateChange(t *testing.T) {
	url := os.Getenv("LLMSERVICE_TEST_REDIS_URL")
	if url == "" {
		t.Skip("LLMSERVICE_TEST_REDIS_URL is unset")
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	o.MaxRetries = -1
	o.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if down.Load() {
			return nil, errors.New("connection refused (test)")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	rdb := redis.NewClient(o)
	defer rdb.Close()
	var logs lockedBuffer
	Quiet(rdb, slog.New(slog.NewJSONHandler(&logs, nil)), nil) // info and up: debug lines dropped
	ctx := context.Background()
	down.Store(true)
	for range 5 {
		if err := rdb.Ping(ctx).Err(); err == nil {
			t.Fatal("ping while down answered")
		}
	}
	down.Store(false)
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping after the outage: %v", err)
	}
	out := logs.String()
	if n := strings.Count(out, "redis unavailable"); n != 1 {
		t.Errorf("logged the outage %d times; want once:\n%s", n, out)
	}
	if n := strings.Count(out, "redis answers again"); n != 1 {
		t.Errorf("logged the end of the outage %d times; want once:\n%s", n, out)
	}
	if strings.Contains(out, "failed to dial") {
		t.Errorf("go-redis's dial failures reached the log at info level:\n%s", out)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
