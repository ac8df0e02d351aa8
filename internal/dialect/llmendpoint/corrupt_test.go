package llmendpoint

import (
	"context"
	"testing"

	"github.com/llmservice/llmservice"
)

// A task whose payload does not decode has an unknown charge: reading it is
// an error and cancelling it refuses, instead of refunding zero credits.
func TestCorruptPayloadIsAnErrorNotAZeroCharge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload string
		wantErr bool
		credits int64
	}{
		{"good", `{"request":{"model":"m","prompt":"hi"},"model":"m","credits":7}`, false, 7},
		{"truncated", `{"request":{"model":"m"`, true, 0},
		{"wrong type", `{"credits":"seven"}`, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := &llmservice.Task{ID: "t1", TeamID: "team", Kind: KindQueued, State: llmservice.TaskQueued, Payload: []byte(tc.payload)}
			_, credits, err := QueuedInfo(task)
			if (err != nil) != tc.wantErr || credits != tc.credits {
				t.Fatalf("QueuedInfo = %d, %v; want %d, error %v", credits, err, tc.credits, tc.wantErr)
			}
			s := &cancelRecorder{}
			_, err = CancelQueued(context.Background(), s, task)
			if tc.wantErr {
				if err == nil || s.called {
					t.Fatalf("CancelQueued of a corrupt task: err %v, store called %v; want an error and no cancel", err, s.called)
				}
				return
			}
			if err != nil || s.refund == nil || s.refund.Amount != tc.credits {
				t.Fatalf("CancelQueued: err %v, refund %+v; want a refund of %d", err, s.refund, tc.credits)
			}
		})
	}
}

type cancelRecorder struct {
	called bool
	refund *llmservice.CreditChange
}

func (c *cancelRecorder) CancelTask(_ context.Context, _, _, _ string, refund *llmservice.CreditChange) (*llmservice.Task, error) {
	c.called, c.refund = true, refund
	return &llmservice.Task{}, nil
}
