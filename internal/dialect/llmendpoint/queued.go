// Package llmendpoint serves the LlmEndpoint API: text completions on
// in-house models (/api/v1/completions) and their queued form
// (/api/v1/qcompletions), priced in credits by the seed's cost rule.
//
// The queued half lives in the queued*.go files: a completion is charged
// and enqueued on the durable queue in one transaction, run by a queue
// worker through the gateway, and refunded if it fails.
package llmendpoint

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/config"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/queue"
)

// KindQueued is the queue task kind of a queued completion.
const KindQueued = "llmendpoint.qcompletion"

// QueuedGateway is what queued completions need from the core.
type QueuedGateway interface {
	Authenticator
	Chat(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.Result, error)
	Resolve(name string) (*gateway.Plan, error)
	Instance(name string) (*gateway.Instance, bool)
}

// QueuedStore is the queue and the keys and teams tasks are billed to.
type QueuedStore interface {
	EnqueueTasks(ctx context.Context, tasks []*llmservice.Task, charge *llmservice.CreditChange) error
	FindTaskByID(ctx context.Context, teamID, id string) (*llmservice.Task, error)
	FindKeyByID(ctx context.Context, id string) (*llmservice.Key, error)
	FindTeamByID(ctx context.Context, id string) (*llmservice.Team, error)
}

// QueuedConfig wires the queued completions.
type QueuedConfig struct {
	GW    QueuedGateway
	Store QueuedStore
	// Notify wakes the queue's workers after an enqueue (optional).
	Notify func()
	// Flush writes the meter's buffered usage before a result is stored,
	// so that a completed task is never missing from the ledger.
	Flush       func(ctx context.Context) error
	Log         *slog.Logger
	BodyLimit   int64
	MaxAttempts int // tries of a task that keeps failing transiently (default 3)
}

// Queued serves POST /api/v1/qcompletions and GET /api/v1/qcompletions/{id}
// and runs the tasks they create.
type Queued struct {
	cfg QueuedConfig
}

// NewQueued returns the queued completions; mount them with Register and
// give their tasks to the queue with Tasks. The synchronous completions of
// this package share DecodeCompletion, Authenticate, WriteError and
// CreditsNeeded with them.
func NewQueued(cfg QueuedConfig) *Queued {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = config.DefaultBodyLimit
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	return &Queued{cfg: cfg}
}

// Register mounts the queued completion routes.
func (q *Queued) Register(mux *http.ServeMux) {
	mux.Handle("POST /api/v1/qcompletions", httpx.Handle(q.cfg.Log, WriteError, q.enqueue))
	mux.Handle("GET /api/v1/qcompletions/{task_id}", httpx.Handle(q.cfg.Log, WriteError, q.status))
}

// Tasks registers the task handler on the queue.
func (q *Queued) Tasks(r *queue.Runner) {
	r.Handle(KindQueued, queue.Handler{Run: q.run, GiveUp: q.giveUp})
}

// queuedPayload is what a task carries: the validated request, the model
// the gateway is asked for, what was charged (refunded on failure or a
// cache hit) and the client's response cache directives.
type queuedPayload struct {
	Request *CompletionRequest `json:"request"`
	Model   string             `json:"model"`
	Credits int64              `json:"credits"`
	// Cache is nil in tasks queued before the response cache applied to
	// queued completions: they run without it.
	Cache *queuedCache `json:"cache,omitempty"`
}

// queuedCache is a gateway.CacheAsk as a task keeps it, with names of its
// own so that a stored payload does not depend on the gateway's fields.
type queuedCache struct {
	NoCache bool          `json:"no_cache,omitempty"`
	NoStore bool          `json:"no_store,omitempty"`
	TTL     time.Duration `json:"ttl,omitempty"`
}

func newQueuedCache(a *gateway.CacheAsk) *queuedCache {
	return &queuedCache{NoCache: a.NoCache, NoStore: a.NoStore, TTL: a.TTL}
}

func (c *queuedCache) ask() *gateway.CacheAsk {
	if c == nil {
		return nil
	}
	return &gateway.CacheAsk{NoCache: c.NoCache, NoStore: c.NoStore, TTL: c.TTL}
}

// queuedResult is what a finished task stores; Cache is the response
// cache's state when it applied (x-llmservice-cache on the task's status).
type queuedResult struct {
	Result  string `json:"result,omitempty"`
	Message string `json:"message,omitempty"`
	Cache   string `json:"cache,omitempty"`
}

