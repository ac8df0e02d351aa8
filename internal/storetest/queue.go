package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
)

// QueueStores is one database seen through the stores of the durable queue
// and the batches built on it.
type QueueStores struct {
	Tasks    llmservice.TaskStore
	Batches  llmservice.BatchStore
	Files    llmservice.FileStore
	Webhooks llmservice.WebhookStore
	Teams    llmservice.TeamStore
	Credits  llmservice.CreditStore
	Usage    llmservice.UsageStore
}

// RunQueue runs the queue's suite. open must return stores over a fresh,
// migrated and empty database; every subtest calls it once.
func RunQueue(t *testing.T, open func(t *testing.T) QueueStores) {
	t.Run("ClaimOrderAndComplete", func(t *testing.T) { testClaimComplete(t, open(t)) })
	t.Run("NothingDue", func(t *testing.T) { testNothingDue(t, open(t)) })
	t.Run("EnqueueIdempotentByGroupKey", func(t *testing.T) { testEnqueueIdempotent(t, open(t)) })
	t.Run("ExpiredLeaseIsTakenOver", func(t *testing.T) { testLeaseTakeover(t, open(t)) })
	t.Run("RetryAndSnooze", func(t *testing.T) { testRetry(t, open(t)) })
	t.Run("ClaimFilters", func(t *testing.T) { testClaimFilters(t, open(t)) })
	t.Run("Cancel", func(t *testing.T) { testCancelTasks(t, open(t)) })
	t.Run("CreditsMoveWithTasks", func(t *testing.T) { testTaskCredits(t, open(t)) })
	t.Run("FindCountPurge", func(t *testing.T) { testFindCountPurge(t, open(t)) })
	t.Run("ConcurrentClaimsTakeEachTaskOnce", func(t *testing.T) { testConcurrentClaims(t, open(t)) })
	t.Run("UsageOncePerTask", func(t *testing.T) { testUsageOncePerTask(t, open(t)) })
	t.Run("Batches", func(t *testing.T) { testBatches(t, open) })
	t.Run("Files", func(t *testing.T) { testFiles(t, open(t)) })
	t.Run("WebhookDeliveries", func(t *testing.T) { testWebhookDeliveries(t, open(t)) })
	t.Run("BatchesAllTeams", func(t *testing.T) { testBatchesAllTeams(t, open(t)) })
	t.Run("StandaloneTasks", func(t *testing.T) { testStandaloneTasks(t, open(t)) })
	t.Run("QueueDepth", func(t *testing.T) { testQueueDepth(t, open(t)) })
}

func task(id, team string) *llmservice.Task {
	return &llmservice.Task{ID: id, Kind: "test", TeamID: team, KeyID: "k_" + team, Payload: []byte(`{"n":1}`), MaxAttempts: 3}
}

func claim(t *testing.T, s llmservice.TaskStore, lease string) *llmservice.Task {
	t.Helper()
	got, err := s.ClaimTask(context.Background(), llmservice.TaskClaim{Lease: lease, For: time.Minute})
	if err != nil {
		t.Fatalf("ClaimTask(%s): %v", lease, err)
	}
	return got
}

