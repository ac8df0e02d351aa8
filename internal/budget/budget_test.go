package budget

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
)

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
	ctx := context.Background()
	a := New(fixedSource(300), nil)
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
}

func TestReserveIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	a := New(fixedSource(0), nil)
	team := Scope{Key: "team:t", Limit: 1000, TeamID: "t"}
	key := Scope{Key: "key:k", Limit: 100, TeamID: "t", KeyID: "k"}
	if _, err := a.Reserve(ctx, []Scope{team, key}, 200); err == nil {
		t.Fatal("reserve over the key budget succeeded")
	}
	if got, _ := a.Available(ctx, team); got != 1000 {
		t.Errorf("team available = %d after a refused reserve; want 1000", got)
	}
}

func TestPeriodRollsOver(t *testing.T) {
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
	a := New(src, func() time.Time { return now })
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
}

func TestConcurrentReservationsNeverOverspend(t *testing.T) {
	ctx := context.Background()
	a := New(fixedSource(0), nil)
	s := Scope{Key: "team:t", Limit: 10_000, TeamID: "t"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := a.Reserve(ctx, []Scope{s}, 1000)
			if err != nil {
				return
			}
			mu.Lock()
			admitted++
			mu.Unlock()
			r.Settle(1000)
		}()
	}
	wg.Wait()
	left, _ := a.Available(ctx, s)
	if admitted != 10 || left != 0 {
		t.Errorf("admitted %d, left %d; want 10 and 0", admitted, left)
	}
}
