package storesql

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/llmservice/llmservice"
)

// The columns of jobs_queue, batches and batch_files in the order both
// stores scan them.
const (
	TaskColumns = `id, kind, team_id, key_id, grp, item_key, seq, payload, state, attempts, max_attempts,
	run_after, lease, cancel, result, error, created_at, updated_at, finished_at`
	BatchColumns = `id, team_id, key_id, api, project, endpoint, input_file_id, completion_window, metadata,
	webhook_url, webhook_secret, status, total, output_file_id, error_file_id, errors, input_tokens, output_tokens,
	created_at, expires_at, in_progress_at, finalizing_at, completed_at, failed_at, expired_at, cancelling_at, cancelled_at`
	// FileColumns leaves out content, read only by FindFileContent.
	FileColumns = `id, team_id, purpose, filename, bytes, created_at, expires_at`
)

// OpenBatchSQL is the SQL condition of a batch that may still change; both
// dialects read it alike, and the stores' batches_open indexes repeat it.
const OpenBatchSQL = `status IN ('validating', 'in_progress', 'finalizing', 'cancelling')`

// PrepareTask checks a task about to be enqueued and sets what enqueuing
// sets: queued, no attempt yet, stamped now, due now unless RunAfter says
// later, and at least one attempt allowed.
func PrepareTask(t *llmservice.Task, now time.Time) error {
	if t.ID == "" || t.Kind == "" || t.TeamID == "" {
		return llmservice.Errorf(llmservice.Invalid, "task needs an id, a kind and a team")
	}
	if t.MaxAttempts <= 0 {
		t.MaxAttempts = 1
	}
	if t.RunAfter.IsZero() {
		t.RunAfter = now
	}
	t.State, t.Attempts, t.CreatedAt, t.UpdatedAt = llmservice.TaskQueued, 0, now, now
	return nil
}

// CheckCompletion refuses a completion whose state is not final.
func CheckCompletion(s llmservice.TaskState) error {
	switch s {
	case llmservice.TaskSucceeded, llmservice.TaskFailed, llmservice.TaskCancelled:
		return nil
	}
	return llmservice.Errorf(llmservice.Invalid, "a task cannot complete as %q", s)
}

// LeaseLost is the Conflict of a worker whose change found its task no
// longer running under its lease.
func LeaseLost(id string) error {
	return &llmservice.Error{Kind: llmservice.Conflict, Message: "task " + id + " is no longer held by this worker"}
}

// AddTaskCount adds n tasks in state to c; an unknown state is not counted.
func AddTaskCount(c *llmservice.TaskCounts, state string, n int) {
	switch llmservice.TaskState(state) {
	case llmservice.TaskQueued:
		c.Queued += n
	case llmservice.TaskRunning:
		c.Running += n
	case llmservice.TaskSucceeded:
		c.Succeeded += n
	case llmservice.TaskFailed:
		c.Failed += n
	case llmservice.TaskCancelled:
		c.Cancelled += n
	}
}

// EncodeBatch returns the JSON text stored in batches.metadata and
// batches.errors.
func EncodeBatch(b *llmservice.Batch) (meta, errs string, err error) {
	m, err := json.Marshal(b.Metadata)
	if err != nil {
		return "", "", fmt.Errorf("batch %s metadata: %w", b.ID, err)
	}
	e, err := json.Marshal(b.Errors)
	if err != nil {
		return "", "", fmt.Errorf("batch %s errors: %w", b.ID, err)
	}
	return string(m), string(e), nil
}

// DecodeBatch sets b's metadata and errors from their JSON text.
func DecodeBatch(b *llmservice.Batch, meta, errs string) error {
	if err := json.Unmarshal([]byte(meta), &b.Metadata); err != nil {
		return fmt.Errorf("batch %s metadata: %w", b.ID, err)
	}
	if err := json.Unmarshal([]byte(errs), &b.Errors); err != nil {
		return fmt.Errorf("batch %s errors: %w", b.ID, err)
	}
	return nil
}

// FinishColumn returns the column that records when a batch ended as s;
// Invalid when s is not a final status.
func FinishColumn(s llmservice.BatchStatus) (string, error) {
	col := map[llmservice.BatchStatus]string{
		llmservice.BatchCompleted: "completed_at", llmservice.BatchCancelled: "cancelled_at",
		llmservice.BatchExpired: "expired_at", llmservice.BatchFailed: "failed_at",
	}[s]
	if col == "" {
		return "", llmservice.Errorf(llmservice.Invalid, "a batch cannot finish as %q", s)
	}
	return col, nil
}

// NotCancellable is the Conflict of cancelling a batch that has ended.
func NotCancellable(id, status string) error {
	return &llmservice.Error{Kind: llmservice.Conflict, Code: "batch_not_cancellable",
		Message: fmt.Sprintf("batch %s is %s and cannot be cancelled", id, status)}
}

// NotFinishable is the Conflict of finishing a batch that has ended or
// still has open tasks.
func NotFinishable(id string) error {
	return &llmservice.Error{Kind: llmservice.Conflict, Message: "batch " + id + " has ended or still has open requests"}
}

// Page cuts a list read with limit+1 rows to limit, and reports whether a
// next page exists.
func Page[T any](rows []T, limit int) ([]T, bool) {
	if len(rows) > limit {
		return rows[:limit], true
	}
	return rows, false
}

// PageLimit is limit, or def when the caller set none.
func PageLimit(limit, def int) int {
	if limit <= 0 {
		return def
	}
	return limit
}

// Batch and file listings default to OpenAI's page sizes: 20 batches, and
// files without a limit all at once.
const (
	BatchPageSize = 20
	FilePageSize  = 10000
)

// NoCursor is the InvalidParam of an "after" cursor naming no row of the
// team; what is "batch" or "file".
func NoCursor(what, after string) error {
	return llmservice.InvalidParam("after", "no %s '%s' to list after", what, after)
}

// MaxStandalonePage is the largest page of FindStandaloneTasks.
const MaxStandalonePage = 100

// StandaloneLimit checks a StandaloneTaskFilter and returns its page size.
func StandaloneLimit(f llmservice.StandaloneTaskFilter) (int, error) {
	if f.Kind == "" {
		return 0, llmservice.InvalidParam("kind", "kind is required")
	}
	if f.Limit < 0 || f.Limit > MaxStandalonePage {
		return 0, llmservice.InvalidParam("limit", "limit must be from 1 to %d", MaxStandalonePage)
	}
	return PageLimit(f.Limit, BatchPageSize), nil
}

// TaskNotCancellable is CancelTask's error for a task found but not queued.
func TaskNotCancellable(t *llmservice.Task) error {
	return &llmservice.Error{Kind: llmservice.Conflict, Code: "not_cancellable",
		Message: "task " + t.ID + " is " + string(t.State) + "; only a queued task can be cancelled"}
}
