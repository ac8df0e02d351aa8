package telemetry

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmservice/llmservice"
)

// QueueDepther is the store the queue depth is read from.
type QueueDepther interface {
	QueueDepth(ctx context.Context) ([]llmservice.QueueDepth, error)
}

var queueDesc = prometheus.NewDesc("llmservice_queue_tasks",
	"Open tasks of the durable queue (batches, queued completions, jobs) by kind and state (queued, running).",
	[]string{"kind", "state"}, nil)

// QueueDepth reports llmservice_queue_tasks at scrape time. The count is
// one indexed query over open tasks; it is kept for MaxAge so that many
// scrapers cost the database one query, and a database that does not answer
// within Timeout leaves the series out of that scrape instead of holding
// it.
type QueueDepth struct {
	Store   QueueDepther
	MaxAge  time.Duration // default 5s
	Timeout time.Duration // default 2s
	now     func() time.Time

	mu   sync.Mutex
	at   time.Time
	last []llmservice.QueueDepth
}

// Describe implements prometheus.Collector.
func (q *QueueDepth) Describe(ch chan<- *prometheus.Desc) { ch <- queueDesc }

// Collect implements prometheus.Collector.
func (q *QueueDepth) Collect(ch chan<- prometheus.Metric) {
	for _, d := range q.read() {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(d.Tasks), d.Kind, string(d.State))
	}
}

func (q *QueueDepth) read() []llmservice.QueueDepth {
	now := time.Now
	if q.now != nil {
		now = q.now
	}
	maxAge, timeout := q.MaxAge, q.Timeout
	if maxAge <= 0 {
		maxAge = 5 * time.Second
	}
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.at.IsZero() && now().Sub(q.at) < maxAge {
		return q.last
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ds, err := q.Store.QueueDepth(ctx)
	if err != nil {
		return nil
	}
	q.at, q.last = now(), ds
	return ds
}
