package llmservice

import (
	"context"
	"encoding/json"
	"time"
)

// Statuses of a CreditJob. A job is pending until its first call, in
// progress until the client completes it, and then completed or failed for
// good.
const (
	CreditJobPending    = "pending"
	CreditJobInProgress = "in_progress"
	CreditJobCompleted  = "completed"
	CreditJobFailed     = "failed"
)

// CreditJob is a job of the jobs API: it groups the LLM calls of one
// business operation, and its team pays one credit when it completes,
// however many calls it made. Its token and dollar totals are the sums of
// its calls. (Job, without the prefix, is the durable work queue's.)
type CreditJob struct {
	ID      string
	TeamID  string
	UserID  string // optional, the client's own label
	JobType string
	Status  string
	// Metadata is a JSON object chosen by the client; nil means {}.
	Metadata      json.RawMessage
	ErrorMessage  string // why a failed job failed, as the client said
	CreditApplied bool
	CreatedAt     time.Time
	StartedAt     *time.Time // first call
	CompletedAt   *time.Time
}

// Closed reports whether the job is completed or failed: it takes no more
// calls and cannot be completed again.
func (j *CreditJob) Closed() bool {
	return j.Status == CreditJobCompleted || j.Status == CreditJobFailed
}

// CreditJobCall is one LLM call made within a job. Calls the gateway refused
// before any model ran (limits, permissions) are not job calls.
type CreditJobCall struct {
	ID               string
	JobID            string
	TeamID           string
	ModelGroup       string
	Model            string // the model that answered, "" when none did
	Purpose          string
	Stream           bool
	PromptTokens     int
	CompletionTokens int
	Cost             Nanos
	LatencyMS        int
	Error            string // empty when the call succeeded
	CreatedAt        time.Time
}

// CreditJobCompletion closes a job.
type CreditJobCompletion struct {
	Status       string // CreditJobCompleted or CreditJobFailed
	ErrorMessage string
	// Metadata, a JSON object, is merged key by key into the job's.
	Metadata json.RawMessage
	// Now stamps CompletedAt; zero means the store's clock.
	Now time.Time
}

// CreditJobStore persists the jobs API's jobs and their calls. Every method
// takes the caller's team, and no method returns anything of another team's
// job.
type CreditJobStore interface {
	// CreateCreditJob inserts j. Conflict if the ID is taken.
	CreateCreditJob(ctx context.Context, j *CreditJob) error
	// FindCreditJob returns job id of team teamID. NotFound when there is no
	// such job; Forbidden when it belongs to another team.
	FindCreditJob(ctx context.Context, teamID, id string) (*CreditJob, error)
	// AddCreditJobCall records c and moves a pending job to in progress, in one
	// transaction. NotFound and Forbidden as FindCreditJob. A call that
	// finishes after its job was closed is still recorded: its tokens were
	// spent.
	AddCreditJobCall(ctx context.Context, c *CreditJobCall) error
	// FindCreditJobCalls lists the calls of a job of teamID, oldest first.
	FindCreditJobCalls(ctx context.Context, teamID, jobID string) ([]*CreditJobCall, error)
	// CompleteCreditJob closes an open job. Completing it charges the team one
	// credit in the same transaction: PaymentRequired ("Insufficient
	// credits") when the balance is zero, and the job then stays open.
	// Conflict when the job is already closed; NotFound and Forbidden as
	// FindCreditJob. It returns the closed job and the team's balance.
	CompleteCreditJob(ctx context.Context, teamID, id string, c CreditJobCompletion) (*CreditJob, int64, error)
}
