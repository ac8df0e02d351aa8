package main

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/batches"
	"github.com/llmservice/llmservice/internal/dialect/llmendpoint"
	"github.com/llmservice/llmservice/internal/queue"
	"github.com/llmservice/llmservice/internal/server"
)

// The durable queue and the APIs that run on it: OpenAI files and batches,
// StackForDevs batches, LlmEndpoint queued completions. One runner serves
// them all; its workers stop with the other background goroutines, before
// the meter's last flush.
func init() {
	dialectBuilders = append(dialectBuilders, buildQueue)
}

// queueSettings are read from the environment (see docs/batches.md).
type queueSettings struct {
	workers        int
	lease, poll    time.Duration
	sweep          time.Duration
	webhookRetries []time.Duration // nil: the default schedule
}

func readQueueSettings(getenv func(string) string) (queueSettings, error) {
	s := queueSettings{workers: 4, lease: time.Minute, poll: time.Second, sweep: 10 * time.Second}
	if v := getenv("LLMSERVICE_QUEUE_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			return s, fmt.Errorf("LLMSERVICE_QUEUE_WORKERS=%q: want a number of workers from 1 to 1024", v)
		}
		s.workers = n
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"LLMSERVICE_QUEUE_LEASE", &s.lease}, {"LLMSERVICE_QUEUE_POLL", &s.poll}, {"LLMSERVICE_BATCH_SWEEP", &s.sweep}} {
		if v := getenv(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t <= 0 {
				return s, fmt.Errorf("%s=%q: want a positive duration such as 30s", d.name, v)
			}
			*d.dst = t
		}
	}
	if v := getenv("LLMSERVICE_WEBHOOK_RETRIES"); v != "" {
		s.webhookRetries = []time.Duration{}
		for _, f := range strings.Split(v, ",") {
			t, err := time.ParseDuration(strings.TrimSpace(f))
			if err != nil || t < 0 {
				return s, fmt.Errorf("LLMSERVICE_WEBHOOK_RETRIES=%q: want comma-separated durations such as 5s,30s,2m", v)
			}
			s.webhookRetries = append(s.webhookRetries, t)
		}
	}
	return s, nil
}

// queueAPIs mounts the APIs that share the queue.
type queueAPIs []registrar

func (q queueAPIs) Register(mux *http.ServeMux) {
	for _, r := range q {
		r.Register(mux)
	}
}

func buildQueue(d *deps) (registrar, error) {
	s, err := readQueueSettings(os.Getenv)
	if err != nil {
		return nil, err
	}
	var allow []netip.Prefix
	for _, c := range d.Config.WebhookAllowCIDRs {
		allow = append(allow, netip.MustParsePrefix(c)) // checked by config.Validate
	}
	runner := queue.New(d.DB, queue.Config{Workers: s.workers, Lease: s.lease, Poll: s.poll, Logger: d.Logger, Outages: d.Outages})
	b := &batches.Handler{GW: d.Gateway, Store: d.DB, Queue: runner, Flush: d.Meter.Flush, Log: d.Logger,
		BodyLimit: d.Config.BodyLimit, Webhooks: batches.WebhookConfig{Retries: s.webhookRetries, Allow: allow}, Outages: d.Outages}
	b.Tasks(runner)
	q := llmendpoint.NewQueued(llmendpoint.QueuedConfig{GW: d.Gateway, Store: d.DB, Notify: runner.Notify,
		Flush: d.Meter.Flush, Log: d.Logger, BodyLimit: d.Config.BodyLimit})
	q.Tasks(runner)
	d.Background.Go(runner.Run)
	d.Background.Go(func(ctx context.Context) { b.Sweep(ctx, s.sweep) })
	return queueAPIs{b, q}, nil
}

// CancelBatch cancels a batch through the batches API among q, for the
// dashboard.
func (q queueAPIs) CancelBatch(ctx context.Context, teamID, id string) (*llmservice.Batch, error) {
	for _, r := range q {
		if c, ok := r.(server.BatchCanceller); ok {
			return c.CancelBatch(ctx, teamID, id)
		}
	}
	return nil, llmservice.Errorf(llmservice.Unavailable, "batches are not served")
}

// batchCanceller finds the batch API among the mounted ones.
func batchCanceller(rs []registrar) server.BatchCanceller {
	for _, r := range rs {
		if c, ok := r.(server.BatchCanceller); ok {
			return c
		}
	}
	return nil
}
