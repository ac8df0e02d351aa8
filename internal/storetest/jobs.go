package storetest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
)

// CreditJobStores is one database seen through the stores the jobs API uses.
type CreditJobStores struct {
	Teams   llmservice.TeamStore
	Credits llmservice.CreditStore
	Jobs    llmservice.CreditJobStore
}

// RunJobs runs the job store suite. open must return stores over a fresh,
// migrated and empty database; every subtest calls it once.
func RunJobs(t *testing.T, open func(t *testing.T) CreditJobStores) {
	t.Run("CreateAndFind", func(t *testing.T) { testCreditJobCreateFind(t, open) })
	t.Run("OtherTeamForbidden", func(t *testing.T) { testCreditJobIsolation(t, open) })
	t.Run("Calls", func(t *testing.T) { testCreditJobCalls(t, open) })
	t.Run("Complete", func(t *testing.T) { testCreditJobComplete(t, open) })
	t.Run("InsufficientCreditsKeepsJobOpen", func(t *testing.T) { testCreditJobNoCredits(t, open) })
	t.Run("ConcurrentCompletionsChargeOnce", func(t *testing.T) { testCreditJobCompleteRace(t, open) })
}

func mustCreateCreditJob(t *testing.T, s llmservice.CreditJobStore, id, team string) *llmservice.CreditJob {
	t.Helper()
	j := &llmservice.CreditJob{ID: id, TeamID: team, JobType: "document_analysis", Status: llmservice.CreditJobPending, CreatedAt: base}
	if err := s.CreateCreditJob(context.Background(), j); err != nil {
		t.Fatalf("CreateCreditJob(%s): %v", id, err)
	}
	return j
}

func testCreditJobCreateFind(t *testing.T, open func(t *testing.T) CreditJobStores) {
	ctx := context.Background()
	s := open(t)
	j := &llmservice.CreditJob{ID: "j1", TeamID: "t1", UserID: "john@acme.com", JobType: "resume_analysis",
		Status: llmservice.CreditJobPending, Metadata: json.RawMessage(`{"doc":"d1"}`), CreatedAt: base}
	must(t, s.Jobs.CreateCreditJob(ctx, j))
	got, err := s.Jobs.FindCreditJob(ctx, "t1", "j1")
	must(t, err)
	if diff := cmp.Diff(j, got, opts); diff != "" {
		t.Errorf("FindCreditJob mismatch (-want +got):\n%s", diff)
	}
	wantKind(t, s.Jobs.CreateCreditJob(ctx, &llmservice.CreditJob{ID: "j1", TeamID: "t1", JobType: "x", Status: llmservice.CreditJobPending}), llmservice.Conflict)
	_, err = s.Jobs.FindCreditJob(ctx, "t1", "nope")
	wantKind(t, err, llmservice.NotFound)
	wantKind(t, s.Jobs.CreateCreditJob(ctx, &llmservice.CreditJob{ID: "j2", TeamID: "t1", JobType: "x", Status: llmservice.CreditJobPending,
		Metadata: json.RawMessage(`[1]`)}), llmservice.Invalid)
}

func testCreditJobIsolation(t *testing.T, open func(t *testing.T) CreditJobStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "t1")
	mustCreateTeam(t, s.Teams, "t2")
	_, err := s.Credits.AddCredits(ctx, "t2", 5, "grant", "")
	must(t, err)
	mustCreateCreditJob(t, s.Jobs, "j1", "t1")
	must(t, s.Jobs.AddCreditJobCall(ctx, &llmservice.CreditJobCall{ID: "c1", JobID: "j1", TeamID: "t1", ModelGroup: "g", PromptTokens: 3}))

	_, err = s.Jobs.FindCreditJob(ctx, "t2", "j1")
	wantKind(t, err, llmservice.Forbidden)
	wantKind(t, s.Jobs.AddCreditJobCall(ctx, &llmservice.CreditJobCall{ID: "c2", JobID: "j1", TeamID: "t2", ModelGroup: "g"}), llmservice.Forbidden)
	calls, err := s.Jobs.FindCreditJobCalls(ctx, "t2", "j1")
	must(t, err)
	if len(calls) != 0 {
		t.Errorf("FindCreditJobCalls(t2, j1) = %d calls; want none of another team's", len(calls))
	}
	_, _, err = s.Jobs.CompleteCreditJob(ctx, "t2", "j1", llmservice.CreditJobCompletion{Status: llmservice.CreditJobCompleted})
	wantKind(t, err, llmservice.Forbidden)
	team, err := s.Teams.FindTeamByID(ctx, "t2")
	must(t, err)
	if team.Credits != 5 {
		t.Errorf("t2 credits = %d; want 5 (completing another team's job charges nobody)", team.Credits)
	}
	j, err := s.Jobs.FindCreditJob(ctx, "t1", "j1")
	must(t, err)
	if j.Closed() {
		t.Errorf("job status = %s; another team closed it", j.Status)
	}
}

