package jobs

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
)

// timeFormat is ISO 8601 in UTC with milliseconds, as the seed's examples
// show ("2025-10-14T12:00:00.000Z").
const timeFormat = "2006-01-02T15:04:05.000Z"

func isoTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(timeFormat)
	return &s
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func metadata(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("{}")
	}
	return raw
}

// createdView answers POST /api/jobs/create.
type createdView struct {
	JobID     string          `json:"job_id"`
	TeamID    string          `json:"team_id"`
	UserID    *string         `json:"user_id"`
	JobType   string          `json:"job_type"`
	Status    string          `json:"status"`
	CreatedAt *string         `json:"created_at"`
	Metadata  json.RawMessage `json:"metadata"`
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	in, err := DecodeCreateRequest(body)
	if err != nil {
		return err
	}
	if in.TeamID != p.Team.ID {
		return &llmservice.Error{Kind: llmservice.Forbidden, Param: "team_id",
			Message: "API key does not belong to team '" + in.TeamID + "'"}
	}
	j := &llmservice.CreditJob{ID: uuid.NewString(), TeamID: p.Team.ID, UserID: in.UserID, JobType: in.JobType,
		Status: llmservice.CreditJobPending, Metadata: in.Metadata, CreatedAt: h.now().UTC().Truncate(time.Millisecond)}
	if err := h.Jobs.CreateCreditJob(r.Context(), j); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, createdView{JobID: j.ID, TeamID: j.TeamID, UserID: optional(j.UserID),
		JobType: j.JobType, Status: j.Status, CreatedAt: isoTime(&j.CreatedAt), Metadata: metadata(j.Metadata)})
}

// costsView is a job's totals: sums over its calls.
type costsView struct {
	TotalCalls       int     `json:"total_calls"`
	SuccessfulCalls  int     `json:"successful_calls"`
	FailedCalls      int     `json:"failed_calls"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	TotalTokens      int64   `json:"total_tokens"`
	TotalCostUSD     float64 `json:"total_cost_usd"`
	AvgLatencyMS     int64   `json:"avg_latency_ms"`
	CreditApplied    bool    `json:"credit_applied"`
	// CreditsRemaining is the team's balance, shown when a job completes.
	CreditsRemaining *int64 `json:"credits_remaining,omitempty"`
}

// callView is one call in a job's "calls" list.
type callView struct {
	CallID           string  `json:"call_id"`
	Purpose          *string `json:"purpose"`
	ModelGroup       string  `json:"model_group"`
	Model            *string `json:"model"`
	Stream           bool    `json:"stream"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	Tokens           int     `json:"tokens"`
	CostUSD          float64 `json:"cost_usd"`
	LatencyMS        int     `json:"latency_ms"`
	Error            *string `json:"error"`
	CreatedAt        *string `json:"created_at"`
}

// totals sums a job's calls. Money is summed in nano-dollars and converted
// once, so the total is exactly the sum of the calls' costs.
func totals(calls []*llmservice.CreditJobCall) costsView {
	var (
		c       costsView
		cost    llmservice.Nanos
		latency int64
	)
	for _, x := range calls {
		c.TotalCalls++
		if x.Error == "" {
			c.SuccessfulCalls++
		} else {
			c.FailedCalls++
		}
		c.PromptTokens += int64(x.PromptTokens)
		c.CompletionTokens += int64(x.CompletionTokens)
		cost += x.Cost
		latency += int64(x.LatencyMS)
	}
	c.TotalTokens = c.PromptTokens + c.CompletionTokens
	c.TotalCostUSD = cost.Dollars()
	if c.TotalCalls > 0 {
		c.AvgLatencyMS = latency / int64(c.TotalCalls)
	}
	return c
}

func callViews(calls []*llmservice.CreditJobCall) []callView {
	out := make([]callView, len(calls))
	for i, c := range calls {
		created := c.CreatedAt
		out[i] = callView{CallID: c.ID, Purpose: optional(c.Purpose), ModelGroup: c.ModelGroup, Model: optional(c.Model),
			Stream: c.Stream, PromptTokens: c.PromptTokens, CompletionTokens: c.CompletionTokens,
			Tokens: c.PromptTokens + c.CompletionTokens, CostUSD: c.Cost.Dollars(), LatencyMS: c.LatencyMS,
			Error: optional(c.Error), CreatedAt: isoTime(&created)}
	}
	return out
}

