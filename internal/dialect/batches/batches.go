// Package batches serves asynchronous batches on the durable queue: OpenAI's
// files and batches API (/v1/files, /v1/batches), so that the official
// clients run batches against llmservice, and StackForDevs' /v1/batch with
// its signed completion webhook. Both kinds of batch are one row in the
// batches table and one queue task per request; the item handler calls the
// gateway (limits, budgets, routing, the ledger) like any request.
package batches

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/openaihttp"
	"github.com/llmservice/llmservice/internal/outage"
	"github.com/llmservice/llmservice/internal/queue"
	"github.com/llmservice/llmservice/internal/sfdhttp"
)

// Task kinds this package runs.
const (
	KindItem    = "batch.item"
	KindWebhook = "batch.webhook"
)

// APIs a batch can belong to (llmservice.Batch.API).
const (
	APIOpenAI       = "openai"
	APIStackForDevs = "stackfordevs"
)

// Gateway is what this package needs from the core.
type Gateway interface {
	Authenticate(ctx context.Context, key string) (*gateway.Principal, error)
	AuthenticateSecret(ctx context.Context, key, secret string) (*gateway.Principal, error)
	Chat(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.Result, error)
	Embed(ctx context.Context, c *gateway.Call, req *llm.EmbedRequest) (*gateway.EmbedResult, error)
}

// Store is the database: batches, files, webhook deliveries, the queue, and
// the keys and teams that batch items are billed to.
type Store interface {
	llmservice.BatchStore
	llmservice.FileStore
	llmservice.WebhookStore
	FindTasks(ctx context.Context, f llmservice.TaskFilter) ([]*llmservice.Task, error)
	CountTasks(ctx context.Context, teamID, group string) (llmservice.TaskCounts, error)
	GroupOpen(ctx context.Context, teamID, group string) (bool, error)
	FindKeyByID(ctx context.Context, id string) (*llmservice.Key, error)
	FindTeamByID(ctx context.Context, id string) (*llmservice.Team, error)
}

// Notifier wakes the queue's workers after new tasks were stored.
type Notifier interface{ Notify() }

// Handler serves both batch APIs and runs their tasks.
type Handler struct {
	GW    Gateway
	Store Store
	Queue Notifier
	// Flush writes the usage records the meter still buffers. An item's
	// record is flushed before its result is stored, so that a finished
	// item is never missing from the ledger (see item.go).
	Flush     func(ctx context.Context) error
	Log       *slog.Logger
	BodyLimit int64 // JSON request bodies
	FileLimit int64 // uploaded files (default 200 MB, OpenAI's limit)
	// MaxAttempts bounds the tries of one request that keeps failing
	// transiently (default 5).
	MaxAttempts int
	// Webhooks configures StackForDevs' completion webhooks.
	Webhooks WebhookConfig
	Now      func() time.Time
	// Outages, when set, receives the metrics of the sweep's view of the
	// store (internal/outage).
	Outages *outage.Metrics

	principals sync.Map // key ID -> *cachedPrincipal
}

// Register mounts both APIs.
func (h *Handler) Register(mux *http.ServeMux) {
	oa := func(fn httpx.HandlerFunc) http.Handler { return httpx.Handle(h.Log, openaihttp.WriteError, fn) }
	mux.Handle("POST /v1/files", oa(h.createFile))
	mux.Handle("GET /v1/files", oa(h.listFiles))
	mux.Handle("GET /v1/files/{id}", oa(h.getFile))
	mux.Handle("GET /v1/files/{id}/content", oa(h.fileContent))
	mux.Handle("DELETE /v1/files/{id}", oa(h.deleteFile))
	mux.Handle("POST /v1/batches", oa(h.createBatch))
	mux.Handle("GET /v1/batches", oa(h.listBatches))
	mux.Handle("GET /v1/batches/{id}", oa(h.getBatch))
	mux.Handle("POST /v1/batches/{id}/cancel", oa(h.cancelBatch))

	sfd := func(fn httpx.HandlerFunc) http.Handler { return httpx.Handle(h.Log, sfdhttp.WriteError, fn) }
	mux.Handle("POST /v1/batch", sfd(h.sfdCreate))
	mux.Handle("GET /v1/batch", sfd(h.sfdList))
	mux.Handle("GET /v1/batch/{id}", sfd(h.sfdGet))
	mux.Handle("GET /v1/batch/{id}/results", sfd(h.sfdResults))
	mux.Handle("POST /v1/batch/{id}/cancel", sfd(h.sfdCancel))
	mux.Handle("GET /v1/batch/{id}/webhooks", sfd(h.sfdWebhooks))
}

// Tasks registers the item and webhook handlers on the queue.
func (h *Handler) Tasks(r *queue.Runner) {
	r.Handle(KindItem, queue.Handler{Run: h.runItem, GiveUp: h.giveUpItem, Finished: h.itemFinished})
	r.Handle(KindWebhook, queue.Handler{Run: h.runWebhook, GiveUp: h.giveUpWebhook})
}

// now is the time at the millisecond precision the store keeps, so that
// a create answer shows the times a later read does.
func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now().Truncate(time.Millisecond)
	}
	return time.Now().Truncate(time.Millisecond)
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

func (h *Handler) notify() {
	if h.Queue != nil {
		h.Queue.Notify()
	}
}

func (h *Handler) maxAttempts() int {
	if h.MaxAttempts > 0 {
		return h.MaxAttempts
	}
	return 5
}

// principalTTL bounds how long a revoked key or a changed team policy
// goes unnoticed by a running batch.
const principalTTL = 30 * time.Second

type cachedPrincipal struct {
	p   *gateway.Principal
	err error
	at  time.Time
}

// principal rebuilds the caller of a batch item from its key: a batch runs
// long after the request that created it. The key's IP allowlist was
// checked when the batch was created; the worker has no client address,
// so the principal carries none (gateway.Principal's zero allowlist).
func (h *Handler) principal(ctx context.Context, keyID string) (*gateway.Principal, error) {
	now := h.now()
	if v, ok := h.principals.Load(keyID); ok {
		c := v.(*cachedPrincipal)
		if now.Sub(c.at) < principalTTL {
			return c.p, c.err
		}
	}
	p, err := h.loadPrincipal(ctx, keyID, now)
	if err == nil || llmservice.ErrorKind(err) == llmservice.Unauthenticated {
		h.principals.Store(keyID, &cachedPrincipal{p: p, err: err, at: now})
	}
	return p, err
}

func (h *Handler) loadPrincipal(ctx context.Context, keyID string, now time.Time) (*gateway.Principal, error) {
	k, err := h.Store.FindKeyByID(ctx, keyID)
	if llmservice.ErrorKind(err) == llmservice.NotFound {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key", Message: "the batch's API key no longer exists"}
	}
	if err != nil {
		return nil, err
	}
	if !k.Active(now) {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key", Message: "the batch's API key has been revoked or has expired"}
	}
	t, err := h.Store.FindTeamByID(ctx, k.TeamID)
	if llmservice.ErrorKind(err) == llmservice.NotFound {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key", Message: "the batch's team no longer exists"}
	}
	if err != nil {
		return nil, err
	}
	return &gateway.Principal{Key: k, Team: t}, nil
}