func testCreditJobCalls(t *testing.T, open func(t *testing.T) CreditJobStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateCreditJob(t, s.Jobs, "j1", "t1")
	want := []*llmservice.CreditJobCall{
		{ID: "c1", JobID: "j1", TeamID: "t1", ModelGroup: "ResumeAgent", Model: "gpt-4o", Purpose: "parse",
			PromptTokens: 10, CompletionTokens: 20, Cost: 1234, LatencyMS: 50, CreatedAt: base.Add(time.Second)},
		{ID: "c2", JobID: "j1", TeamID: "t1", ModelGroup: "ChatAgent", Stream: true, Error: "upstream: boom",
			CreatedAt: base.Add(time.Second)},
	}
	for _, c := range want {
		must(t, s.Jobs.AddCreditJobCall(ctx, c))
	}
	got, err := s.Jobs.FindCreditJobCalls(ctx, "t1", "j1")
	must(t, err)
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("FindCreditJobCalls mismatch, in insertion order (-want +got):\n%s", diff)
	}
	j, err := s.Jobs.FindCreditJob(ctx, "t1", "j1")
	must(t, err)
	if j.Status != llmservice.CreditJobInProgress || j.StartedAt == nil || !j.StartedAt.Equal(base.Add(time.Second)) {
		t.Errorf("after the first call: status %s, started %v; want in_progress at the first call", j.Status, j.StartedAt)
	}
	wantKind(t, s.Jobs.AddCreditJobCall(ctx, &llmservice.CreditJobCall{ID: "c3", JobID: "nope", TeamID: "t1", ModelGroup: "g"}), llmservice.NotFound)
	wantKind(t, s.Jobs.AddCreditJobCall(ctx, &llmservice.CreditJobCall{ID: "c1", JobID: "j1", TeamID: "t1", ModelGroup: "g"}), llmservice.Conflict)
}

