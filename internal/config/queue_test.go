package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice/internal/config"
)

func TestQueueSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     []string
		want    config.Queue
		wantErr string // substring of the error; "" for none
	}{
		{name: "defaults", want: config.Queue{Workers: 4, Lease: time.Minute, Poll: time.Second, BatchSweep: 10 * time.Second}},
		{name: "set", env: []string{"LLMSERVICE_QUEUE_WORKERS", "8", "LLMSERVICE_QUEUE_LEASE", "2s", "LLMSERVICE_QUEUE_POLL", "50ms",
			"LLMSERVICE_BATCH_SWEEP", "200ms", "LLMSERVICE_WEBHOOK_RETRIES", "10ms, 1s,0s"},
			want: config.Queue{Workers: 8, Lease: 2 * time.Second, Poll: 50 * time.Millisecond, BatchSweep: 200 * time.Millisecond,
				WebhookRetries: []time.Duration{10 * time.Millisecond, time.Second, 0}}},
		{name: "no webhook retry", env: []string{"LLMSERVICE_WEBHOOK_RETRIES", "0s"},
			want: config.Queue{Workers: 4, Lease: time.Minute, Poll: time.Second, BatchSweep: 10 * time.Second, WebhookRetries: []time.Duration{0}}},
		{name: "too many workers", env: []string{"LLMSERVICE_QUEUE_WORKERS", "1025"}, wantErr: "LLMSERVICE_QUEUE_WORKERS"},
		{name: "no worker", env: []string{"LLMSERVICE_QUEUE_WORKERS", "0"}, wantErr: "LLMSERVICE_QUEUE_WORKERS"},
		{name: "zero lease", env: []string{"LLMSERVICE_QUEUE_LEASE", "0s"}, wantErr: "LLMSERVICE_QUEUE_LEASE"},
		{name: "bad poll", env: []string{"LLMSERVICE_QUEUE_POLL", "often"}, wantErr: "LLMSERVICE_QUEUE_POLL"},
		{name: "negative sweep", env: []string{"LLMSERVICE_BATCH_SWEEP", "-1s"}, wantErr: "LLMSERVICE_BATCH_SWEEP"},
		{name: "negative retry", env: []string{"LLMSERVICE_WEBHOOK_RETRIES", "5s,-1s"}, wantErr: "LLMSERVICE_WEBHOOK_RETRIES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(nil, env(tc.env...))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load() error = %v; want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, c.QueueSettings()); diff != "" {
				t.Errorf("QueueSettings() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
