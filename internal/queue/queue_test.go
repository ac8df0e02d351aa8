package queue_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/queue"
	"github.com/llmservice/llmservice/internal/sqlite"
)

func openDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "q.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}

func enqueue(tb testing.TB, db *sqlite.DB, n int, team string, max int) []string {
	tb.Helper()
	var ts []*llmservice.Task
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-%d", team, i)
		ts = append(ts, &llmservice.Task{ID: id, Kind: "k", TeamID: team, Group: "g-" + team, Key: id, Seq: i, MaxAttempts: max})
		ids = append(ids, id)
	}
	if err := db.EnqueueTasks(context.Background(), ts, nil); err != nil {
		tb.Fatal(err)
	}
	return ids
}

// start runs r until the test ends (or stop is called) and returns stop.
func start(t *testing.T, r *queue.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// waitOpen waits until the group has no open task, failing after a minute
// (a generous bound on correctness, not a speed assertion).
func waitOpen(t *testing.T, db *sqlite.DB, team string) llmservice.TaskCounts {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := db.CountTasks(context.Background(), team, "g-"+team)
		if err != nil {
			t.Fatal(err)
		}
		if c.Open() == 0 {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks still open after a minute: %+v", c)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fast(cfg queue.Config) queue.Config {
	cfg.Poll = 10 * time.Millisecond
	cfg.Backoff = func(int) time.Duration { return time.Millisecond }
	if cfg.Lease == 0 {
		cfg.Lease = 5 * time.Second
	}
	return cfg
}

func TestEveryTaskRunsOnceAndStoresItsResult(t *testing.T) {
	db := openDB(t)
	ids := enqueue(t, db, 200, "t1", 3)
	var (
		mu       sync.Mutex
		runs     = map[string]int{}
		finished atomic.Int64
	)
	r := queue.New(db, fast(queue.Config{Workers: 4}))
	r.Handle("k", queue.Handler{
		Run: func(ctx context.Context, task *llmservice.Task) (queue.Outcome, error) {
			mu.Lock()
			runs[task.ID]++
			mu.Unlock()
			return queue.Outcome{Result: []byte("result of " + task.ID)}, nil
		},
		Finished: func(ctx context.Context, task *llmservice.Task, s llmservice.TaskState) { finished.Add(1) },
	})
	start(t, r)
	c := waitOpen(t, db, "t1")
	if c.Succeeded != 200 {
		t.Errorf("counts = %+v; want 200 succeeded", c)
	}
	for _, id := range ids {
		if runs[id] != 1 {
			t.Errorf("task %s ran %d times; want 1", id, runs[id])
		}
		got, err := db.FindTaskByID(context.Background(), "t1", id)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Result) != "result of "+id {
			t.Errorf("task %s result = %q", id, got.Result)
		}
	}
	if finished.Load() != 200 {
		t.Errorf("Finished called %d times; want 200", finished.Load())
	}
}

func TestRetriesWithBackoffThenGivesUp(t *testing.T) {
	cases := []struct {
		name      string
		failures  int
		max       int
		wantState llmservice.TaskState
		wantAtt   int
		wantRes   string
	}{
		{"SucceedsOnThirdAttempt", 2, 3, llmservice.TaskSucceeded, 3, "ok"},
		{"GivesUpAfterMaxAttempts", 5, 3, llmservice.TaskFailed, 3, "gave up: boom 3"},
		{"PanicIsAnError", -1, 2, llmservice.TaskFailed, 2, "gave up: task handler panicked: bad"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t)
			enqueue(t, db, 1, "t1", tc.max)
			var calls atomic.Int64
			r := queue.New(db, fast(queue.Config{Workers: 2}))
			r.Handle("k", queue.Handler{
				Run: func(ctx context.Context, task *llmservice.Task) (queue.Outcome, error) {
					n := calls.Add(1)
					if tc.failures < 0 {
						panic("bad")
					}
					if int(n) <= tc.failures {
						return queue.Outcome{}, fmt.Errorf("boom %d", n)
					}
					return queue.Outcome{Result: []byte("ok")}, nil
				},
				GiveUp: func(task *llmservice.Task, err error) queue.Outcome {
					return queue.Outcome{Failed: true, Result: []byte("gave up: " + err.Error())}
				},
			})
			start(t, r)
			waitOpen(t, db, "t1")
			got, err := db.FindTaskByID(context.Background(), "t1", "t1-0")
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tc.wantState || got.Attempts != tc.wantAtt || string(got.Result) != tc.wantRes {
				t.Errorf("task = %s after %d attempts, result %q; want %s, %d, %q", got.State, got.Attempts, got.Result, tc.wantState, tc.wantAtt, tc.wantRes)
			}
		})
	}
}

// A rate-limited task is put back without using an attempt, and the team's
// other tasks are held back meanwhile instead of each being refused.
func TestRateLimitedSnoozesAndHoldsTheTeam(t *testing.T) {
	db := openDB(t)
	enqueue(t, db, 20, "t1", 1)
	var (
		refused atomic.Int64
		limited atomic.Bool
	)
	limited.Store(true)
	r := queue.New(db, fast(queue.Config{Workers: 4}))
	r.Handle("k", queue.Handler{Run: func(ctx context.Context, task *llmservice.Task) (queue.Outcome, error) {
		if limited.Swap(false) {
			refused.Add(1)
			return queue.Outcome{}, queue.RateLimited(200*time.Millisecond, errors.New("429"))
		}
		return queue.Outcome{Result: []byte("ok")}, nil
	}})
	start(t, r)
	c := waitOpen(t, db, "t1")
	if c.Succeeded != 20 {
		t.Errorf("counts = %+v; want all 20 succeeded although MaxAttempts is 1", c)
	}
	if refused.Load() != 1 {
		t.Errorf("refusals = %d; want 1", refused.Load())
	}
}

