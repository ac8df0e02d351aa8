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
	// its newest bucket has left the window: its state is then the same as
	// no state at all.
	sweepEvery = time.Minute
	// stackRules is how many rules a take handles without heap allocation.
	stackRules = 8
	// epoch starts the local clock (µs) far enough from zero that bucket
	// arithmetic never sees negative times.
	epoch = int64(MaxWindow / time.Microsecond)
)

// Local is an in-memory Limiter for one process. It is safe for concurrent
// use. A key holds its live buckets: at most Buckets+1 of 16 bytes, about
// 1 KiB for a key busy in every bucket of its window, plus the map entry.
// Memory stays bounded by the keys used within the last window plus one
// sweep interval.
type Local struct {
	now    func() time.Time
	base   time.Time
	seed   maphash.Seed
	shards [numShards]shard
}

type shard struct {
	mu      sync.Mutex
	keys    map[string]*state
	sweepAt int64
	_       [40]byte // one cache line per shard, so neighbours don't contend
}

// state is one key: its live buckets, oldest first, and its span.
type state struct {
	span
	b []bucket
}

// prune drops the buckets that left the window at now.
func (st *state) prune(now int64) {
	old := st.oldest(now)
	i := 0
	for i < len(st.b) && st.b[i].k < old {
		i++
	}
	if i > 0 {
		st.b = st.b[:copy(st.b, st.b[i:])]
	}
}

// add charges n units in bucket k (the current one, or one still live).
func (st *state) add(k, n int64) {
	if n <= 0 {
		return
	}
	i := len(st.b)
	for i > 0 && st.b[i-1].k > k {
		i--
	}
	if i > 0 && st.b[i-1].k == k {
		st.b[i-1].n = min(st.b[i-1].n+n, maxUnits)
		return
	}
	st.b = append(st.b, bucket{})
	copy(st.b[i+1:], st.b[i:])
	st.b[i] = bucket{k: k, n: min(n, maxUnits)}
}

// take away up to n units from bucket k, if it is still there.
func (st *state) remove(k, n int64) {
	for i := range st.b {
		if st.b[i].k == k {
			if st.b[i].n -= n; st.b[i].n <= 0 {
				st.b = append(st.b[:i], st.b[i+1:]...)
			}
			return
		}
	}
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
		l.shards[i].keys = make(map[string]*state)
	}
	return l
}

// clock returns the limiter's time in µs.
func (l *Local) clock() int64 { return epoch + l.now().Sub(l.base).Microseconds() }

func (l *Local) shardOf(key string) uint16 {
	return uint16(maphash.String(l.seed, key) % numShards)
}

// Take implements Limiter. It never blocks on anything but the shard locks
// of its own keys and ignores ctx.
func (l *Local) Take(_ context.Context, rules []Rule, costs []int64) ([]Status, bool, error) {
	if err := validate(rules, costs); err != nil {
		return nil, false, err
	}
	statuses := make([]Status, len(rules)) // allocated before locking, to keep the locks short
	ok := l.take(rules, costs, statuses, false)
	return statuses, ok, nil
}

// take decides and charges rules, filling statuses; with force it charges
// without checking (the copy of a take Redis admitted) and only fills the
// receipts.
func (l *Local) take(rules []Rule, costs []int64, statuses []Status, force bool) bool {
	var stBuf [stackRules]*state
	var viewBuf [stackRules]view
	var idxBuf, orderBuf [stackRules]uint16
	states, views, idx := stBuf[:0], viewBuf[:0], idxBuf[:0]
	for _, r := range rules {
		idx = append(idx, l.shardOf(r.Key))
	}
	// Locking the shards in ascending order means two takes can never each
	// hold a lock the other waits for.
	order := sortedUnique(append(orderBuf[:0], idx...))
	for _, s := range order {
		l.shards[s].mu.Lock()
	}
	now := l.clock() // under the locks, so commits on a key see time move forward

	ok := true
	for i, r := range rules {
		sp := spanOf(r)
		st := l.shards[idx[i]].keys[r.Key]
		if st != nil {
			st.prune(now)
			st.span = sp
		}
		states = append(states, st)
		var bs []bucket
		if st != nil {
			bs = st.b
		}
		v := look(bs, pendingOf(rules, costs, i), sp.bucket(now), costs[i], r.Limit)
		views = append(views, v)
		if !fits(v.used, costs[i], r.Limit) {
			ok = false
		}
	}
	ok = ok || force
	for i, r := range rules {
		c := costs[i]
		if force {
			if c > 0 {
				statuses[i].receipt = receipt{charged: true, bucket: spanOf(r).bucket(now)}
			}
		} else {
			statuses[i] = status(r, c, views[i], now, spanOf(r).bucket(now), ok)
		}
		if !ok || c <= 0 || c > r.Limit && !force {
			continue
		}
		st := states[i]
		if st == nil {
			// A later rule of the same key finds the state made here.
			st = &state{span: spanOf(r)}
			l.shards[idx[i]].keys[r.Key] = st
			for j := i + 1; j < len(rules); j++ {
				if rules[j].Key == r.Key {
					states[j] = st
				}
			}
		}
		st.add(st.bucket(now), c)
	}
	for _, s := range order {
		l.shards[s].sweep(now)
		l.shards[s].mu.Unlock()
	}
	return ok
}

