package llmendpoint

import (
	"context"
	"encoding/json"

	"github.com/llmservice/llmservice"
)

// What the dashboard shows and does with queued completions: it lists
// their tasks from the store, reads each one's model and charge here, and
// cancels a queued one with its refund.

// QueuedInfo is the model a queued completion asks for and the credits it
// was charged, read from its task.
func QueuedInfo(t *llmservice.Task) (model string, credits int64) {
	var p queuedPayload
	if json.Unmarshal(t.Payload, &p) != nil {
		return "", 0
	}
	if p.Request != nil && p.Request.Model != "" {
		return p.Request.Model, p.Credits
	}
	return p.Model, p.Credits
}

// QueuedCanceller is the store CancelQueued needs.
type QueuedCanceller interface {
	CancelTask(ctx context.Context, teamID, id, reason string, refund *llmservice.CreditChange) (*llmservice.Task, error)
}

// CancelQueued cancels queued completion t, still queued, and gives its
// credits back in the same transaction; a running one finishes (Conflict).
func CancelQueued(ctx context.Context, s QueuedCanceller, t *llmservice.Task) (*llmservice.Task, error) {
	if t.Kind != KindQueued || t.Group != "" {
		return nil, llmservice.Errorf(llmservice.NotFound, "no queued completion %s", t.ID)
	}
	var refund *llmservice.CreditChange
	if _, credits := QueuedInfo(t); credits > 0 {
		refund = &llmservice.CreditChange{TeamID: t.TeamID, Amount: credits, Reason: "qcompletion_cancelled", Ref: t.ID}
	}
	return s.CancelTask(ctx, t.TeamID, t.ID, "cancelled", refund)
}
