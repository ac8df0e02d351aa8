package server

import (
	"context"
	"net/http"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/dialect/llmendpoint"
	"github.com/llmservice/llmservice/internal/httpx"
)

// JobStore is what the dashboard reads and changes of asynchronous work:
// batches of both APIs with their request counts, and queued completions.
type JobStore interface {
	FindBatches(ctx context.Context, f llmservice.BatchFilter) ([]*llmservice.Batch, bool, error)
	FindBatchByID(ctx context.Context, teamID, id string) (*llmservice.Batch, error)
	CancelBatch(ctx context.Context, teamID, id string) (*llmservice.Batch, error)
	CountTasks(ctx context.Context, teamID, group string) (llmservice.TaskCounts, error)
	FindTaskByID(ctx context.Context, teamID, id string) (*llmservice.Task, error)
	llmservice.TaskBrowser
}

// BatchCanceller cancels a batch as its API does (the batches dialect):
// finished at once when nothing of it is running.
type BatchCanceller interface {
	CancelBatch(ctx context.Context, teamID, id string) (*llmservice.Batch, error)
}

// batchView is one batch in the dashboard, either API's.
type batchView struct {
	ID           string                 `json:"id"`
	TeamID       string                 `json:"team_id"`
	KeyID        string                 `json:"key_id,omitempty"`
	API          string                 `json:"api"`
	Status       llmservice.BatchStatus `json:"status"`
	Endpoint     string                 `json:"endpoint,omitempty"`
	Project      string                 `json:"project,omitempty"`
	Total        int                    `json:"total"`
	Counts       taskCounts             `json:"counts"`
	CreatedAt    time.Time              `json:"created_at"`
	ExpiresAt    time.Time              `json:"expires_at,omitzero"`
	EndedAt      time.Time              `json:"ended_at,omitzero"`
	InputTokens  int64                  `json:"input_tokens"`
	OutputTokens int64                  `json:"output_tokens"`
}

