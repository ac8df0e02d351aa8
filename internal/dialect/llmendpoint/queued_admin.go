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
// was charged, read from its task. A payload that does not decode is an
// error: its charge is unknown, never zero.
func QueuedInfo(t *llmservice.Task) (model string, credits int64, err error) {
	p, err := decodePayload(t)
	if err != nil {
		return "", 0, err
	}
	if p.Request != nil && p.Request.Model != "" {
		return p.Request.Model, p.Credits, nil
	}
	return p.Model, p.Credits, nil
}

// decodePayload reads task t's payload, or says it is corrupt.
func decodePayload(t *llmservice.Task) (queuedPayload, error) {
	var p queuedPayload
	if err := json.Unmarshal(t.Payload, &p); err != nil {
		return p, llmservice.Errorf(llmservice.Internal, "queued completion %s: payload unreadable: %v", t.ID, err)
	}
	return p, nil
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
	_, credits, err := QueuedInfo(t)
	if err != nil {
		return nil, err // cancelling would refund an unknown charge as zero
	}
	var refund *llmservice.CreditChange
	if credits > 0 {
		refund = &llmservice.CreditChange{TeamID: t.TeamID, Amount: credits, Reason: "qcompletion_cancelled", Ref: t.ID}
	}
	return s.CancelTask(ctx, t.TeamID, t.ID, "cancelled", refund)
}