func testCreditJobComplete(t *testing.T, open func(t *testing.T) CreditJobStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "t1")
	_, err := s.Credits.AddCredits(ctx, "t1", 3, "grant", "")
	must(t, err)
	mustCreateCreditJob(t, s.Jobs, "j1", "t1")
	mustCreateCreditJob(t, s.Jobs, "j2", "t1")
	must(t, s.Jobs.CreateCreditJob(ctx, &llmservice.CreditJob{ID: "j3", TeamID: "t1", JobType: "x", Status: llmservice.CreditJobPending, Metadata: json.RawMessage(`{"a":1,"b":2}`)}))

	at := base.Add(time.Hour)
	done, bal, err := s.Jobs.CompleteCreditJob(ctx, "t1", "j3", llmservice.CreditJobCompletion{Status: llmservice.CreditJobCompleted,
		Metadata: json.RawMessage(`{"b":3,"c":4}`), Now: at})
	must(t, err)
	if bal != 2 || !done.CreditApplied || done.Status != llmservice.CreditJobCompleted || done.CompletedAt == nil || !done.CompletedAt.Equal(at) {
		t.Errorf("CompleteCreditJob = %+v, balance %d; want completed, credit applied, balance 2", done, bal)
	}
	var meta map[string]int
	must(t, json.Unmarshal(done.Metadata, &meta))
	if diff := cmp.Diff(map[string]int{"a": 1, "b": 3, "c": 4}, meta); diff != "" {
		t.Errorf("merged metadata (-want +got):\n%s", diff)
	}
	again, err := s.Jobs.FindCreditJob(ctx, "t1", "j3")
	must(t, err)
	if diff := cmp.Diff(done, again, opts, cmp.Transformer("meta", func(r json.RawMessage) string { return string(r) })); diff != "" {
		t.Errorf("stored job differs from CompleteCreditJob's (-complete +find):\n%s", diff)
	}
	for _, st := range []string{llmservice.CreditJobCompleted, llmservice.CreditJobFailed} {
		_, _, err = s.Jobs.CompleteCreditJob(ctx, "t1", "j3", llmservice.CreditJobCompletion{Status: st})
		wantKind(t, err, llmservice.Conflict)
	}

	failed, bal, err := s.Jobs.CompleteCreditJob(ctx, "t1", "j2", llmservice.CreditJobCompletion{Status: llmservice.CreditJobFailed, ErrorMessage: "parse error"})
	must(t, err)
	if bal != 2 || failed.CreditApplied || failed.Status != llmservice.CreditJobFailed || failed.ErrorMessage != "parse error" {
		t.Errorf("failed job = %+v, balance %d; want no credit taken, balance 2", failed, bal)
	}
	_, _, err = s.Jobs.CompleteCreditJob(ctx, "t1", "j1", llmservice.CreditJobCompletion{Status: "cancelled"})
	wantKind(t, err, llmservice.Invalid)
	_, _, err = s.Jobs.CompleteCreditJob(ctx, "t1", "nope", llmservice.CreditJobCompletion{Status: llmservice.CreditJobCompleted})
	wantKind(t, err, llmservice.NotFound)

	ms, err := s.Credits.FindCreditMovements(ctx, "t1", 10)
	must(t, err)
	if len(ms) != 2 || ms[0].Amount != -1 || ms[0].Reason != "job" || ms[0].Ref != "j3" || ms[0].BalanceAfter != 2 {
		t.Errorf("credit movements = %+v; want the grant and one job charge for j3", ms)
	}
}

func testCreditJobNoCredits(t *testing.T, open func(t *testing.T) CreditJobStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "t1")
	mustCreateCreditJob(t, s.Jobs, "j1", "t1")
	_, _, err := s.Jobs.CompleteCreditJob(ctx, "t1", "j1", llmservice.CreditJobCompletion{Status: llmservice.CreditJobCompleted})
	wantKind(t, err, llmservice.PaymentRequired)
	j, err := s.Jobs.FindCreditJob(ctx, "t1", "j1")
	must(t, err)
	if j.Closed() || j.CreditApplied || j.CompletedAt != nil {
		t.Errorf("job after a refused charge = %+v; want it still open", j)
	}
	// Topped up, the same job completes; or it may be closed as failed.
	_, err = s.Credits.AddCredits(ctx, "t1", 1, "grant", "")
	must(t, err)
	_, bal, err := s.Jobs.CompleteCreditJob(ctx, "t1", "j1", llmservice.CreditJobCompletion{Status: llmservice.CreditJobCompleted})
	must(t, err)
	if bal != 0 {
		t.Errorf("balance = %d; want 0", bal)
	}
}

func testCreditJobCompleteRace(t *testing.T, open func(t *testing.T) CreditJobStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "t1")
	_, err := s.Credits.AddCredits(ctx, "t1", 10, "grant", "")
	must(t, err)
	mustCreateCreditJob(t, s.Jobs, "j1", "t1")
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ok, conf int
	)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Jobs.CompleteCreditJob(ctx, "t1", "j1", llmservice.CreditJobCompletion{Status: llmservice.CreditJobCompleted})
			mu.Lock()
			defer mu.Unlock()
			switch llmservice.ErrorKind(err) {
			case llmservice.Conflict:
				conf++
			default:
				if err == nil {
					ok++
				} else {
					t.Errorf("CompleteCreditJob: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	team, err := s.Teams.FindTeamByID(ctx, "t1")
	must(t, err)
	if ok != 1 || conf != 7 || team.Credits != 9 {
		t.Errorf("%d completions succeeded, %d conflicted, balance %d; want 1, 7 and 9", ok, conf, team.Credits)
	}
}
