package llmendpoint

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/llmservice/llmservice/internal/config"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
)

// SyncGateway is what synchronous completions need from the core.
type SyncGateway interface {
	Authenticator
	Chat(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.Result, error)
	ChatStream(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.StreamResult, error)
	Resolve(name string) (*gateway.Plan, error)
	Instance(name string) (*gateway.Instance, bool)
}

// Credits moves teams' credit balances (llmservice.CreditStore).
type Credits interface {
	AddCredits(ctx context.Context, teamID string, amount int64, reason, ref string) (int64, error)
}

// Handler serves the synchronous completions, POST /api/v1/completions.
// The queued ones are Queued (queued*.go).
type Handler struct {
	GW        SyncGateway
	Credits   Credits
	Log       *slog.Logger
	BodyLimit int64
}

// Register mounts the synchronous completion route.
func (h *Handler) Register(mux *http.ServeMux) {
	if h.Log == nil {
		h.Log = slog.Default()
	}
	if h.BodyLimit <= 0 {
		h.BodyLimit = config.DefaultBodyLimit
	}
	mux.Handle("POST /api/v1/completions", httpx.Handle(h.Log, WriteError, h.complete))
}
