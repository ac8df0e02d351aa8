package telemetry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/llmservice/llmservice"
)

type depthStore struct {
	calls int
	ds    []llmservice.QueueDepth
	err   error
}

func (d *depthStore) QueueDepth(context.Context) ([]llmservice.QueueDepth, error) {
	d.calls++
	return d.ds, d.err
}

func TestQueueDepth(t *testing.T) {
	s := &depthStore{ds: []llmservice.QueueDepth{{Kind: "batch_item", State: llmservice.TaskQueued, Tasks: 7}, {Kind: "batch_item", State: llmservice.TaskRunning, Tasks: 2}}}
	clock := time.Unix(1000, 0)
	q := &QueueDepth{Store: s, now: func() time.Time { return clock }}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(q)
	want := `
# HELP llmservice_queue_tasks Open tasks of the durable queue (batches, queued completions, jobs) by kind and state (queued, running).
# TYPE llmservice_queue_tasks gauge
llmservice_queue_tasks{kind="batch_item",state="queued"} 7
llmservice_queue_tasks{kind="batch_item",state="running"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "llmservice_queue_tasks"); err != nil {
		t.Fatal(err)
	}
	// A second scrape within MaxAge reads no database.
	s.ds = nil
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "llmservice_queue_tasks"); err != nil || s.calls != 1 {
		t.Fatalf("second scrape: %v, %d store calls; want the cached figures and 1 call", err, s.calls)
	}
	// Later, a failing database leaves the series out of the scrape.
	clock = clock.Add(time.Minute)
	s.err = errors.New("database down")
	if n, err := testutil.GatherAndCount(reg, "llmservice_queue_tasks"); err != nil || n != 0 {
		t.Fatalf("scrape with the database down: %d series, %v; want none", n, err)
	}
}