func testClaimComplete(t *testing.T, s QueueStores) {
	ctx := context.Background()
	now := time.Now()
	a, b := task("a", "t1"), task("b", "t1")
	a.RunAfter, b.RunAfter = now.Add(-time.Second), now.Add(-2*time.Second)
	must(t, s.Tasks.EnqueueTasks(ctx, []*llmservice.Task{a, b}, nil))
	first := claim(t, s.Tasks, "L1")
	if first.ID != "b" || first.State != llmservice.TaskRunning || first.Attempts != 1 || first.Lease != "L1" {
		t.Fatalf("first claim = %s %s attempts %d lease %q; want b running 1 L1", first.ID, first.State, first.Attempts, first.Lease)
	}
	if string(first.Payload) != `{"n":1}` || first.KeyID != "k_t1" || first.MaxAttempts != 3 {
		t.Errorf("claimed task lost fields: %+v", first)
	}
	must(t, s.Tasks.CompleteTask(ctx, "b", "L1", llmservice.TaskCompletion{State: llmservice.TaskSucceeded, Result: []byte("done")}))
	got, err := s.Tasks.FindTaskByID(ctx, "t1", "b")
	must(t, err)
	if got.State != llmservice.TaskSucceeded || string(got.Result) != "done" || got.FinishedAt.IsZero() {
		t.Errorf("completed task = %s %q finished %v; want succeeded, result, a finish time", got.State, got.Result, got.FinishedAt)
	}
	// Completing twice is the lost-lease case: nothing changes.
	err = s.Tasks.CompleteTask(ctx, "b", "L1", llmservice.TaskCompletion{State: llmservice.TaskFailed, Result: []byte("again")})
	wantKind(t, err, llmservice.Conflict)
	if got, _ := s.Tasks.FindTaskByID(ctx, "t1", "b"); string(got.Result) != "done" {
		t.Errorf("second completion overwrote the result: %q", got.Result)
	}
	_, err = s.Tasks.FindTaskByID(ctx, "t2", "b")
	wantKind(t, err, llmservice.NotFound)
	if second := claim(t, s.Tasks, "L2"); second.ID != "a" {
		t.Errorf("second claim = %s; want a", second.ID)
	}
}

func testNothingDue(t *testing.T, s QueueStores) {
	ctx := context.Background()
	_, err := s.Tasks.ClaimTask(ctx, llmservice.TaskClaim{Lease: "L", For: time.Minute})
	wantKind(t, err, llmservice.NotFound)
	later := task("later", "t1")
	later.RunAfter = time.Now().Add(time.Hour)
	must(t, s.Tasks.EnqueueTasks(ctx, []*llmservice.Task{later}, nil))
	_, err = s.Tasks.ClaimTask(ctx, llmservice.TaskClaim{Lease: "L", For: time.Minute})
	wantKind(t, err, llmservice.NotFound)
}

func testEnqueueIdempotent(t *testing.T, s QueueStores) {
	ctx := context.Background()
	one, two := task("one", "t1"), task("two", "t1")
	one.Group, one.Key, two.Group, two.Key = "g", "custom-1", "g", "custom-1"
	must(t, s.Tasks.EnqueueTasks(ctx, []*llmservice.Task{one}, nil))
	must(t, s.Tasks.EnqueueTasks(ctx, []*llmservice.Task{two}, nil))
	c, err := s.Tasks.CountTasks(ctx, "t1", "g")
	must(t, err)
	if c.Total() != 1 {
		t.Errorf("tasks after enqueuing one key twice = %d; want 1", c.Total())
	}
	err = s.Tasks.EnqueueTasks(ctx, []*llmservice.Task{task("one", "t1")}, nil)
	wantKind(t, err, llmservice.Conflict)
}

func testLeaseTakeover(t *testing.T, s QueueStores) {
	ctx := context.Background()
	must(t, s.Tasks.EnqueueTasks(ctx, []*llmservice.Task{task("a", "t1")}, nil))
	// A lease that ends at once stands for a worker that died.
	if _, err := s.Tasks.ClaimTask(ctx, llmservice.TaskClaim{Lease: "dead", For: -time.Second}); err != nil {
		t.Fatal(err)
	}
	again := claim(t, s.Tasks, "alive")
	if again.ID != "a" || again.Attempts != 2 {
		t.Fatalf("takeover = %s attempts %d; want a, 2", again.ID, again.Attempts)
	}
	wantKind(t, s.Tasks.CompleteTask(ctx, "a", "dead", llmservice.TaskCompletion{State: llmservice.TaskSucceeded}), llmservice.Conflict)
	wantKind(t, s.Tasks.ExtendTaskLease(ctx, "a", "dead", time.Minute), llmservice.Conflict)
	wantKind(t, s.Tasks.RetryTask(ctx, "a", "dead", llmservice.TaskRetry{RunAfter: time.Now()}), llmservice.Conflict)
	must(t, s.Tasks.ExtendTaskLease(ctx, "a", "alive", time.Minute))
	_, err := s.Tasks.ClaimTask(ctx, llmservice.TaskClaim{Lease: "third", For: time.Minute})
	wantKind(t, err, llmservice.NotFound)
	must(t, s.Tasks.CompleteTask(ctx, "a", "alive", llmservice.TaskCompletion{State: llmservice.TaskSucceeded}))
}

