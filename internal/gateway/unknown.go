package gateway

import (
	"sync"
	"time"
)

// unknownKeyTTL is how long a key the database did not know is answered
// 401 without asking it again: a guesser's thousand wrong keys cost the
// database one lookup each at most once per TTL, and a key created since
// (whose hash nobody could have tried) is never in the set.
const unknownKeyTTL = 10 * time.Second

// maxUnknownKeys bounds the set (about 100 bytes an entry): when full it
// is emptied, which only costs lookups.
const maxUnknownKeys = 50_000

// unknownKeys remembers the hashes of keys the database did not know.
type unknownKeys struct {
	mu sync.Mutex
	m  map[string]time.Time // hash -> when it stops counting
}

func (u *unknownKeys) has(hash string, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	until, ok := u.m[hash]
	if ok && !now.Before(until) {
		delete(u.m, hash)
		return false
	}
	return ok
}

func (u *unknownKeys) add(hash string, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil || len(u.m) >= maxUnknownKeys {
		u.m = make(map[string]time.Time)
	}
	u.m[hash] = now.Add(unknownKeyTTL)
}

func (u *unknownKeys) forget(hash string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.m, hash)
}
