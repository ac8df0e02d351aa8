package budget

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
)

// accountant is what both Accountant and Redis offer (the gateway's Budgets).
type accountant interface {
	Reserve(ctx context.Context, scopes []Scope, amount llmservice.Nanos) (*Reservation, error)
	Available(ctx context.Context, s Scope) (llmservice.Nanos, error)
	Status(ctx context.Context, s Scope) (Status, error)
	Forget(key string)
}

// newAccountant builds the implementation under test.
type newAccountant func(source SpendSource, now func() time.Time) accountant

// both runs test against the in-memory Accountant and, when a test Redis is
// configured, against Redis.
func both(t *testing.T, test func(t *testing.T, newAcct newAccountant)) {
	t.Run("memory", func(t *testing.T) {
		test(t, func(source SpendSource, now func() time.Time) accountant { return New(source, now) })
	})
	t.Run("redis", func(t *testing.T) {
		url := redisURL(t)
		prefix := testPrefix(t, url)
		test(t, func(source SpendSource, now func() time.Time) accountant {
			return newTestRedis(t, newClient(t, url), source, RedisOptions{Prefix: prefix, Now: now})
		})
	})
}

func fixedSource(n llmservice.Nanos) SpendSource {
	return func(context.Context, string, string, time.Time) (llmservice.Nanos, error) { return n, nil }
}

func TestPeriods(t *testing.T) {
	at := time.Date(2026, 11, 22, 15, 4, 5, 0, time.UTC) // a Sunday
	for _, tc := range []struct {
		period     string
		start, end time.Time
	}{
		{"daily", time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)},
		{"weekly", time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)},
		{"monthly", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{"", time.Time{}, time.Time{}},
	} {
		if got := PeriodStart(tc.period, at); !got.Equal(tc.start) {
			t.Errorf("PeriodStart(%q) = %v; want %v", tc.period, got, tc.start)
		}
		if got := PeriodEnd(tc.period, at); !got.Equal(tc.end) {
			t.Errorf("PeriodEnd(%q) = %v; want %v", tc.period, got, tc.end)
		}
	}
}

func TestReserveSettle(t *testing.T) {
	both(t, func(t *testing.T, newAcct newAccountant) {
		ctx := context.Background()
		a := newAcct(fixedSource(300), nil)
		s := Scope{Key: "team:t", Label: "team 't'", Limit: 1000, TeamID: "t"}
		r1, err := a.Reserve(ctx, []Scope{s}, 500)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Reserve(ctx, []Scope{s}, 300); llmservice.ErrorKind(err) != llmservice.BudgetExceeded {
			t.Fatalf("reserve past the limit: err = %v; want BudgetExceeded", err)
		}
		r1.Settle(100) // the call cost less than held
		r1.Settle(100) // a second settle changes nothing
		if got, _ := a.Available(ctx, s); got != 600 {
			t.Errorf("available = %d; want 1000-300-100 = 600", got)
		}
		if _, err := a.Reserve(ctx, []Scope{s}, 600); err != nil {
			t.Errorf("reserve exactly what is left: %v", err)
		}
		st, err := a.Status(ctx, s)
		if err != nil || st.Spent != 400 || st.Reserved != 600 {
			t.Errorf("status = %+v, %v; want spent 400, reserved 600", st, err)
		}
	})
}

func TestReserveIsAllOrNothing(t *testing.T) {
	both(t, func(t *testing.T, newAcct newAccountant) {
		ctx := context.Background()
		a := newAcct(fixedSource(0), nil)
		team := Scope{Key: "team:t", Limit: 1000, TeamID: "t"}
		key := Scope{Key: "key:k", Limit: 100, TeamID: "t", KeyID: "k"}
		if _, err := a.Reserve(ctx, []Scope{team, key}, 200); err == nil {
			t.Fatal("reserve over the key budget succeeded")
		}
		if got, _ := a.Available(ctx, team); got != 1000 {
			t.Errorf("team available = %d after a refused reserve; want 1000", got)
		}
		r, err := a.Reserve(ctx, []Scope{team, key}, 100)
		if err != nil {
			t.Fatal(err)
		}
		r.Settle(60)
		if got, _ := a.Available(ctx, team); got != 940 {
			t.Errorf("team available = %d; want 940", got)
		}
		if got, _ := a.Available(ctx, key); got != 40 {
			t.Errorf("key available = %d; want 40", got)
		}
	})
}

func TestPeriodRollsOver(t *testing.T) {
	both(t, func(t *testing.T, newAcct newAccountant) {
		ctx := context.Background()
		now := time.Date(2026, 11, 22, 23, 59, 0, 0, time.UTC)
		loads := 0
		src := func(_ context.Context, _, _ string, from time.Time) (llmservice.Nanos, error) {
			loads++
			if from.Day() == 22 {
				return 900, nil
			}
			return 0, nil
		}
		a := newAcct(src, func() time.Time { return now })
		s := Scope{Key: "team:t", Limit: 1000, Period: "daily", TeamID: "t"}
		_, err := a.Reserve(ctx, []Scope{s}, 200)
		if e, ok := err.(*llmservice.Error); !ok || e.Kind != llmservice.BudgetExceeded || e.RetryAfter != time.Minute {
			t.Fatalf("err = %v; want BudgetExceeded retrying after the minute left in the day", err)
		}
		now = now.Add(2 * time.Minute)
		if _, err := a.Reserve(ctx, []Scope{s}, 200); err != nil {
			t.Fatalf("next day: %v", err)
		}
		if loads != 2 {
			t.Errorf("ledger read %d times; want once per period", loads)
		}
	})
}

func TestForget(t *testing.T) {
	both(t, func(t *testing.T, newAcct newAccountant) {
		ctx := context.Background()
		var ledger atomic.Int64
		ledger.Store(100)
		src := func(context.Context, string, string, time.Time) (llmservice.Nanos, error) {
			return llmservice.Nanos(ledger.Load()), nil
		}
		a := newAcct(src, nil)
		s := Scope{Key: "team:t", Limit: 1000, Period: "monthly", TeamID: "t"}
		r, err := a.Reserve(ctx, []Scope{s}, 50)
		if err != nil {
			t.Fatal(err)
		}
		ledger.Store(300)
		a.Forget(s.Key) // a call is in flight: nothing is dropped
		if got, _ := a.Available(ctx, s); got != 850 {
			t.Errorf("available = %d after a forget with a call in flight; want 1000-100-50 = 850", got)
		}
		r.Settle(50)
		a.Forget(s.Key)
		if got, _ := a.Available(ctx, s); got != 700 {
			t.Errorf("available = %d after a forget; want 1000-300 (reloaded) = 700", got)
		}
	})
}

func TestConcurrentReservationsNeverOverspend(t *testing.T) {
	both(t, func(t *testing.T, newAcct newAccountant) {
		ctx := context.Background()
		a := newAcct(fixedSource(0), nil)
		s := Scope{Key: "team:t", Limit: 10_000, TeamID: "t"}
		var wg sync.WaitGroup
		var admitted atomic.Int64
		for range 100 {
			wg.Go(func() {
				r, err := a.Reserve(ctx, []Scope{s}, 1000)
				if err != nil {
					return
				}
				admitted.Add(1)
				r.Settle(1000)
			})
		}
		wg.Wait()
		left, _ := a.Available(ctx, s)
		if admitted.Load() != 10 || left != 0 {
			t.Errorf("admitted %d, left %d; want 10 and 0", admitted.Load(), left)
		}
	})
}