func testRetry(t *testing.T, s QueueStores) {
	ctx := context.Background()
	must(t, s.Tasks.EnqueueTasks(ctx, []*llmservice.Task{task("a", "t1")}, nil))
	claim(t, s.Tasks, "L1")
	must(t, s.Tasks.RetryTask(ctx, "a", "L1", llmservice.TaskRetry{RunAfter: time.Now().Add(-time.Millisecond), Error: "upstream 503"}))
	got := claim(t, s.Tasks, "L2")
	if got.Attempts != 2 || got.Error != "upstream 503" {
		t.Errorf("after a retry: attempts %d error %q; want 2 and the error kept", got.Attempts, got.Error)
	}
	must(t, s.Tasks.RetryTask(ctx, "a", "L2", llmservice.TaskRetry{RunAfter: time.Now().Add(-time.Millisecond), Snooze: true}))
	if got := claim(t, s.Tasks, "L3"); got.Attempts != 2 {
		t.Errorf("after a snooze: attempts %d; want 2 (the snoozed attempt given back)", got.Attempts)
	}
	must(t, s.Tasks.RetryTask(ctx, "a", "L3", llmservice.TaskRetry{RunAfter: time.Now().Add(time.Hour)}))
	_, err := s.Tasks.ClaimTask(ctx, llmservice.TaskClaim{Lease: "L4", For: time.Minute})
	wantKind(t, err, llmservice.NotFound)
}

func testClaimFilters(t *testing.T, s QueueStores) {
	ctx := context.Background()
	x := task("x", "t1")
	x.Kind = "other"
	must(t, s.Tasks.EnqueueTasks(ctx, []*llmservice.Task{x, task("y", "t2")}, nil))
	_, err := s.Tasks.ClaimTask(ctx, llmservice.TaskClaim{Kinds: []string{"test"}, SkipTeams: []string{"t2"}, Lease: "L", For: time.Minute})
	wantKind(t, err, llmservice.NotFound)
	got, err := s.Tasks.ClaimTask(ctx, llmservice.TaskClaim{Kinds: []string{"test"}, Lease: "L", For: time.Minute})
	must(t, err)
	if got.ID != "y" {
		t.Errorf("claim of kind test = %s; want y", got.ID)
	}
}

func testCancelTasks(t *testing.T, s QueueStores) {
	ctx := context.Background()
	var ts []*llmservice.Task
	for i := range 3 {
		x := task(fmt.Sprint("c", i), "t1")
		x.Group, x.Key, x.Seq = "g", fmt.Sprint(i), i
		ts = append(ts, x)
	}
	must(t, s.Tasks.EnqueueTasks(ctx, ts, nil))
	if open, err := s.Tasks.GroupOpen(ctx, "t1", "g"); err != nil || !open {
		t.Errorf("GroupOpen of a queued group = %v, %v; want true", open, err)
	}
	if open, _ := s.Tasks.GroupOpen(ctx, "t2", "g"); open {
		t.Error("GroupOpen sees another team's group")
	}
	running := claim(t, s.Tasks, "L")
	n, err := s.Tasks.CancelTasks(ctx, "t2", "g", "batch_cancelled")
	must(t, err)
	if n != 0 {
		t.Errorf("another team cancelled %d tasks; want 0", n)
	}
	n, err = s.Tasks.CancelTasks(ctx, "t1", "g", "batch_cancelled")
	must(t, err)
	if n != 2 {
		t.Errorf("cancelled %d queued tasks; want 2", n)
	}
	// The running task may not go back to the queue.
	must(t, s.Tasks.RetryTask(ctx, running.ID, "L", llmservice.TaskRetry{RunAfter: time.Now(), Snooze: true}))
	got, err := s.Tasks.FindTaskByID(ctx, "t1", running.ID)
	must(t, err)
	if got.State != llmservice.TaskCancelled || got.Error != "batch_cancelled" {
		t.Errorf("retried task of a cancelled group = %s %q; want cancelled batch_cancelled", got.State, got.Error)
	}
	c, err := s.Tasks.CountTasks(ctx, "t1", "g")
	must(t, err)
	if c.Cancelled != 3 || c.Open() != 0 {
		t.Errorf("counts = %+v; want 3 cancelled", c)
	}
	if open, err := s.Tasks.GroupOpen(ctx, "t1", "g"); err != nil || open {
		t.Errorf("GroupOpen of a cancelled group = %v, %v; want false", open, err)
	}
}

