// Package authguard throttles failed authentications: past a number of
// failures in a minute from one client address (or for one username), the
// next attempts are refused with 429 until that minute has passed, so
// that keys, secrets and passwords cannot be guessed at network speed.
// Requests from addresses that have not failed are never delayed.
package authguard

import (
	"sync"
	"sync/atomic"
	"time"
)

// Window is how long failures are counted, and how long a block lasts at
// most.
const Window = time.Minute

// maxEntries bounds memory: a flood of addresses (each entry about 100
// bytes) clears the table instead of growing it past about 10 MB.
const maxEntries = 100_000

// Guard counts failures per key (an address or a username).
type Guard struct {
	limit int
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]*entry
	swept   time.Time
	// size is len(entries), readable without the lock: while no key has
	// failed, which is nearly always, callers skip building the key, the
	// clock read and the lock.
	size atomic.Int64
}

// Idle reports whether no key has failures on record, so none is blocked.
func (g *Guard) Idle() bool { return g == nil || g.size.Load() == 0 }

type entry struct {
	start    time.Time // the first failure of the window
	failures int
}

// New returns a Guard that blocks a key after limit failures in a minute;
// limit <= 0 returns nil, which blocks nothing.
func New(limit int, now func() time.Time) *Guard {
	if limit <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &Guard{limit: limit, now: now, entries: map[string]*entry{}}
}

// Blocked returns how long key stays blocked, or 0 when it may try.
func (g *Guard) Blocked(key string) time.Duration {
	if g == nil {
		return 0
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.entries[key]
	if !ok || e.failures < g.limit {
		return 0
	}
	left := e.start.Add(Window).Sub(now)
	if left <= 0 {
		delete(g.entries, key)
		g.size.Store(int64(len(g.entries)))
		return 0
	}
	return left
}

// Fail counts a failed authentication of key.
func (g *Guard) Fail(key string) {
	if g == nil {
		return
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweep(now)
	e, ok := g.entries[key]
	if !ok || now.Sub(e.start) >= Window {
		if len(g.entries) >= maxEntries {
			clear(g.entries)
		}
		g.entries[key] = &entry{start: now, failures: 1}
		g.size.Store(int64(len(g.entries)))
		return
	}
	e.failures++
}

// sweep drops finished windows once a minute, so quiet keys do not stay.
func (g *Guard) sweep(now time.Time) {
	if now.Sub(g.swept) < Window {
		return
	}
	g.swept = now
	for k, e := range g.entries {
		if now.Sub(e.start) >= Window {
			delete(g.entries, k)
		}
	}
	g.size.Store(int64(len(g.entries)))
}

// RetryAfter is the Retry-After value for a block of d: whole seconds,
// rounded up.
func RetryAfter(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}
