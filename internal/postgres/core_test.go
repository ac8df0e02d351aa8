package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storetest"
)

func coreStores(db *DB) storetest.Stores {
	return storetest.Stores{Teams: db, Keys: db, Catalog: db, Settings: db, Usage: db, Groups: db, Credits: db}
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores { return coreStores(openTest(t)) })
}

// Two replicas share one database: 50 concurrent spends of one credit
// against a balance of 20, half through each handle, leave exactly 20
// successes, a zero balance and one movement per success.
func TestAddCreditsAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	replicas := openReplicas(t, 2) // queue_test.go
	if err := replicas[0].CreateTeam(ctx, &llmservice.Team{ID: "t1", Name: "one"}); err != nil {
		t.Fatal(err)
	}
	if _, err := replicas[0].AddCredits(ctx, "t1", 20, "grant", ""); err != nil {
		t.Fatal(err)
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ok       int
		failures []error
	)
	for i := range 50 {
		wg.Go(func() {
			_, err := replicas[i%2].AddCredits(ctx, "t1", -1, "call", "")
			mu.Lock()
			defer mu.Unlock()
			var e *llmservice.Error
			switch {
			case err == nil:
				ok++
			case !errors.As(err, &e) || e.Kind != llmservice.PaymentRequired:
				failures = append(failures, err)
			}
		})
	}
	wg.Wait()
	for _, err := range failures {
		t.Errorf("spend failed with %v; want success or PaymentRequired", err)
	}

	team, err := replicas[1].FindTeamByID(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if ok != 20 || team.Credits != 0 {
		t.Errorf("%d spends succeeded, balance %d; want 20 and 0", ok, team.Credits)
	}
	ms, err := replicas[1].FindCreditMovements(ctx, "t1", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 21 {
		t.Fatalf("%d movements; want the grant and 20 spends", len(ms))
	}
	// Newest first, each balance one below the one before it.
	for i, m := range ms[:20] {
		if m.Amount != -1 || m.BalanceAfter != int64(i) {
			t.Errorf("movement %d = %+v; want amount -1, balance after %d", i, m, i)
		}
	}
}