func testTaskCredits(t *testing.T, s QueueStores) {
	ctx := context.Background()
	mustCreateTeam(t, s.Teams, "t1")
	_, err := s.Credits.AddCredits(ctx, "t1", 100, "grant", "")
	must(t, err)
	charge := &llmservice.CreditChange{TeamID: "t1", Amount: -150, Reason: "qcompletion", Ref: "a"}
	err = s.Tasks.EnqueueTasks(ctx, []*llmservice.Task{task("a", "t1")}, charge)
	wantKind(t, err, llmservice.PaymentRequired)
	if _, err := s.Tasks.FindTaskByID(ctx, "t1", "a"); llmservice.ErrorKind(err) != llmservice.NotFound {
		t.Fatalf("a refused charge still enqueued the task (err %v)", err)
	}
	charge.Amount = -60
	must(t, s.Tasks.EnqueueTasks(ctx, []*llmservice.Task{task("a", "t1")}, charge))
	claim(t, s.Tasks, "L")
	refund := &llmservice.CreditChange{TeamID: "t1", Amount: 60, Reason: "qcompletion_refund", Ref: "a"}
	wantKind(t, s.Tasks.CompleteTask(ctx, "a", "other", llmservice.TaskCompletion{State: llmservice.TaskFailed, Credit: refund}), llmservice.Conflict)
	must(t, s.Tasks.CompleteTask(ctx, "a", "L", llmservice.TaskCompletion{State: llmservice.TaskFailed, Error: "boom", Credit: refund}))
	team, err := s.Teams.FindTeamByID(ctx, "t1")
	must(t, err)
	if team.Credits != 100 {
		t.Errorf("balance after charge and one refund = %d; want 100", team.Credits)
	}
	ms, err := s.Credits.FindCreditMovements(ctx, "t1", 10)
	must(t, err)
	if len(ms) != 3 || ms[0].Reason != "qcompletion_refund" || ms[1].Reason != "qcompletion" {
		t.Errorf("movements = %d, newest %+v; want grant, charge, refund", len(ms), ms[0])
	}
}

func testFindCountPurge(t *testing.T, s QueueStores) {
	ctx := context.Background()
	var ts []*llmservice.Task
	for i := range 5 {
		x := task(fmt.Sprint("i", i), "t1")
		x.Group, x.Key, x.Seq = "g", fmt.Sprint("k", i), 4-i
		ts = append(ts, x)
	}
	solo := task("solo", "t1")
	solo.RunAfter = time.Now().Add(-time.Second) // claimed before the group's tasks
	must(t, s.Tasks.EnqueueTasks(ctx, append(ts, solo), nil))
	page, err := s.Tasks.FindTasks(ctx, llmservice.TaskFilter{TeamID: "t1", Group: "g", AfterSeq: 1, Limit: 2})
	must(t, err)
	if len(page) != 2 || page[0].Seq != 2 || page[1].Seq != 3 {
		t.Fatalf("page after seq 1 = %d tasks; want seqs 2, 3", len(page))
	}
	if other, _ := s.Tasks.FindTasks(ctx, llmservice.TaskFilter{TeamID: "t2", Group: "g", AfterSeq: -1}); len(other) != 0 {
		t.Errorf("another team sees %d tasks of the group", len(other))
	}
	solo, err = s.Tasks.ClaimTask(ctx, llmservice.TaskClaim{Lease: "L", For: time.Minute})
	must(t, err)
	must(t, s.Tasks.CompleteTask(ctx, solo.ID, "L", llmservice.TaskCompletion{State: llmservice.TaskSucceeded}))
	n, err := s.Tasks.PurgeTasks(ctx, time.Now().Add(time.Hour))
	must(t, err)
	if n != 1 {
		t.Errorf("purged %d; want the 1 finished task (%s) and no group task", n, solo.ID)
	}
	c, err := s.Tasks.CountTasks(ctx, "t1", "g")
	must(t, err)
	if c.Total() != 5 {
		t.Errorf("group tasks after purge = %d; want 5", c.Total())
	}
}

