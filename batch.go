package llmservice

import (
	"context"
	"time"
)

// BatchStatus is OpenAI's batch lifecycle; StackForDevs' statuses are a view
// of it (see the batches dialect).
type BatchStatus string

// Batch statuses. Validating, InProgress, Finalizing and Cancelling are
// open; the others are final.
const (
	BatchValidating BatchStatus = "validating"
	BatchFailed     BatchStatus = "failed"
	BatchInProgress BatchStatus = "in_progress"
	BatchFinalizing BatchStatus = "finalizing"
	BatchCompleted  BatchStatus = "completed"
	BatchExpired    BatchStatus = "expired"
	BatchCancelling BatchStatus = "cancelling"
	BatchCancelled  BatchStatus = "cancelled"
)

// Open reports whether a batch in status s may still change.
func (s BatchStatus) Open() bool {
	return s == BatchValidating || s == BatchInProgress || s == BatchFinalizing || s == BatchCancelling
}

// Batch is a set of requests run asynchronously, one queue task per request
// (the tasks' Group is the batch ID). It serves both OpenAI's /v1/batches and
// StackForDevs' /v1/batch.
type Batch struct {
	ID     string
	TeamID string
	KeyID  string
	// API is the dialect that created it ("openai", "stackfordevs"); each
	// lists only its own.
	API              string
	Project          string
	Endpoint         string // "/v1/chat/completions", "/v1/embeddings"
	InputFileID      string
	CompletionWindow string
	Metadata         map[string]string
	// WebhookURL is called when the batch ends, signed with
	// WebhookSecret (Standard Webhooks "whsec_..." secret).
	WebhookURL    string
	WebhookSecret string
	Status        BatchStatus
	Total         int
	OutputFileID  string
	ErrorFileID   string
	// Errors are the input file's validation errors of a failed batch.
	Errors       []BatchError
	InputTokens  int64
	OutputTokens int64
	CreatedAt    time.Time
	ExpiresAt    time.Time
	// The times of each transition; zero until it happens.
	InProgressAt time.Time
	FinalizingAt time.Time
	CompletedAt  time.Time
	FailedAt     time.Time
	ExpiredAt    time.Time
	CancellingAt time.Time
	CancelledAt  time.Time
}

// BatchError is one problem of a batch's input.
type BatchError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
	Line    int    `json:"line,omitempty"`
}

// BatchFilter selects a team's batches, newest first.
type BatchFilter struct {
	TeamID string // required, unless AllTeams
	// AllTeams lists every team's batches when TeamID is empty (the
	// operator's dashboard). It must be said: a forgotten TeamID is an
	// error, never every team's batches.
	AllTeams bool
	API      string
	Statuses []BatchStatus
	After    string // cursor: the ID of the last batch of the previous page
	Limit    int
}

// BatchFinish is how an open batch ends once none of its tasks is open.
type BatchFinish struct {
	Status       BatchStatus // completed, cancelled, expired or failed
	Files        []*File     // output and error files to create
	OutputFileID string
	ErrorFileID  string
	InputTokens  int64
	OutputTokens int64
	// Webhook, when set, is the delivery task enqueued with the change.
	Webhook *Task
}

// BatchStore persists batches.
type BatchStore interface {
	// CreateBatch inserts b with its tasks in one transaction. Conflict if
	// the ID exists.
	CreateBatch(ctx context.Context, b *Batch, tasks []*Task) error
	// FindBatchByID returns NotFound for another team's batch.
	FindBatchByID(ctx context.Context, teamID, id string) (*Batch, error)
	// FindBatches lists batches newest first; more reports a next page.
	FindBatches(ctx context.Context, f BatchFilter) (bs []*Batch, more bool, err error)
	// CancelBatch moves an open batch to cancelling and cancels its queued
	// tasks. Conflict when the batch has ended; NotFound when absent.
	CancelBatch(ctx context.Context, teamID, id string) (*Batch, error)
	// ExpireBatch marks an open batch expired (ExpiredAt) and cancels its
	// queued tasks with the error "batch_expired"; it finishes as expired.
	ExpireBatch(ctx context.Context, id string) error
	// FinishBatch ends an open batch whose tasks are all finished, creating
	// its files and its webhook task in the same transaction. Conflict when
	// the batch has ended already or still has open tasks.
	FinishBatch(ctx context.Context, id string, f BatchFinish) (*Batch, error)
	// FindBatchesToFinish lists open batches of every team that have no
	// open task left or whose completion window ended before now.
	FindBatchesToFinish(ctx context.Context, now time.Time) ([]*Batch, error)
}

// File is an uploaded or generated file (OpenAI /v1/files).
type File struct {
	ID        string
	TeamID    string
	Purpose   string // "batch", "batch_output"
	Filename  string
	Bytes     int64
	Content   []byte // set on create; read with FindFileContent
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
}

// FileFilter selects a team's files.
type FileFilter struct {
	TeamID  string // required
	Purpose string
	After   string // cursor: the ID of the last file of the previous page
	Limit   int
	Asc     bool // oldest first; newest first otherwise
}

// FileStore persists files.
type FileStore interface {
	// CreateFile inserts f with its content. Conflict if the ID exists.
	CreateFile(ctx context.Context, f *File) error
	// FindFileByID returns the file without its content; NotFound for
	// another team's.
	FindFileByID(ctx context.Context, teamID, id string) (*File, error)
	// FindFileContent returns a file's bytes; NotFound for another team's.
	FindFileContent(ctx context.Context, teamID, id string) ([]byte, error)
	// FindFiles lists files without their content; more reports a next page.
	FindFiles(ctx context.Context, f FileFilter) (fs []*File, more bool, err error)
	// DeleteFile returns NotFound when absent or another team's.
	DeleteFile(ctx context.Context, teamID, id string) error
}

// WebhookDelivery is one attempt to deliver a webhook.
type WebhookDelivery struct {
	ID         int64     `json:"-"`
	TeamID     string    `json:"-"`
	BatchID    string    `json:"batch_id"`
	MessageID  string    `json:"webhook_id"`
	Attempt    int       `json:"attempt"`
	URL        string    `json:"url"`
	StatusCode int       `json:"status_code"` // 0 when no answer came
	Error      string    `json:"error,omitempty"`
	DurationMS int       `json:"duration_ms"`
	Time       time.Time `json:"-"`
}

// WebhookStore records webhook deliveries.
type WebhookStore interface {
	InsertWebhookDelivery(ctx context.Context, d *WebhookDelivery) error
	// FindWebhookDeliveries lists a batch's attempts, oldest first.
	FindWebhookDeliveries(ctx context.Context, teamID, batchID string) ([]*WebhookDelivery, error)
}