// A task whose worker died (its lease ran out) is run again by another.
func TestExpiredLeaseIsRunAgain(t *testing.T) {
	db := openDB(t)
	enqueue(t, db, 1, "t1", 3)
	if _, err := db.ClaimTask(context.Background(), llmservice.TaskClaim{Lease: "dead worker", For: -time.Second}); err != nil {
		t.Fatal(err)
	}
	r := queue.New(db, fast(queue.Config{Workers: 1}))
	r.Handle("k", queue.Handler{Run: func(ctx context.Context, task *llmservice.Task) (queue.Outcome, error) {
		return queue.Outcome{Result: []byte(fmt.Sprint("attempt ", task.Attempts))}, nil
	}})
	start(t, r)
	waitOpen(t, db, "t1")
	got, _ := db.FindTaskByID(context.Background(), "t1", "t1-0")
	if got.State != llmservice.TaskSucceeded || string(got.Result) != "attempt 2" {
		t.Errorf("task = %s %q; want succeeded on attempt 2", got.State, got.Result)
	}
}

// Shutdown interrupts a task that outlives the grace period and puts it back
// without using an attempt; the next runner finishes it.
func TestShutdownPutsRunningTasksBack(t *testing.T) {
	db := openDB(t)
	enqueue(t, db, 1, "t1", 1)
	started := make(chan struct{})
	r := queue.New(db, fast(queue.Config{Workers: 1, Grace: 20 * time.Millisecond}))
	r.Handle("k", queue.Handler{Run: func(ctx context.Context, task *llmservice.Task) (queue.Outcome, error) {
		close(started)
		<-ctx.Done()
		return queue.Outcome{}, ctx.Err()
	}})
	stop := start(t, r)
	<-started
	stop()
	got, _ := db.FindTaskByID(context.Background(), "t1", "t1-0")
	if got.State != llmservice.TaskQueued || got.Attempts != 0 {
		t.Fatalf("after shutdown task = %s, %d attempts; want queued, 0", got.State, got.Attempts)
	}
	r2 := queue.New(db, fast(queue.Config{Workers: 1}))
	r2.Handle("k", queue.Handler{Run: func(ctx context.Context, task *llmservice.Task) (queue.Outcome, error) {
		return queue.Outcome{Result: []byte("ok")}, nil
	}})
	start(t, r2)
	if c := waitOpen(t, db, "t1"); c.Succeeded != 1 {
		t.Errorf("counts = %+v; want 1 succeeded", c)
	}
}

// A lease kept alive by heartbeats is not taken over even when the task
// runs for many lease periods.
func TestHeartbeatKeepsALongTask(t *testing.T) {
	db := openDB(t)
	enqueue(t, db, 1, "t1", 1)
	var runs atomic.Int64
	r := queue.New(db, fast(queue.Config{Workers: 2, Lease: 60 * time.Millisecond}))
	r.Handle("k", queue.Handler{Run: func(ctx context.Context, task *llmservice.Task) (queue.Outcome, error) {
		runs.Add(1)
		select {
		case <-time.After(400 * time.Millisecond):
		case <-ctx.Done():
			return queue.Outcome{}, ctx.Err()
		}
		return queue.Outcome{Result: []byte("ok")}, nil
	}})
	start(t, r)
	waitOpen(t, db, "t1")
	if runs.Load() != 1 {
		t.Errorf("the task ran %d times; want 1", runs.Load())
	}
}

func TestExponentialBackoff(t *testing.T) {
	b := queue.Exponential(time.Second, 10*time.Second)
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 800 * time.Millisecond, 1200 * time.Millisecond},
		{2, 1600 * time.Millisecond, 2400 * time.Millisecond},
		{4, 6400 * time.Millisecond, 9600 * time.Millisecond},
		{10, 8 * time.Second, 12 * time.Second},
	} {
		if got := b(tc.attempt); got < tc.min || got > tc.max {
			t.Errorf("Exponential(1s, 10s)(%d) = %v; want within [%v, %v]", tc.attempt, got, tc.min, tc.max)
		}
	}
}

// BenchmarkRunner measures tasks per second through SQLite with no-op
// handlers: the queue's own overhead (claim, heartbeat, completion).
func BenchmarkRunner(b *testing.B) {
	db := openDB(b)
	enqueue(b, db, b.N, "t1", 1)
	var done atomic.Int64
	all := make(chan struct{})
	r := queue.New(db, queue.Config{Workers: 4, Poll: 10 * time.Millisecond})
	r.Handle("k", queue.Handler{Run: func(ctx context.Context, task *llmservice.Task) (queue.Outcome, error) {
		if done.Add(1) == int64(b.N) {
			close(all)
		}
		return queue.Outcome{Result: []byte("ok")}, nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	b.ResetTimer()
	go func() { r.Run(ctx); close(stopped) }()
	<-all
	b.StopTimer()
	cancel()
	<-stopped
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
}