func testConcurrentClaims(t *testing.T, s QueueStores) {
	ctx := context.Background()
	const n = 60
	var ts []*llmservice.Task
	for i := range n {
		ts = append(ts, task(fmt.Sprint("t", i), "t1"))
	}
	must(t, s.Tasks.EnqueueTasks(ctx, ts, nil))
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.Tasks.ClaimTask(ctx, llmservice.TaskClaim{Lease: fmt.Sprint("w", w), For: time.Minute})
				if err != nil {
					if llmservice.ErrorKind(err) != llmservice.NotFound {
						t.Error(err)
					}
					return
				}
				mu.Lock()
				seen[got.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("claimed %d distinct tasks; want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("task %s claimed %d times", id, c)
		}
	}
}

// testUsageOncePerTask pins the ledger rule the queue's billing relies on:
// on the queue's endpoints a second successful record with the same purpose
// (task ID) is dropped, failed ones are all kept, and nothing else changes.
func testUsageOncePerTask(t *testing.T, s QueueStores) {
	ctx := context.Background()
	rec := func(id, endpoint, purpose string, status int) llmservice.UsageRecord {
		return llmservice.UsageRecord{ID: id, Time: base, TeamID: "t1", Endpoint: endpoint, Purpose: purpose, Status: status, Cost: 10, PromptTokens: 1}
	}
	must(t, s.Usage.InsertUsage(ctx, []llmservice.UsageRecord{
		rec("r1", "batch.chat", "task_1", 429), rec("r2", "batch.chat", "task_1", 200),
		rec("r3", "batch.chat", "task_1", 200), rec("r4", "qcompletions", "task_2", 200),
		rec("r5", "chat", "same", 200), rec("r6", "chat", "same", 200),
	}))
	must(t, s.Usage.InsertUsage(ctx, []llmservice.UsageRecord{rec("r7", "qcompletions", "task_2", 200), rec("r8", "batch.embeddings", "task_3", 200)}))
	totals, err := s.Usage.SumUsage(ctx, llmservice.UsageFilter{TeamID: "t1"})
	must(t, err)
	if got := totals[0].Requests; got != 6 {
		t.Errorf("records = %d; want 6 (r3 and r7 repeat a task's success)", got)
	}
	if got := totals[0].Errors; got != 1 {
		t.Errorf("error records = %d; want 1", got)
	}
}