func (q *Queued) enqueue(w http.ResponseWriter, r *http.Request) error {
	p, err := Authenticate(r.Context(), q.cfg.GW, r)
	if err != nil {
		return err
	}
	req, err := DecodeCompletion(w, r, q.cfg.BodyLimit)
	if err != nil {
		return err
	}
	ask, err := cacheAsk(r)
	if err != nil {
		return err
	}
	credits, err := req.Credits()
	if err != nil {
		return err
	}
	req.Stream = false
	id := newTaskID()
	payload, err := json.Marshal(queuedPayload{Request: req, Model: ModelFor(q.cfg.GW, req.Model), Credits: credits,
		Cache: newQueuedCache(ask)})
	if err != nil {
		return err
	}
	t := &llmservice.Task{ID: id, Kind: KindQueued, TeamID: p.Team.ID, KeyID: p.Key.ID, Payload: payload, MaxAttempts: q.cfg.MaxAttempts}
	var charge *llmservice.CreditChange
	if credits > 0 {
		charge = &llmservice.CreditChange{TeamID: p.Team.ID, Amount: -credits, Reason: "qcompletion", Ref: id}
	}
	if err := q.cfg.Store.EnqueueTasks(r.Context(), []*llmservice.Task{t}, charge); err != nil {
		if llmservice.ErrorKind(err) == llmservice.PaymentRequired {
			return Error(llmservice.PaymentRequired, MsgNoCredits, "", fmt.Sprintf("this request needs %d credits", credits))
		}
		return err
	}
	if q.cfg.Notify != nil {
		q.cfg.Notify()
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "task_id": id, "message": "Request queued successfully"})
}

// statuses are the seed's names of a task's states.
var statuses = map[llmservice.TaskState]string{
	llmservice.TaskQueued:    "queued",
	llmservice.TaskRunning:   "processing",
	llmservice.TaskSucceeded: "completed",
	llmservice.TaskFailed:    "failed",
	llmservice.TaskCancelled: "failed",
}

type statusBody struct {
	Success bool    `json:"success"`
	Status  string  `json:"status"`
	Result  *string `json:"result,omitempty"`
	Message string  `json:"message,omitempty"`
}

func (q *Queued) status(w http.ResponseWriter, r *http.Request) error {
	p, err := Authenticate(r.Context(), q.cfg.GW, r)
	if err != nil {
		return err
	}
	t, err := q.cfg.Store.FindTaskByID(r.Context(), p.Team.ID, r.PathValue("task_id"))
	if err == nil && t.Kind != KindQueued {
		err = llmservice.Errorf(llmservice.NotFound, "not a queued completion")
	}
	if llmservice.ErrorKind(err) == llmservice.NotFound {
		return Error(llmservice.NotFound, MsgTaskNotFound, "task_id", "no task with this id for this API key's team")
	}
	if err != nil {
		return err
	}
	out := statusBody{Success: true, Status: statuses[t.State]}
	var res queuedResult
	if len(t.Result) > 0 {
		if err := json.Unmarshal(t.Result, &res); err != nil {
			return llmservice.Errorf(llmservice.Internal, "queued completion %s: stored result unreadable: %v", t.ID, err)
		}
	}
	switch t.State {
	case llmservice.TaskSucceeded:
		out.Result = &res.Result
		setCacheHeader(w, gateway.Served{Cache: res.Cache})
	case llmservice.TaskFailed, llmservice.TaskCancelled:
		out.Message = res.Message
		if out.Message == "" {
			out.Message = t.Error
		}
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}

// ModelFor is the name the gateway is asked for a LlmEndpoint model: the
// name itself when the catalog or a model group knows it, else the model on
// the "ollama" provider, which is where LlmEndpoint's models live.
func ModelFor(gw interface {
	Resolve(name string) (*gateway.Plan, error)
	Instance(name string) (*gateway.Instance, bool)
}, model string) string {
	if _, err := gw.Resolve(model); err == nil {
		return model
	}
	if _, ok := gw.Instance("ollama"); ok {
		return "ollama/" + model
	}
	return model
}

// newTaskID returns a random UUID (version 4), the form of task IDs the
// seed's clients have seen.
func newTaskID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
