package cache

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

func TestMemory(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	m := NewMemory(520, // three entries of 167 bytes
		func() time.Time { return now })
	val := make([]byte, 100)
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"SetGet", func(t *testing.T) {
			_ = m.Set(ctx, "a:1", val, time.Minute)
			if _, ok, _ := m.Get(ctx, "a:1"); !ok {
				t.Fatal("miss after set")
			}
		}},
		{"Expires", func(t *testing.T) {
			_ = m.Set(ctx, "a:2", val, time.Second)
			now = now.Add(2 * time.Second)
			if _, ok, _ := m.Get(ctx, "a:2"); ok {
				t.Fatal("hit after the TTL")
			}
		}},
		{"EvictsLeastRecentlyUsed", func(t *testing.T) {
			_, _ = m.Purge(ctx, "")
			for _, k := range []string{"a:1", "a:2", "a:3"} {
				_ = m.Set(ctx, k, val, time.Minute)
			}
			_, _, _ = m.Get(ctx, "a:1") // a:2 is now the oldest
			_ = m.Set(ctx, "a:4", val, time.Minute)
			if _, ok, _ := m.Get(ctx, "a:2"); ok {
				t.Fatal("a:2 kept beyond the bound")
			}
			if _, ok, _ := m.Get(ctx, "a:1"); !ok {
				t.Fatal("a:1, recently used, evicted")
			}
		}},
		{"PurgeOneTeam", func(t *testing.T) {
			_, _ = m.Purge(ctx, "")
			_ = m.Set(ctx, "a:1", val, time.Minute)
			_ = m.Set(ctx, "ab:1", val, time.Minute)
			if n, _ := m.Purge(ctx, "a"); n != 1 {
				t.Fatalf("purged %d; want 1", n)
			}
			if _, ok, _ := m.Get(ctx, "ab:1"); !ok {
				t.Fatal("team ab purged with team a")
			}
		}},
		{"TooLarge", func(t *testing.T) {
			_ = m.Set(ctx, "a:big", make([]byte, 1000), time.Minute)
			if _, ok, _ := m.Get(ctx, "a:big"); ok {
				t.Fatal("an entry larger than the bound kept")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestKeyNormalized(t *testing.T) {
	a := json.RawMessage(`{"type":"object", "properties": {"x":{"type":"string"}}}`)
	b := json.RawMessage(`{"properties":{"x":{"type":"string"}},"type":"object"}`)
	if string(Canonical(a)) != string(Canonical(b)) {
		t.Fatalf("%s != %s", Canonical(a), Canonical(b))
	}
	k1, _ := Key("t1", "chat", "m", Canonical(a))
	k2, _ := Key("t2", "chat", "m", Canonical(a))
	k3, _ := Key("t1", "chat", "m2", Canonical(a))
	if k1 == k2 || k1 == k3 {
		t.Fatal("keys of different teams or models collide")
	}
}
