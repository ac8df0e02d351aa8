package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storetest"
)

func TestAthenaStore(t *testing.T) {
	storetest.RunAthena(t, func(t *testing.T) storetest.AthenaStores {
		db := openTest(t)
		return storetest.AthenaStores{Teams: db, Conversations: db}
	})
}

func TestDjangoStore(t *testing.T) {
	storetest.RunDjango(t, func(t *testing.T) storetest.DjangoStores {
		db := openTest(t)
		return storetest.DjangoStores{Users: db, Teams: db, Keys: db}
	})
}

func TestJobStore(t *testing.T) {
	storetest.RunJobs(t, func(t *testing.T) storetest.CreditJobStores {
		db := openTest(t)
		return storetest.CreditJobStores{Teams: db, Credits: db, Jobs: db}
	})
}

func TestStackForDevsStores(t *testing.T) {
	storetest.RunStackForDevs(t, func(t *testing.T) storetest.StackForDevsStores {
		db := openTest(t)
		return storetest.StackForDevsStores{Teams: db, Credentials: db, Usage: db}
	})
}

// Two replicas complete a team's jobs at once with credits for only some of
// them: each credit pays for exactly one job, the rest are refused and stay
// open, and the balance ends at zero, never below.
func TestCompleteCreditJobsAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	replicas := openReplicas(t, 2)
	const jobs, credits = 12, 7
	if err := replicas[0].CreateTeam(ctx, &llmservice.Team{ID: "t1", Name: "t1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := replicas[0].AddCredits(ctx, "t1", credits, "grant", ""); err != nil {
		t.Fatal(err)
	}
	for i := range jobs {
		j := &llmservice.CreditJob{ID: fmt.Sprint("j", i), TeamID: "t1", JobType: "x", Status: llmservice.CreditJobPending}
		if err := replicas[0].CreateCreditJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		paid, refused    int
		unexpectedErrors []error
	)
	for i := range jobs {
		for _, db := range replicas { // each job completed by both replicas
			wg.Go(func() {
				_, _, err := db.CompleteCreditJob(ctx, "t1", fmt.Sprint("j", i),
					llmservice.CreditJobCompletion{Status: llmservice.CreditJobCompleted})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					paid++
				case llmservice.ErrorKind(err) == llmservice.PaymentRequired:
					refused++
				case llmservice.ErrorKind(err) != llmservice.Conflict:
					unexpectedErrors = append(unexpectedErrors, err)
				}
			})
		}
	}
	wg.Wait()
	for _, err := range unexpectedErrors {
		t.Error(err)
	}
	team, err := replicas[1].FindTeamByID(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if paid != credits || team.Credits != 0 || refused < jobs-credits {
		t.Errorf("%d jobs paid, %d refusals, balance %d; want %d paid, at least %d refusals, balance 0",
			paid, refused, team.Credits, credits, jobs-credits)
	}
	moves, err := replicas[1].FindCreditMovements(ctx, "t1", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(moves) != credits+1 {
		t.Errorf("%d credit movements; want the grant and %d job charges", len(moves), credits)
	}
}