func testBatches(t *testing.T, open func(t *testing.T) QueueStores) {
	ctx := context.Background()
	newBatch := func(id, team string, created time.Time) (*llmservice.Batch, []*llmservice.Task) {
		b := &llmservice.Batch{ID: id, TeamID: team, KeyID: "k", API: "openai", Endpoint: "/v1/chat/completions",
			InputFileID: "file-1", CompletionWindow: "24h", Metadata: map[string]string{"m": "v"}, Status: llmservice.BatchInProgress,
			Total: 2, CreatedAt: created, InProgressAt: created, ExpiresAt: created.Add(24 * time.Hour)}
		var ts []*llmservice.Task
		for i := range 2 {
			x := task(fmt.Sprintf("%s_%d", id, i), team)
			x.Group, x.Key, x.Seq = id, fmt.Sprint("r", i), i
			ts = append(ts, x)
		}
		return b, ts
	}
	t.Run("CreateFindList", func(t *testing.T) {
		s := open(t)
		for i := range 3 {
			b, ts := newBatch(fmt.Sprint("b", i), "t1", base.Add(time.Duration(i)*time.Minute))
			must(t, s.Batches.CreateBatch(ctx, b, ts))
		}
		b, ts := newBatch("b0", "t1", base)
		wantKind(t, s.Batches.CreateBatch(ctx, b, ts), llmservice.Conflict)
		got, err := s.Batches.FindBatchByID(ctx, "t1", "b1")
		must(t, err)
		if got.Metadata["m"] != "v" || got.Total != 2 || !got.ExpiresAt.Equal(base.Add(24*time.Hour+time.Minute)) || got.Status != llmservice.BatchInProgress {
			t.Errorf("FindBatchByID = %+v", got)
		}
		_, err = s.Batches.FindBatchByID(ctx, "t2", "b1")
		wantKind(t, err, llmservice.NotFound)
		page, more, err := s.Batches.FindBatches(ctx, llmservice.BatchFilter{TeamID: "t1", Limit: 2})
		must(t, err)
		if len(page) != 2 || !more || page[0].ID != "b2" || page[1].ID != "b1" {
			t.Fatalf("first page = %d (more %v); want b2, b1 and more", len(page), more)
		}
		page, more, err = s.Batches.FindBatches(ctx, llmservice.BatchFilter{TeamID: "t1", Limit: 2, After: "b1"})
		must(t, err)
		if len(page) != 1 || more || page[0].ID != "b0" {
			t.Errorf("second page = %d (more %v); want b0 only", len(page), more)
		}
		if none, _, _ := s.Batches.FindBatches(ctx, llmservice.BatchFilter{TeamID: "t1", Statuses: []llmservice.BatchStatus{llmservice.BatchCompleted}}); len(none) != 0 {
			t.Errorf("completed batches = %d; want 0", len(none))
		}
		if other, _, _ := s.Batches.FindBatches(ctx, llmservice.BatchFilter{TeamID: "t2"}); len(other) != 0 {
			t.Errorf("another team lists %d batches", len(other))
		}
	})
	t.Run("FinishOnlyWhenNothingOpen", func(t *testing.T) {
		s := open(t)
		b, ts := newBatch("b", "t1", base)
		must(t, s.Batches.CreateBatch(ctx, b, ts))
		fin := llmservice.BatchFinish{Status: llmservice.BatchCompleted, OutputFileID: "file-out",
			Files:   []*llmservice.File{{ID: "file-out", TeamID: "t1", Purpose: "batch_output", Filename: "out.jsonl", Content: []byte("x\n")}},
			Webhook: task("hook", "t1")}
		_, err := s.Batches.FinishBatch(ctx, "b", fin)
		wantKind(t, err, llmservice.Conflict)
		for range 2 {
			x := claim(t, s.Tasks, "L")
			must(t, s.Tasks.CompleteTask(ctx, x.ID, "L", llmservice.TaskCompletion{State: llmservice.TaskSucceeded}))
		}
		due, err := s.Batches.FindBatchesToFinish(ctx, time.Now())
		must(t, err)
		if len(due) != 1 || due[0].ID != "b" {
			t.Fatalf("FindBatchesToFinish = %d batches; want b", len(due))
		}
		got, err := s.Batches.FinishBatch(ctx, "b", fin)
		must(t, err)
		if got.Status != llmservice.BatchCompleted || got.CompletedAt.IsZero() || got.OutputFileID != "file-out" {
			t.Errorf("finished batch = %+v", got)
		}
		if _, err := s.Files.FindFileByID(ctx, "t1", "file-out"); err != nil {
			t.Errorf("output file: %v", err)
		}
		if hook := claim(t, s.Tasks, "L"); hook.ID != "hook" {
			t.Errorf("claim after finish = %s; want the webhook task", hook.ID)
		}
		_, err = s.Batches.FinishBatch(ctx, "b", llmservice.BatchFinish{Status: llmservice.BatchCompleted})
		wantKind(t, err, llmservice.Conflict)
		_, err = s.Batches.CancelBatch(ctx, "t1", "b")
		wantKind(t, err, llmservice.Conflict)
		if due, _ := s.Batches.FindBatchesToFinish(ctx, time.Now()); len(due) != 0 {
			t.Errorf("a finished batch is still due: %d", len(due))
		}
	})
	t.Run("CancelAndExpire", func(t *testing.T) {
		s := open(t)
		b, ts := newBatch("b", "t1", base)
		must(t, s.Batches.CreateBatch(ctx, b, ts))
		_, err := s.Batches.CancelBatch(ctx, "t2", "b")
		wantKind(t, err, llmservice.NotFound)
		got, err := s.Batches.CancelBatch(ctx, "t1", "b")
		must(t, err)
		if got.Status != llmservice.BatchCancelling || got.CancellingAt.IsZero() {
			t.Errorf("cancelled batch = %s at %v; want cancelling", got.Status, got.CancellingAt)
		}
		c, err := s.Tasks.CountTasks(ctx, "t1", "b")
		must(t, err)
		if c.Cancelled != 2 {
			t.Errorf("cancelled tasks = %d; want 2", c.Cancelled)
		}

		e, ts := newBatch("e", "t1", base)
		must(t, s.Batches.CreateBatch(ctx, e, ts))
		due, err := s.Batches.FindBatchesToFinish(ctx, base.Add(25*time.Hour))
		must(t, err)
		if len(due) != 2 {
			t.Fatalf("due = %d; want the cancelled batch and the expired one", len(due))
		}
		must(t, s.Batches.ExpireBatch(ctx, "e"))
		must(t, s.Batches.ExpireBatch(ctx, "e"))
		got, err = s.Batches.FindBatchByID(ctx, "t1", "e")
		must(t, err)
		if got.ExpiredAt.IsZero() || got.Status != llmservice.BatchInProgress {
			t.Errorf("expiring batch = %s expired_at %v; want in_progress, marked", got.Status, got.ExpiredAt)
		}
		tasks, err := s.Tasks.FindTasks(ctx, llmservice.TaskFilter{TeamID: "t1", Group: "e", AfterSeq: -1})
		must(t, err)
		for _, x := range tasks {
			if x.State != llmservice.TaskCancelled || x.Error != "batch_expired" {
				t.Errorf("task %s = %s %q; want cancelled batch_expired", x.ID, x.State, x.Error)
			}
		}
		fin, err := s.Batches.FinishBatch(ctx, "e", llmservice.BatchFinish{Status: llmservice.BatchExpired})
		must(t, err)
		if fin.Status != llmservice.BatchExpired || !fin.ExpiredAt.Equal(got.ExpiredAt) {
			t.Errorf("expired batch = %s at %v; want expired at the marked time %v", fin.Status, fin.ExpiredAt, got.ExpiredAt)
		}
	})
}

