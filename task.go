package llmservice

import (
	"context"
	"time"
)

// TaskState is where a task is in its life. Queued and Running are open;
// the others are final and never change again.
type TaskState string

// Task states.
const (
	TaskQueued    TaskState = "queued"
	TaskRunning   TaskState = "running"
	TaskSucceeded TaskState = "succeeded"
	TaskFailed    TaskState = "failed"
	TaskCancelled TaskState = "cancelled"
)

// Open reports whether s may still change.
func (s TaskState) Open() bool { return s == TaskQueued || s == TaskRunning }

// Task is one unit of asynchronous work in the durable queue: a batch item, a
// queued completion, a webhook delivery. Its result is written in the same
// transaction that finishes it, so a finished task is never run again and its
// result is never lost.
type Task struct {
	ID     string
	Kind   string // names the handler that runs it
	TeamID string
	KeyID  string // the key the work is billed to
	// Group ties tasks that belong together (a batch's items); "" for none.
	Group string
	// Key is unique within Group (a custom_id): enqueuing a task whose
	// (Group, Key) exists is a no-op, so a retried submission is harmless.
	Key string
	// Seq orders the tasks of a group (an input file's line number).
	Seq         int
	Payload     []byte
	State       TaskState
	Attempts    int // attempts started, the current one included
	MaxAttempts int
	// RunAfter is when a queued task becomes due; for a running task it is
	// when its lease ends and another worker may take it over.
	RunAfter time.Time
	// Lease identifies the worker holding a running task; every change a
	// worker makes is conditional on it (a fencing token).
	Lease string
	// Cancel is set when the task's group was cancelled while it ran: the
	// worker finishes its call, and the task never runs again.
	Cancel     string
	Result     []byte
	Error      string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time // zero while open
}

// CreditChange moves credits in the same transaction as a task change: the
// charge of a queued completion with its enqueue, its refund with its
// failure. Amount is negative to spend.
type CreditChange struct {
	TeamID string
	Amount int64
	Reason string
	Ref    string
}

// TaskClaim says which task a worker may take.
type TaskClaim struct {
	Kinds     []string // only these kinds; empty = any
	SkipTeams []string // teams held back (rate limited right now)
	Lease     string   // the worker's fencing token for this task
	For       time.Duration
}

// TaskCompletion is how a task ended: State is TaskSucceeded, TaskFailed or
// TaskCancelled.
type TaskCompletion struct {
	State  TaskState
	Result []byte
	Error  string
	Credit *CreditChange // applied atomically with the completion, if set
}

// TaskRetry puts a running task back in the queue.
type TaskRetry struct {
	RunAfter time.Time
	Error    string
	// Snooze gives the attempt back: the task did not really run (rate
	// limited, or the worker is shutting down), so it must not count
	// towards MaxAttempts.
	Snooze bool
}

// TaskCounts counts a group's tasks by state.
type TaskCounts struct {
	Queued, Running, Succeeded, Failed, Cancelled int
}

// Total is the number of tasks counted.
func (c TaskCounts) Total() int { return c.Queued + c.Running + c.Succeeded + c.Failed + c.Cancelled }

// Open is the number of tasks not finished yet.
func (c TaskCounts) Open() int { return c.Queued + c.Running }

// QueueDepth is how many open tasks of one kind are in one state.
type QueueDepth struct {
	Kind  string
	State TaskState
	Tasks int
}

// TaskFilter selects a group's tasks for reading results, in Seq order.
type TaskFilter struct {
	TeamID   string // required
	Group    string // required
	States   []TaskState
	AfterSeq int // only tasks with a larger Seq (paging); -1 for all
	Limit    int // 0 = all
}

// TaskStore is the durable task queue.
type TaskStore interface {
	// EnqueueTasks inserts tasks as queued, in one transaction, together with
	// charge when it is set (PaymentRequired "Insufficient credits" when the
	// balance cannot pay, and then nothing is enqueued). A task whose (Group,
	// Key) exists is skipped.
	EnqueueTasks(ctx context.Context, tasks []*Task, charge *CreditChange) error
	// ClaimTask takes the next due task (queued and due, or running with an
	// expired lease) for c.For, counts an attempt and returns it.
	// NotFound when nothing is due.
	ClaimTask(ctx context.Context, c TaskClaim) (*Task, error)
	// ExtendTaskLease keeps a running task for d more. Conflict when the
	// lease was lost (expired and taken over, or the task was cancelled).
	ExtendTaskLease(ctx context.Context, id, lease string, d time.Duration) error
	// CompleteTask finishes a running task with its result. Conflict when
	// the lease was lost; then nothing is written.
	CompleteTask(ctx context.Context, id, lease string, c TaskCompletion) error
	// RetryTask puts a running task back in the queue. Conflict when the
	// lease was lost.
	RetryTask(ctx context.Context, id, lease string, r TaskRetry) error
	// FindTaskByID returns a team's task; NotFound for another team's.
	FindTaskByID(ctx context.Context, teamID, id string) (*Task, error)
	// FindTasks lists a group's tasks in Seq order.
	FindTasks(ctx context.Context, f TaskFilter) ([]*Task, error)
	// CountTasks counts a group's tasks by state.
	CountTasks(ctx context.Context, teamID, group string) (TaskCounts, error)
	// QueueDepth counts the open tasks of every team by kind and state
	// (queued, running), for the metrics; its cost grows with the open
	// tasks only, never with the finished ones.
	QueueDepth(ctx context.Context) ([]QueueDepth, error)
	// GroupOpen reports whether any task of the group is still open; unlike
	// CountTasks its cost does not grow with the group.
	GroupOpen(ctx context.Context, teamID, group string) (bool, error)
	// CancelTasks cancels a group's queued tasks with reason as their error
	// and returns how many; running tasks finish normally.
	CancelTasks(ctx context.Context, teamID, group, reason string) (int, error)
	// PurgeTasks deletes finished tasks without a group that finished
	// before t, and returns how many.
	PurgeTasks(ctx context.Context, before time.Time) (int, error)
}
