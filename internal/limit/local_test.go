package limit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is an injected clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestLocalScenarios(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			clock := newFakeClock()
			start := clock.now()
			l := NewLocal(clock.now)
			setClock := func(at time.Duration) {
				clock.mu.Lock()
				clock.t = start.Add(at)
				clock.mu.Unlock()
			}
			runScenario(t, l, sc, setClock, 1, "")
		})
	}
}

func TestLocalInvalid(t *testing.T) {
	l := NewLocal(nil)
	ctx := context.Background()
	if _, _, err := l.Take(ctx, []Rule{{Key: "k", Limit: 1}}, []int64{1}); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("Take(zero window) = %v; want ErrInvalidRule", err)
	}
	if err := l.Adjust(ctx, Status{Rule: Rule{Limit: 1, Window: time.Second}}, 1); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("Adjust(empty key) = %v; want ErrInvalidRule", err)
	}
}

// race runs n goroutines released together; each calls f(i) once.
func race(n int, f func(i int)) {
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			f(i)
		}()
	}
	start.Done()
	done.Wait()
}

func TestLocalConcurrentExactlyLimit(t *testing.T) {
	l := NewLocal(newFakeClock().now) // time stands still: no refill during the race
	r := []Rule{rule("key:race:rpm", 50, time.Minute)}
	var admitted atomic.Int64
	race(200, func(int) {
		_, ok, err := l.Take(context.Background(), r, []int64{1})
		if err != nil {
			t.Error(err)
		}
		if ok {
			admitted.Add(1)
		}
	})
	if got := admitted.Load(); got != 50 {
		t.Errorf("admitted %d of 200 against 50 RPM; want 50", got)
	}
}

// Four keys of one team race with their rules in varying orders (so that an
// unordered locking would deadlock): the team admits exactly its 100 and no
// key more than its 50.
func TestLocalConcurrentSharedTeam(t *testing.T) {
	l := NewLocal(newFakeClock().now)
	team := rule("team:acme:rpm", 100, time.Minute)
	var perKey [4]atomic.Int64
	var total atomic.Int64
	race(400, func(i int) {
		k := i % 4
		key := rule(fmt.Sprintf("key:%d:rpm", k), 50, time.Minute)
		km := rule(fmt.Sprintf("keymodel:%d:gpt:rpm", k), 50, time.Minute)
		rules := []Rule{key, team, km}
		if i%2 == 1 {
			rules = []Rule{km, team, key}
		}
		_, ok, err := l.Take(context.Background(), rules, []int64{1, 1, 1})
		if err != nil {
			t.Error(err)
		}
		if ok {
			perKey[k].Add(1)
			total.Add(1)
		}
	})
	if got := total.Load(); got != 100 {
		t.Errorf("team admitted %d; want 100", got)
	}
	for k := range perKey {
		if got := perKey[k].Load(); got > 50 {
			t.Errorf("key %d admitted %d; want at most 50", k, got)
		}
	}
}

func TestLocalEvictsIdleKeys(t *testing.T) {
	clock := newFakeClock()
	l := NewLocal(clock.now)
	ctx := context.Background()
	const n = 5000
	takeAll := func(gen int) {
		for i := range n {
			r := []Rule{rule(fmt.Sprintf("gen%d:key%d", gen, i), 10, time.Minute)}
			if _, ok, err := l.Take(ctx, r, []int64{1}); !ok || err != nil {
				t.Fatalf("Take = %v, %v", ok, err)
			}
		}
	}
	takeAll(0)
	if got := l.Len(); got != n {
		t.Fatalf("Len() = %d after %d keys; want %d", got, n, n)
	}
	// The first generation is idle once its buckets have left the window
	// and a sweep comes due; the second generation's takes trigger the sweeps.
	clock.advance(sweepEvery + time.Second)
	takeAll(1)
	if got := l.Len(); got != n {
		t.Errorf("Len() = %d after a second generation of %d keys; want %d (idle keys dropped)", got, n, n)
	}
}

// A full refund removes the key rather than keeping empty buckets.
func TestLocalAdjustRefundDeletes(t *testing.T) {
	l := NewLocal(newFakeClock().now)
	r := rule("k", 10, time.Minute)
	ctx := context.Background()
	st, _, err := l.Take(ctx, []Rule{r}, []int64{3})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Adjust(ctx, st[0], -3); err != nil {
		t.Fatal(err)
	}
	if got := l.Len(); got != 0 {
		t.Errorf("Len() = %d after a full refund; want 0", got)
	}
}

func TestLocalTakeAllocations(t *testing.T) {
	l := NewLocal(nil)
	rules := []Rule{
		rule("key:alloc:rpm", 1e9, time.Minute),
		rule("team:alloc:tpm", 1e9, time.Minute),
		rule("keymodel:alloc:gpt:rpm", 1e9, time.Minute),
	}
	costs := []int64{1, 1, 1}
	ctx := context.Background()
	l.Take(ctx, rules, costs) // create the keys
	// The statuses slice is the one allocation: it is returned to the caller.
	if got := testing.AllocsPerRun(100, func() { l.Take(ctx, rules, costs) }); got > 1 {
		t.Errorf("Take of 3 rules allocates %v times; want at most 1", got)
	}
}

func TestSortedUnique(t *testing.T) {
	tests := []struct{ in, want []uint16 }{
		{nil, nil},
		{[]uint16{3}, []uint16{3}},
		{[]uint16{3, 1, 2}, []uint16{1, 2, 3}},
		{[]uint16{5, 5, 1, 5, 1}, []uint16{1, 5}},
	}
	for _, tt := range tests {
		got := sortedUnique(append([]uint16(nil), tt.in...))
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("sortedUnique(%v) = %v; want %v", tt.in, got, tt.want)
		}
	}
}