func testFiles(t *testing.T, s QueueStores) {
	ctx := context.Background()
	for i := range 3 {
		f := &llmservice.File{ID: fmt.Sprint("f", i), TeamID: "t1", Purpose: "batch", Filename: "in.jsonl",
			Content: []byte(fmt.Sprintf("line %d\n", i)), CreatedAt: base.Add(time.Duration(i) * time.Second)}
		must(t, s.Files.CreateFile(ctx, f))
		if f.Bytes != 7 {
			t.Errorf("Bytes = %d; want 7", f.Bytes)
		}
	}
	wantKind(t, s.Files.CreateFile(ctx, &llmservice.File{ID: "f0", TeamID: "t1", Purpose: "batch"}), llmservice.Conflict)
	f, err := s.Files.FindFileByID(ctx, "t1", "f1")
	must(t, err)
	if f.Bytes != 7 || f.Content != nil || f.Purpose != "batch" || !f.CreatedAt.Equal(base.Add(time.Second)) {
		t.Errorf("FindFileByID = %+v", f)
	}
	b, err := s.Files.FindFileContent(ctx, "t1", "f1")
	must(t, err)
	if string(b) != "line 1\n" {
		t.Errorf("content = %q", b)
	}
	_, err = s.Files.FindFileContent(ctx, "t2", "f1")
	wantKind(t, err, llmservice.NotFound)
	_, err = s.Files.FindFileByID(ctx, "t2", "f1")
	wantKind(t, err, llmservice.NotFound)
	list, more, err := s.Files.FindFiles(ctx, llmservice.FileFilter{TeamID: "t1", Limit: 2})
	must(t, err)
	if len(list) != 2 || !more || list[0].ID != "f2" {
		t.Errorf("newest-first page = %d (more %v)", len(list), more)
	}
	list, _, err = s.Files.FindFiles(ctx, llmservice.FileFilter{TeamID: "t1", Asc: true, After: "f0"})
	must(t, err)
	if len(list) != 2 || list[0].ID != "f1" {
		t.Errorf("oldest-first after f0 = %d", len(list))
	}
	wantKind(t, s.Files.DeleteFile(ctx, "t2", "f1"), llmservice.NotFound)
	must(t, s.Files.DeleteFile(ctx, "t1", "f1"))
	wantKind(t, s.Files.DeleteFile(ctx, "t1", "f1"), llmservice.NotFound)
}

