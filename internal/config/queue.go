package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Queue tunes the durable queue behind batches, queued completions and
// webhooks (docs/batches.md). Its settings come from the environment only;
// zero values take the defaults (Config.QueueSettings).
type Queue struct {
	Workers int           // tasks run at once by this process
	Lease   time.Duration // how long a claimed task is held without a heartbeat
	Poll    time.Duration // how often idle workers look for due tasks
	// BatchSweep is how often batches are checked for expiry and for a
	// finish missed by a crash.
	BatchSweep time.Duration
	// WebhookRetries are the waits before each webhook retry; nil keeps the
	// default schedule, an empty list makes one attempt only.
	WebhookRetries []time.Duration
}

// Defaults of the queue settings.
const (
	DefaultQueueWorkers = 4
	DefaultQueueLease   = time.Minute
	DefaultQueuePoll    = time.Second
	DefaultBatchSweep   = 10 * time.Second
)

// QueueSettings are the configured queue settings, each zero one replaced
// by its default.
func (c *Config) QueueSettings() Queue {
	q := c.Queue
	if q.Workers <= 0 {
		q.Workers = DefaultQueueWorkers
	}
	for _, d := range []struct {
		dst *time.Duration
		def time.Duration
	}{{&q.Lease, DefaultQueueLease}, {&q.Poll, DefaultQueuePoll}, {&q.BatchSweep, DefaultBatchSweep}} {
		if *d.dst <= 0 {
			*d.dst = d.def
		}
	}
	return q
}

// applyQueueEnv reads the queue's settings from the environment.
func (c *Config) applyQueueEnv(getenv func(string) string) error {
	if v := getenv("LLMSERVICE_QUEUE_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			return fmt.Errorf("LLMSERVICE_QUEUE_WORKERS=%q: want a number of workers from 1 to 1024", v)
		}
		c.Queue.Workers = n
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"LLMSERVICE_QUEUE_LEASE", &c.Queue.Lease}, {"LLMSERVICE_QUEUE_POLL", &c.Queue.Poll}, {"LLMSERVICE_BATCH_SWEEP", &c.Queue.BatchSweep}} {
		if v := getenv(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t <= 0 {
				return fmt.Errorf("%s=%q: want a positive duration such as 30s", d.name, v)
			}
			*d.dst = t
		}
	}
	if v := getenv("LLMSERVICE_WEBHOOK_RETRIES"); v != "" {
		retries := []time.Duration{}
		for _, f := range strings.Split(v, ",") {
			t, err := time.ParseDuration(strings.TrimSpace(f))
			if err != nil || t < 0 {
				return fmt.Errorf("LLMSERVICE_WEBHOOK_RETRIES=%q: want comma-separated durations such as 5s,30s,2m", v)
			}
			retries = append(retries, t)
		}
		c.Queue.WebhookRetries = retries
	}
	return nil
}
