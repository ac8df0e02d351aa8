package limit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

const (
	// numShards spreads keys over independent mutexes so that requests of
	// different keys rarely wait for each other.
	numShards = 256
	// sweepEvery is how often a shard drops its idle keys. A key is idle once
	// its TAT has passed: its state is then the same as no state at all.
	sweepEvery = time.Minute
	// stackRules is how many rules a take handles without heap allocation.
	stackRules = 8
)

// Local is an in-memory Limiter for one process. It is safe for concurrent
// use. Memory stays bounded by the keys used within the last window plus
// one sweep interval.
type Local struct {
	now    func() time.Time
	base   time.Time
	seed   maphash.Seed
	shards [numShards]shard
}

type shard struct {
	mu sync.Mutex
	// tat maps a key to its TAT in ns since Local.base. Pointers let a take
	// update the keys it looked up without hashing them again.
	tat     map[string]*int64
	sweepAt int64
	_       [40]byte // one cache line per shard, so neighbours don't contend
}

// NewLocal returns an empty limiter reading time from now (time.Now if nil).
// Time is measured from the first reading, so with time.Now the monotonic
// clock is used and wall-clock jumps do not disturb the limits.
func NewLocal(now func() time.Time) *Local {
	if now == nil {
		now = time.Now
	}
	l := &Local{now: now, base: now(), seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].tat = make(map[string]*int64)
	}
	return l
}

func (l *Local) clock() int64 { return int64(l.now().Sub(l.base)) }

func (l *Local) shardOf(key string) uint16 {
	return uint16(maphash.String(l.seed, key) % numShards)
}

// Take implements Limiter. It never blocks on anything but the shard locks
// of its own keys and ignores ctx.
func (l *Local) Take(_ context.Context, rules []Rule, costs []int64) ([]Status, bool, error) {
	if err := validate(rules, costs); err != nil {
		return nil, false, err
	}
	var cellBuf [stackRules]cell
	var tatBuf [stackRules]*int64
	var idxBuf, orderBuf [stackRules]uint16
	cells, tats, idx := cellBuf[:0], tatBuf[:0], idxBuf[:0]
	for i, r := range rules {
		cells = append(cells, newCell(r, costs[i]))
		idx = append(idx, l.shardOf(r.Key))
	}
	statuses := make([]Status, len(rules)) // allocated before locking, to keep the locks short
	// Locking the shards in ascending order means two takes can never each
	// hold a lock the other waits for.
	order := sortedUnique(append(orderBuf[:0], idx...))
	for _, s := range order {
		l.shards[s].mu.Lock()
	}
	now := l.clock() // under the locks, so commits on a key see time move forward

	for i := range rules {
		tat := l.shards[idx[i]].tat[rules[i].Key]
		tats = append(tats, tat)
		cells[i].backlog = backlog(rules, cells, tat, i, now)
	}
	ok := decide(statuses, rules, cells)
	if ok {
		for i, r := range rules {
			if cells[i].inc == 0 {
				continue
			}
			// A later rule on the same key already includes this charge,
			// so the last write of a key is its final state.
			v := now + cells[i].backlog + cells[i].inc
			if tats[i] != nil {
				*tats[i] = v
			} else {
				l.shards[idx[i]].tat[r.Key] = newTAT(v)
			}
		}
	}
	for _, s := range order {
		l.shards[s].sweep(now)
		l.shards[s].mu.Unlock()
	}
	return statuses, ok, nil
}

// backlog returns rule i's backlog at now, given its stored TAT (nil if
// none). If an earlier rule of the same take has the same key, the two share
// one state, so rule i starts where that one's charge ends.
func backlog(rules []Rule, cells []cell, tat *int64, i int, now int64) int64 {
	for j := i - 1; j >= 0; j-- {
		if rules[j].Key == rules[i].Key {
			return cells[j].backlog + cells[j].inc // inc is 0 when tooLarge
		}
	}
	if tat == nil || *tat <= now {
		return 0
	}
	return *tat - now
}

// Adjust implements Limiter.
func (l *Local) Adjust(_ context.Context, r Rule, delta int64) error {
	if err := validateRule(r); err != nil {
		return err
	}
	sh := &l.shards[l.shardOf(r.Key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := l.clock()
	tat := sh.tat[r.Key]
	var b int64
	if tat != nil {
		b = max(*tat-now, 0)
	}
	switch b = adjusted(b, r, delta); {
	case b == 0:
		delete(sh.tat, r.Key)
	case tat != nil:
		*tat = now + b
	default:
		sh.tat[r.Key] = newTAT(now + b)
	}
	return nil
}

// newTAT allocates the state of a new key; only then does a take allocate it.
func newTAT(v int64) *int64 { return &v }

// Len returns the number of keys held, idle ones not yet swept included.
func (l *Local) Len() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.tat)
		sh.mu.Unlock()
	}
	return n
}

// sweep drops the shard's idle keys once per sweepEvery. It runs with the
// shard locked, on the request that happens to come due: a scan of one
// shard's keys, 1/numShards of the total, once a minute.
func (sh *shard) sweep(now int64) {
	if now < sh.sweepAt {
		return
	}
	sh.sweepAt = now + int64(sweepEvery)
	for k, tat := range sh.tat {
		if *tat <= now {
			delete(sh.tat, k)
		}
	}
}

// sortedUnique sorts a handful of shard indexes in place (insertion sort:
// the slice has a few elements) and drops duplicates.
func sortedUnique(s []uint16) []uint16 {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	out := s[:0]
	for _, v := range s {
		if len(out) == 0 || v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}
