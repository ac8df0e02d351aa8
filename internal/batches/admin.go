package batches

import (
	"context"

	"github.com/llmservice/llmservice"
)

// CancelBatch cancels a team's batch of either API for the dashboard, as
// each API's own cancel does: queued requests at once, running ones
// finish, and a batch with nothing left running is finished at once.
func (h *Handler) CancelBatch(ctx context.Context, teamID, id string) (*llmservice.Batch, error) {
	b, err := h.Store.FindBatchByID(ctx, teamID, id)
	if err != nil {
		return nil, err
	}
	return h.cancel(ctx, teamID, id, b.API)
}