// pendingOf returns the units earlier rules of the same take charge to rule
// i's key: rules sharing a key share one state, so a later one sees them.
func pendingOf(rules []Rule, costs []int64, i int) int64 {
	var p int64
	for j := range i {
		if rules[j].Key == rules[i].Key && costs[j] <= rules[j].Limit {
			p += costs[j]
		}
	}
	return p
}

// Adjust implements Limiter.
func (l *Local) Adjust(_ context.Context, taken Status, delta int64) error {
	if err := validateRule(taken.Rule); err != nil {
		return err
	}
	l.adjust(taken.Rule, taken.receipt.charged, taken.receipt.bucket, delta)
	return nil
}

// adjust gives back -delta units to bucket k (if charged there) or charges
// delta units now.
func (l *Local) adjust(r Rule, charged bool, k, delta int64) {
	if delta == 0 || delta < 0 && !charged {
		return
	}
	sh := &l.shards[l.shardOf(r.Key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := l.clock()
	st := sh.keys[r.Key]
	if st != nil {
		st.prune(now)
	}
	switch {
	case delta < 0 && st != nil:
		st.remove(k, min(-delta, maxUnits))
	case delta > 0:
		if st == nil {
			st = &state{span: spanOf(r)}
			sh.keys[r.Key] = st
		}
		st.add(st.bucket(now), min(delta, maxUnits))
	}
	if st != nil && len(st.b) == 0 {
		delete(sh.keys, r.Key)
	}
}

// Len returns the number of keys held, idle ones not yet swept included.
func (l *Local) Len() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.keys)
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
	sh.sweepAt = now + sweepEvery.Microseconds()
	for k, st := range sh.keys {
		if len(st.b) == 0 || st.b[len(st.b)-1].k < st.oldest(now) {
			delete(sh.keys, k)
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

// fork returns an empty limiter on the same clock, whose buckets are
// numbered like l's.
func (l *Local) fork() *Local {
	f := &Local{now: l.now, base: l.base, seed: maphash.MakeSeed()}
	for i := range f.shards {
		f.shards[i].keys = make(map[string]*state)
	}
	return f
}

// entry is the units of one bucket of one key, for a replay to Redis: age
// is how long ago (µs) the bucket ended, k its number here.
type entry struct {
	key  string
	g, w int64
	k, n int64
	age  int64
}

// entries lists the live buckets of every key.
func (l *Local) entries() []entry {
	var out []entry
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		now := l.clock()
		for key, st := range sh.keys {
			st.prune(now)
			for _, b := range st.b {
				out = append(out, entry{key: key, g: st.g, w: st.w, k: b.k, n: b.n, age: max(now-(b.k+1)*st.g, 0)})
			}
		}
		sh.mu.Unlock()
	}
	return out
}

// restore charges entries taken from a fork of the same clock back in.
func (l *Local) restore(es []entry) {
	for _, e := range es {
		sh := &l.shards[l.shardOf(e.key)]
		sh.mu.Lock()
		st := sh.keys[e.key]
		if st == nil {
			st = &state{span: span{g: e.g, w: e.w}}
			sh.keys[e.key] = st
		}
		st.add(e.k, e.n)
		sh.mu.Unlock()
	}
}
