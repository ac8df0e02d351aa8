package authguard

import (
	"testing"
	"time"
)

func TestGuard(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	g := New(3, func() time.Time { return now })
	for i := range 3 {
		if d := g.Blocked("ip:1"); d != 0 {
			t.Fatalf("blocked after %d failures", i)
		}
		g.Fail("ip:1")
		now = now.Add(time.Second)
	}
	// Three failures in the minute: blocked until the minute from the first
	// has passed (57 s left).
	if d := g.Blocked("ip:1"); d != 57*time.Second || RetryAfter(d) != 57 {
		t.Errorf("Blocked = %v; want 57s", d)
	}
	if d := g.Blocked("ip:2"); d != 0 {
		t.Errorf("another address is blocked for %v", d)
	}
	now = now.Add(57 * time.Second)
	if d := g.Blocked("ip:1"); d != 0 {
		t.Errorf("still blocked %v after the minute", d)
	}
	g.Fail("ip:1") // a new window
	if d := g.Blocked("ip:1"); d != 0 {
		t.Errorf("blocked after one failure of a new window: %v", d)
	}
	var off *Guard = New(0, nil)
	off.Fail("x")
	if off.Blocked("x") != 0 {
		t.Error("a disabled guard blocks")
	}
}

func TestGuardBounded(t *testing.T) {
	g := New(1, nil)
	for i := range maxEntries + 10 {
		g.Fail(string(rune(i)))
	}
	if n := len(g.entries); n > maxEntries {
		t.Errorf("%d entries; want at most %d", n, maxEntries)
	}
}