// modelGroupsUsed lists the groups of a job's calls in order of first use.
func modelGroupsUsed(calls []*llmservice.CreditJobCall) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, c := range calls {
		if !seen[c.ModelGroup] {
			seen[c.ModelGroup] = true
			out = append(out, c.ModelGroup)
		}
	}
	return out
}

// jobView answers GET /api/jobs/{job_id}.
type jobView struct {
	JobID           string          `json:"job_id"`
	TeamID          string          `json:"team_id"`
	UserID          *string         `json:"user_id"`
	JobType         string          `json:"job_type"`
	Status          string          `json:"status"`
	CreatedAt       *string         `json:"created_at"`
	StartedAt       *string         `json:"started_at"`
	CompletedAt     *string         `json:"completed_at"`
	ModelGroupsUsed []string        `json:"model_groups_used"`
	CreditApplied   bool            `json:"credit_applied"`
	ErrorMessage    *string         `json:"error_message"`
	Metadata        json.RawMessage `json:"metadata"`
	Costs           costsView       `json:"costs"`
	Calls           []callView      `json:"calls"`
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	j, err := h.Jobs.FindCreditJob(r.Context(), p.Team.ID, r.PathValue("job_id"))
	if err != nil {
		return err
	}
	calls, err := h.Jobs.FindCreditJobCalls(r.Context(), p.Team.ID, j.ID)
	if err != nil {
		return err
	}
	costs := totals(calls)
	costs.CreditApplied = j.CreditApplied
	return httpx.WriteJSON(w, http.StatusOK, jobView{JobID: j.ID, TeamID: j.TeamID, UserID: optional(j.UserID),
		JobType: j.JobType, Status: j.Status, CreatedAt: isoTime(&j.CreatedAt), StartedAt: isoTime(j.StartedAt),
		CompletedAt: isoTime(j.CompletedAt), ModelGroupsUsed: modelGroupsUsed(calls), CreditApplied: j.CreditApplied,
		ErrorMessage: optional(j.ErrorMessage), Metadata: metadata(j.Metadata), Costs: costs, Calls: callViews(calls)})
}

// completedView answers POST /api/jobs/{job_id}/complete.
type completedView struct {
	JobID       string     `json:"job_id"`
	Status      string     `json:"status"`
	CompletedAt *string    `json:"completed_at"`
	Costs       costsView  `json:"costs"`
	Calls       []callView `json:"calls"`
}

func (h *Handler) complete(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	in, err := DecodeCompleteRequest(body)
	if err != nil {
		return err
	}
	in.Now = h.now()
	j, balance, err := h.Jobs.CompleteCreditJob(r.Context(), p.Team.ID, r.PathValue("job_id"), *in)
	if err != nil {
		return err
	}
	calls, err := h.Jobs.FindCreditJobCalls(r.Context(), p.Team.ID, j.ID)
	if err != nil {
		return err
	}
	costs := totals(calls)
	costs.CreditApplied = j.CreditApplied
	costs.CreditsRemaining = &balance
	return httpx.WriteJSON(w, http.StatusOK, completedView{JobID: j.ID, Status: j.Status,
		CompletedAt: isoTime(j.CompletedAt), Costs: costs, Calls: callViews(calls)})
}

// openJob returns the caller's job, refusing one that is closed: calls on
// a completed or failed job are a conflict (409).
func (h *Handler) openJob(ctx context.Context, p *gateway.Principal, id string) (*llmservice.CreditJob, error) {
	j, err := h.Jobs.FindCreditJob(ctx, p.Team.ID, id)
	if err != nil {
		return nil, err
	}
	if j.Closed() {
		return nil, &llmservice.Error{Kind: llmservice.Conflict, Code: "job_closed",
			Message: "Job " + j.ID + " is already " + j.Status + "; create a new job to make more calls"}
	}
	return j, nil
}