func testWebhookDeliveries(t *testing.T, s QueueStores) {
	ctx := context.Background()
	for i := 1; i <= 2; i++ {
		must(t, s.Webhooks.InsertWebhookDelivery(ctx, &llmservice.WebhookDelivery{TeamID: "t1", BatchID: "b", MessageID: "msg_b",
			Attempt: i, URL: "http://x", StatusCode: 500 - 300*(i-1), Time: base}))
	}
	ds, err := s.Webhooks.FindWebhookDeliveries(ctx, "t1", "b")
	must(t, err)
	if len(ds) != 2 || ds[0].Attempt != 1 || ds[1].StatusCode != 200 || !ds[0].Time.Equal(base) {
		t.Errorf("deliveries = %+v", ds)
	}
	if other, _ := s.Webhooks.FindWebhookDeliveries(ctx, "t2", "b"); len(other) != 0 {
		t.Errorf("another team sees %d deliveries", len(other))
	}
}

// The metrics' queue depth counts open tasks of every team by kind and
// state; finished ones are not in it.
func testQueueDepth(t *testing.T, s QueueStores) {
	ctx := context.Background()
	got, err := s.Tasks.QueueDepth(ctx)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("QueueDepth of an empty queue = %+v; want nothing", got)
	}
	past := time.Now().Add(-time.Minute)
	var tasks []*llmservice.Task
	for i, team := range []string{"t1", "t1", "t2", "t2"} {
		tk := task(fmt.Sprintf("d%d", i), team)
		tk.RunAfter = past.Add(time.Duration(i) * time.Second)
		tasks = append(tasks, tk)
	}
	other := task("other", "t3")
	other.Kind, other.RunAfter = "other", past.Add(time.Hour)
	must(t, s.Tasks.EnqueueTasks(ctx, append(tasks, other), nil))
	first := claim(t, s.Tasks, "L1")  // d0 runs
	second := claim(t, s.Tasks, "L2") // d1 runs, then succeeds
	must(t, s.Tasks.CompleteTask(ctx, second.ID, "L2", llmservice.TaskCompletion{State: llmservice.TaskSucceeded, Result: []byte("ok")}))
	if first.ID != "d0" || second.ID != "d1" {
		t.Fatalf("claimed %s, %s; want d0, d1", first.ID, second.ID)
	}
	got, err = s.Tasks.QueueDepth(ctx)
	must(t, err)
	want := []llmservice.QueueDepth{
		{Kind: "other", State: llmservice.TaskQueued, Tasks: 1},
		{Kind: "test", State: llmservice.TaskQueued, Tasks: 2},
		{Kind: "test", State: llmservice.TaskRunning, Tasks: 1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("QueueDepth = %+v; want %+v", got, want)
	}
}
