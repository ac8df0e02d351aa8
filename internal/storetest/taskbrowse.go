package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
)

// The dashboard's lists of asynchronous work: every team's batches, and
// standalone tasks (queued completions), which it can also cancel.

func testBatchesAllTeams(t *testing.T, s QueueStores) {
	ctx := context.Background()
	for i, team := range []string{"t1", "t2", "t1"} {
		created := base.Add(time.Duration(i) * time.Minute)
		must(t, s.Batches.CreateBatch(ctx, &llmservice.Batch{ID: fmt.Sprint("b", i), TeamID: team, API: "openai",
			Status: llmservice.BatchInProgress, CreatedAt: created, ExpiresAt: created.Add(24 * time.Hour)}, nil))
	}
	_, _, err := s.Batches.FindBatches(ctx, llmservice.BatchFilter{})
	wantKind(t, err, llmservice.Invalid)
	page, more, err := s.Batches.FindBatches(ctx, llmservice.BatchFilter{AllTeams: true, Limit: 2})
	must(t, err)
	if len(page) != 2 || !more || page[0].ID != "b2" || page[1].ID != "b1" {
		t.Fatalf("every team's first page = %v (more %v); want b2, b1 and more", batchIDs(page), more)
	}
	page, more, err = s.Batches.FindBatches(ctx, llmservice.BatchFilter{AllTeams: true, Limit: 2, After: "b1"})
	must(t, err)
	if len(page) != 1 || more || page[0].ID != "b0" {
		t.Errorf("every team's second page = %v (more %v); want b0", batchIDs(page), more)
	}
	// AllTeams with a team is that team's list.
	page, _, err = s.Batches.FindBatches(ctx, llmservice.BatchFilter{AllTeams: true, TeamID: "t2"})
	must(t, err)
	if len(page) != 1 || page[0].ID != "b1" {
		t.Errorf("t2's batches = %v; want b1", batchIDs(page))
	}
}

func batchIDs(bs []*llmservice.Batch) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.ID)
	}
	return out
}

func testStandaloneTasks(t *testing.T, s QueueStores) {
	ctx := context.Background()
	br, ok := s.Tasks.(llmservice.TaskBrowser)
	if !ok {
		t.Fatalf("%T does not implement llmservice.TaskBrowser", s.Tasks)
	}
	mustCreateTeam(t, s.Teams, "t1")
	mustCreateTeam(t, s.Teams, "t2")
	_, err := s.Credits.AddCredits(ctx, "t1", 10, "grant", "")
	must(t, err)
	for i, team := range []string{"t1", "t2", "t1", "t1"} {
		x := task(fmt.Sprint("q", i), team)
		x.Kind = "qc"
		must(t, s.Tasks.EnqueueTasks(ctx, []*llmservice.Task{x}, nil))
	}
	other := task("w", "t1") // another kind
	grouped := task("g", "t1")
	grouped.Kind, grouped.Group, grouped.Key = "qc", "batch", "r0" // a batch's item
	must(t, s.Tasks.EnqueueTasks(ctx, []*llmservice.Task{other, grouped}, nil))

	list := func(f llmservice.StandaloneTaskFilter) ([]string, bool) {
		t.Helper()
		ts, more, err := br.FindStandaloneTasks(ctx, f)
		must(t, err)
		var ids []string
		for _, x := range ts {
			ids = append(ids, x.ID)
		}
		return ids, more
	}
	if ids, more := list(llmservice.StandaloneTaskFilter{Kind: "qc", Limit: 3}); fmt.Sprint(ids) != "[q3 q2 q1]" || !more {
		t.Errorf("every team's queued completions = %v (more %v); want [q3 q2 q1] and more", ids, more)
	}
	if ids, more := list(llmservice.StandaloneTaskFilter{Kind: "qc", Limit: 3, Before: "q1"}); fmt.Sprint(ids) != "[q0]" || more {
		t.Errorf("second page = %v (more %v); want [q0]", ids, more)
	}
	if ids, _ := list(llmservice.StandaloneTaskFilter{Kind: "qc", TeamID: "t1"}); fmt.Sprint(ids) != "[q3 q2 q0]" {
		t.Errorf("t1's queued completions = %v; want [q3 q2 q0]", ids)
	}
	_, _, err = br.FindStandaloneTasks(ctx, llmservice.StandaloneTaskFilter{})
	wantKind(t, err, llmservice.Invalid)
	_, _, err = br.FindStandaloneTasks(ctx, llmservice.StandaloneTaskFilter{Kind: "qc", Before: "nope"})
	wantKind(t, err, llmservice.Invalid)

	// Cancel: the refund moves with the cancellation, once.
	refund := &llmservice.CreditChange{TeamID: "t1", Amount: 5, Reason: "qcompletion cancelled", Ref: "q0"}
	_, err = br.CancelTask(ctx, "t2", "q0", "cancelled", refund)
	wantKind(t, err, llmservice.NotFound)
	got, err := br.CancelTask(ctx, "t1", "q0", "cancelled by an admin", refund)
	must(t, err)
	if got.State != llmservice.TaskCancelled || got.Error != "cancelled by an admin" || got.FinishedAt.IsZero() {
		t.Errorf("cancelled task = %s %q finished %v", got.State, got.Error, got.FinishedAt)
	}
	_, err = br.CancelTask(ctx, "", "q0", "again", refund)
	wantKind(t, err, llmservice.Conflict)
	if team, _ := s.Teams.FindTeamByID(ctx, "t1"); team.Credits != 15 {
		t.Errorf("t1's credits = %d; want 15 (10 + one refund of 5)", team.Credits)
	}
	_, err = br.CancelTask(ctx, "", "g", "cancelled", nil)
	wantKind(t, err, llmservice.NotFound)
	// A running task finishes its call: it cannot be cancelled.
	var running *llmservice.Task
	for running == nil || running.ID != "q1" {
		running = claim(t, s.Tasks, "L")
	}
	_, err = br.CancelTask(ctx, "", "q1", "cancelled", nil)
	wantKind(t, err, llmservice.Conflict)
	// Any team's task, for the operator.
	if got, err := br.CancelTask(ctx, "", "q3", "cancelled", nil); err != nil || got.State != llmservice.TaskCancelled {
		t.Errorf("CancelTask of any team's q3 = %v, %v; want cancelled", got, err)
	}
	if _, err := s.Tasks.ClaimTask(ctx, llmservice.TaskClaim{Kinds: []string{"qc"}, SkipTeams: []string{"t2"}, Lease: "L2", For: time.Minute}); err == nil {
		if x, _ := s.Tasks.FindTaskByID(ctx, "t1", "q3"); x.State != llmservice.TaskCancelled {
			t.Errorf("a cancelled task was claimed: %s", x.State)
		}
	}
}