type taskCounts struct {
	Queued    int `json:"queued"`
	Running   int `json:"running"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Cancelled int `json:"cancelled"`
}

func newBatchView(b *llmservice.Batch, c llmservice.TaskCounts) batchView {
	v := batchView{ID: b.ID, TeamID: b.TeamID, KeyID: b.KeyID, API: b.API, Status: b.Status, Endpoint: b.Endpoint,
		Project: b.Project, Total: b.Total, CreatedAt: b.CreatedAt.UTC(), ExpiresAt: b.ExpiresAt.UTC(),
		InputTokens: b.InputTokens, OutputTokens: b.OutputTokens,
		Counts: taskCounts{c.Queued, c.Running, c.Succeeded, c.Failed, c.Cancelled}}
	if !b.Status.Open() {
		for _, t := range []time.Time{b.CompletedAt, b.CancelledAt, b.ExpiredAt, b.FailedAt} {
			if !t.IsZero() {
				v.EndedAt = t.UTC()
				break
			}
		}
	}
	return v
}

// batches is GET /admin/batches and GET /v1/team/batches: the newest
// batches of both APIs with their request counts, a page at a time
// (limit, after).
func (s *Server) batches(w http.ResponseWriter, r *http.Request, sc scope) error {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), "limit", 20, 1, 100)
	if err != nil {
		return err
	}
	bs, more, err := s.cfg.Stores.Jobs.FindBatches(r.Context(), llmservice.BatchFilter{TeamID: sc.team, AllTeams: sc.admin,
		After: q.Get("after"), Limit: limit})
	if err != nil {
		return err
	}
	data := make([]batchView, len(bs))
	for i, b := range bs {
		c, err := s.cfg.Stores.Jobs.CountTasks(r.Context(), b.TeamID, b.ID)
		if err != nil {
			return err
		}
		data[i] = newBatchView(b, c)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": more})
}

// teamParam is the team of an admin's change to one team's object: the
// team_id parameter, required, since the object's ID alone does not say.
func teamParam(r *http.Request, sc scope) (string, error) {
	if sc.team == "" {
		return "", llmservice.InvalidParam("team_id", "team_id is required")
	}
	return sc.team, nil
}

// cancelBatch is POST /admin/batches/{id}/cancel?team_id= and POST
// /v1/team/batches/{id}/cancel.
func (s *Server) cancelBatch(w http.ResponseWriter, r *http.Request, sc scope) error {
	team, err := teamParam(r, sc)
	if err != nil {
		return err
	}
	var c BatchCanceller = s.cfg.Stores.Jobs
	if s.cfg.Batches != nil {
		c = s.cfg.Batches
	}
	b, err := c.CancelBatch(r.Context(), team, r.PathValue("id"))
	if err != nil {
		return err
	}
	counts, err := s.cfg.Stores.Jobs.CountTasks(r.Context(), b.TeamID, b.ID)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, newBatchView(b, counts))
}

// queuedView is one queued completion (LlmEndpoint's qcompletions).
type queuedView struct {
	ID         string               `json:"id"`
	TeamID     string               `json:"team_id"`
	KeyID      string               `json:"key_id,omitempty"`
	State      llmservice.TaskState `json:"state"`
	Model      string               `json:"model,omitempty"`
	Credits    int64                `json:"credits"`
	Attempts   int                  `json:"attempts"`
	Error      string               `json:"error,omitempty"`
	CreatedAt  time.Time            `json:"created_at"`
	FinishedAt time.Time            `json:"finished_at,omitzero"`
}

func newQueuedView(t *llmservice.Task) queuedView {
	model, credits, err := llmendpoint.QueuedInfo(t)
	v := queuedView{ID: t.ID, TeamID: t.TeamID, KeyID: t.KeyID, State: t.State, Model: model, Credits: credits,
		Attempts: t.Attempts, Error: t.Error, CreatedAt: t.CreatedAt.UTC(), FinishedAt: t.FinishedAt.UTC()}
	if err != nil {
		// The list still shows the task, with what is wrong with it instead
		// of a charge of zero.
		v.Error = llmservice.AsError(err).Message
	}
	return v
}

// queued is GET /admin/qcompletions and GET /v1/team/qcompletions: the
// newest queued completions, a page at a time (limit, after).
func (s *Server) queued(w http.ResponseWriter, r *http.Request, sc scope) error {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), "limit", 20, 1, 100)
	if err != nil {
		return err
	}
	ts, more, err := s.cfg.Stores.Jobs.FindStandaloneTasks(r.Context(), llmservice.StandaloneTaskFilter{TeamID: sc.team,
		Kind: llmendpoint.KindQueued, Before: q.Get("after"), Limit: limit})
	if err != nil {
		return err
	}
	data := make([]queuedView, len(ts))
	for i, t := range ts {
		data[i] = newQueuedView(t)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": more})
}

// cancelQueued is POST /admin/qcompletions/{id}/cancel?team_id= and POST
// /v1/team/qcompletions/{id}/cancel: a queued completion is cancelled and
// its credits come back; a running one finishes (409).
func (s *Server) cancelQueued(w http.ResponseWriter, r *http.Request, sc scope) error {
	team, err := teamParam(r, sc)
	if err != nil {
		return err
	}
	t, err := s.cfg.Stores.Jobs.FindTaskByID(r.Context(), team, r.PathValue("id"))
	if err != nil {
		return err
	}
	if t, err = llmendpoint.CancelQueued(r.Context(), s.cfg.Stores.Jobs, t); err != nil {
		return err
	}
	s.cfg.Gateway.InvalidateTeam(t.TeamID) // its credits changed
	return httpx.WriteJSON(w, http.StatusOK, newQueuedView(t))
}

// getBatch is GET /admin/batches/{id}?team_id= and GET
// /v1/team/batches/{id}: one batch with its counts (the CLI's batches
// wait follows it).
func (s *Server) getBatch(w http.ResponseWriter, r *http.Request, sc scope) error {
	team, err := teamParam(r, sc)
	if err != nil {
		return err
	}
	b, err := s.cfg.Stores.Jobs.FindBatchByID(r.Context(), team, r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err := s.cfg.Stores.Jobs.CountTasks(r.Context(), b.TeamID, b.ID)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, newBatchView(b, c))
}
