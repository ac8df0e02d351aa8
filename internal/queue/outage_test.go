package queue_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/queue"
	"github.com/llmservice/llmservice/internal/sqlite"
)

// downDB fails every claim while down, as a store does while its database
// is unavailable.
type downDB struct {
	*sqlite.DB
	down     atomic.Bool
	failures atomic.Int64
}

func (d *downDB) ClaimTask(ctx context.Context, c llmservice.TaskClaim) (*llmservice.Task, error) {
	if d.down.Load() {
		d.failures.Add(1)
		return nil, &llmservice.Error{Kind: llmservice.Unavailable, Message: "The database is unavailable; try again shortly"}
	}
	return d.DB.ClaimTask(ctx, c)
}

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Four workers polling a store that is down log the outage once, and its
// end once, however many polls fail; work resumes when it answers.
func TestStoreOutageIsLoggedOnce(t *testing.T) {
	db := &downDB{DB: openDB(t)}
	db.down.Store(true)
	logs := &lockedLog{}
	r := queue.New(db, fast(queue.Config{Workers: 4, Logger: slog.New(slog.NewTextHandler(logs, nil))}))
	var ran atomic.Int64
	r.Handle("k", queue.Handler{Run: func(ctx context.Context, t *llmservice.Task) (queue.Outcome, error) {
		ran.Add(1)
		return queue.Outcome{}, nil
	}})
	start(t, r)
	for db.failures.Load() < 100 {
		time.Sleep(5 * time.Millisecond)
	}
	db.down.Store(false)
	enqueue(t, db.DB, 1, "t1", 3)
	r.Notify()
	waitOpen(t, db.DB, "t1")
	if ran.Load() != 1 {
		t.Errorf("%d runs after the outage; want 1", ran.Load())
	}
	out := logs.String()
	if n := strings.Count(out, "queue: database unavailable"); n != 1 {
		t.Errorf("%d failed polls logged %d outage lines; want 1:\n%s", db.failures.Load(), n, out)
	}
	if n := strings.Count(out, "queue: database answers again"); n != 1 {
		t.Errorf("the recovery was logged %d times; want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("%d log lines in all; want 2:\n%s", n, out)
	}
}
