package llmservice

import "context"

// StandaloneTaskFilter selects tasks without a group (queued completions),
// newest first.
type StandaloneTaskFilter struct {
	TeamID string // "" lists every team's
	Kind   string // required
	Before string // cursor: the ID of the last task of the previous page
	Limit  int    // default 20, at most 100
}

// TaskBrowser lists and cancels standalone tasks for the dashboard.
type TaskBrowser interface {
	// FindStandaloneTasks lists tasks without a group, newest first; more
	// reports a next page. Invalid (param kind) without a kind, (param
	// cursor) for a cursor that names no such task.
	FindStandaloneTasks(ctx context.Context, f StandaloneTaskFilter) (ts []*Task, more bool, err error)
	// CancelTask cancels a queued task that has no group, with reason as
	// its error, and applies refund (when set) in the same transaction.
	// NotFound when absent or another team's (teamID "": any team's);
	// Conflict when it is no longer queued (running or finished).
	CancelTask(ctx context.Context, teamID, id, reason string, refund *CreditChange) (*Task, error)
}
