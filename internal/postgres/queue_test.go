package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/postgres/pgtest"
	"github.com/llmservice/llmservice/internal/storetest"
)

func queueStores(db *DB) storetest.QueueStores {
	return storetest.QueueStores{Tasks: db, Batches: db, Files: db, Webhooks: db, Teams: db, Credits: db, Usage: db}
}

func TestQueueStore(t *testing.T) {
	storetest.RunQueue(t, func(t *testing.T) storetest.QueueStores { return queueStores(openTest(t)) })
}

// openReplicas opens n handles on one migrated private schema: n gateway
// replicas sharing a database.
func openReplicas(t *testing.T, n int) []*DB {
	t.Helper()
	ctx := context.Background()
	url := pgtest.URL(t)
	dbs := make([]*DB, n)
	for i := range dbs {
		db, err := Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		dbs[i] = db
	}
	return dbs
}

// Two replicas with eight workers each drain one queue: every task is
// claimed once, by one worker, and completed once with that worker's
// result.
func TestClaimAcrossReplicas(t *testing.T) {
	const n = 500
	ctx := context.Background()
	replicas := openReplicas(t, 2)
	var tasks []*llmservice.Task
	for i := range n {
		tasks = append(tasks, &llmservice.Task{ID: fmt.Sprint("task", i), Kind: "test", TeamID: "t1",
			Group: "g", Key: fmt.Sprint(i), Seq: i, MaxAttempts: 3})
	}
	if err := replicas[0].EnqueueTasks(ctx, tasks, nil); err != nil {
		t.Fatal(err)
	}

	var (
		mu      sync.Mutex
		claimed = map[string]string{} // task ID -> the worker that claimed it
		wg      sync.WaitGroup
	)
	for r, db := range replicas {
		for w := range 8 {
			worker := fmt.Sprintf("r%d-w%d", r, w)
			wg.Go(func() {
				for {
					task, err := db.ClaimTask(ctx, llmservice.TaskClaim{Lease: worker, For: time.Minute})
					if llmservice.ErrorKind(err) == llmservice.NotFound {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if prev, ok := claimed[task.ID]; ok {
						t.Errorf("task %s claimed by %s and %s", task.ID, prev, worker)
					}
					claimed[task.ID] = worker
					mu.Unlock()
					done := llmservice.TaskCompletion{State: llmservice.TaskSucceeded, Result: []byte(worker)}
					if err := db.CompleteTask(ctx, task.ID, worker, done); err != nil {
						t.Errorf("complete %s: %v", task.ID, err)
					}
				}
			})
		}
	}
	wg.Wait()

	if len(claimed) != n {
		t.Errorf("claimed %d distinct tasks; want %d", len(claimed), n)
	}
	got, err := replicas[1].FindTasks(ctx, llmservice.TaskFilter{TeamID: "t1", Group: "g", AfterSeq: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range got {
		if task.State != llmservice.TaskSucceeded || task.Attempts != 1 || string(task.Result) != claimed[task.ID] {
			t.Errorf("task %s = %s, %d attempts, result %q; want succeeded once by %s",
				task.ID, task.State, task.Attempts, task.Result, claimed[task.ID])
		}
	}
	if len(got) != n {
		t.Errorf("found %d tasks; want %d", len(got), n)
	}
}

// A claim passes over a row another replica holds instead of waiting for
// it: with the earliest task locked by an open transaction, a claim returns
// the next one at once.
func TestClaimSkipsLockedTask(t *testing.T) {
	ctx := context.Background()
	replicas := openReplicas(t, 2)
	first := &llmservice.Task{ID: "first", Kind: "test", TeamID: "t1", RunAfter: time.Now().Add(-time.Minute)}
	second := &llmservice.Task{ID: "second", Kind: "test", TeamID: "t1"}
	if err := replicas[0].EnqueueTasks(ctx, []*llmservice.Task{first, second}, nil); err != nil {
		t.Fatal(err)
	}
	tx, err := replicas[0].pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT id FROM jobs_queue WHERE id = 'first' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	claimCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, err := replicas[1].ClaimTask(claimCtx, llmservice.TaskClaim{Lease: "L", For: time.Minute})
	if err != nil {
		t.Fatalf("claim beside a locked task: %v", err)
	}
	if got.ID != "second" {
		t.Errorf("claimed %s; want second", got.ID)
	}
	_, err = replicas[1].ClaimTask(claimCtx, llmservice.TaskClaim{Lease: "L", For: time.Minute})
	if llmservice.ErrorKind(err) != llmservice.NotFound {
		t.Errorf("claim with only a locked task left = %v; want NotFound", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := replicas[1].ClaimTask(ctx, llmservice.TaskClaim{Lease: "L", For: time.Minute}); err != nil || got.ID != "first" {
		t.Errorf("claim after the lock went = %v, %v; want first", got, err)
	}
}

// A batch larger than one INSERT goes in whole, chunk by chunk, and a key
// repeated across chunks (a retried line) is enqueued once.
func TestEnqueueInChunks(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	n := 2*enqueueChunk + 500
	var tasks []*llmservice.Task
	for i := range n {
		tasks = append(tasks, &llmservice.Task{ID: fmt.Sprint("task", i), Kind: "test", TeamID: "t1",
			Group: "g", Key: fmt.Sprint(i), Seq: i, Payload: []byte(fmt.Sprint(i))})
	}
	again := &llmservice.Task{ID: "again", Kind: "test", TeamID: "t1", Group: "g", Key: "7", Seq: n}
	if err := db.EnqueueTasks(ctx, append(tasks, again), nil); err != nil {
		t.Fatal(err)
	}
	c, err := db.CountTasks(ctx, "t1", "g")
	if err != nil {
		t.Fatal(err)
	}
	if c.Queued != n {
		t.Errorf("queued %d; want %d", c.Queued, n)
	}
	last, err := db.FindTaskByID(ctx, "t1", fmt.Sprint("task", n-1))
	if err != nil {
		t.Fatal(err)
	}
	if string(last.Payload) != fmt.Sprint(n-1) || last.Seq != n-1 || last.MaxAttempts != 1 || last.State != llmservice.TaskQueued {
		t.Errorf("last task = %+v", last)
	}
}
