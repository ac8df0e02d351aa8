package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
)

// logEntry is one call in the request log.
type logEntry struct {
	ID               string    `json:"id"`
	Time             time.Time `json:"time"`
	TeamID           string    `json:"team_id"`
	KeyID            string    `json:"key_id"`
	Project          string    `json:"project,omitempty"`
	Endpoint         string    `json:"endpoint"`
	Model            string    `json:"model"`
	Provider         string    `json:"provider,omitempty"`
	UpstreamModel    string    `json:"upstream_model,omitempty"`
	Stream           bool      `json:"stream"`
	Status           int       `json:"status"`
	ErrorType        string    `json:"error_type,omitempty"`
	PromptTokens     int       `json:"prompt_tokens"`
	CompletionTokens int       `json:"completion_tokens"`
	TotalTokens      int       `json:"total_tokens"`
	// Parts of the prompt and completion counts, priced on their own.
	CacheReadTokens    int     `json:"cache_read_tokens"`
	CacheWriteTokens   int     `json:"cache_write_tokens"`
	CacheWrite1hTokens int     `json:"cache_write_1h_tokens"`
	ReasoningTokens    int     `json:"reasoning_tokens"`
	TokensEstimated    bool    `json:"tokens_estimated,omitempty"`
	CostUSD            float64 `json:"cost_usd"`
	LatencyMS          int     `json:"latency_ms"`
	TTFTMS             int     `json:"ttft_ms,omitempty"`
	Attempts           int     `json:"attempts"`
	AttemptLog         string  `json:"attempt_log,omitempty"`
	Purpose            string  `json:"purpose,omitempty"`
	// Prompt and Response are there when the team keeps bodies.
	Prompt   *string `json:"prompt,omitempty"`
	Response *string `json:"response,omitempty"`
}

func newLogEntry(r *llmservice.UsageRecord) logEntry {
	e := logEntry{ID: r.ID, Time: r.Time.UTC(), TeamID: r.TeamID, KeyID: r.KeyID, Project: r.Project, Endpoint: r.Endpoint,
		Model: r.RequestedModel, Provider: r.Provider, UpstreamModel: r.UpstreamModel, Stream: r.Stream, Status: r.Status,
		ErrorType: r.ErrorType, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
		TotalTokens: r.PromptTokens + r.CompletionTokens, TokensEstimated: r.TokensEstimated, CostUSD: r.Cost.Dollars(),
		LatencyMS: r.LatencyMS, TTFTMS: r.TTFTMS, Attempts: r.Attempts, AttemptLog: r.AttemptLog, Purpose: r.Purpose,
		CacheReadTokens: r.CacheReadTokens, CacheWriteTokens: r.CacheWriteTokens, CacheWrite1hTokens: r.CacheWrite1hTokens,
		ReasoningTokens: r.ReasoningTokens}
	if r.Prompt != "" || r.Response != "" {
		p, resp := r.Prompt, r.Response
		e.Prompt, e.Response = &p, &resp
	}
	return e
}

// logPage is the answer of GET /admin/logs.
type logPage struct {
	Object     string     `json:"object"`
	Data       []logEntry `json:"data"`
	NextCursor string     `json:"next_cursor,omitempty"`
	HasMore    bool       `json:"has_more"`
	// Scanned is how many records the page read: a page reads at most a
	// few thousand, so with selective filters it may be short, or empty,
	// and still have more.
	Scanned int `json:"scanned"`
}

// statusRange reads the status filter: ok (below 400), error (400 and
// up), 4xx, 5xx or one status code.
func statusRange(v string) (lo, hi int, err error) {
	switch v {
	case "":
		return 0, 0, nil
	case "ok":
		return 1, 399, nil
	case "error":
		return 400, 999, nil
	case "4xx":
		return 400, 499, nil
	case "5xx":
		return 500, 599, nil
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 100 && n <= 999 {
		return n, n, nil
	}
	return 0, 0, llmservice.InvalidParam("status", "status must be ok, error, 4xx, 5xx or a status code")
}

// logs is GET /admin/logs and GET /v1/usage/logs: the request log, newest
// first, filtered by team, key, project, model, status and time, with the
// prompt and response where the team keeps them. One page is one query of
// bounded cost (see storesql.FindUsageLogs); next_cursor continues.
func (s *Server) logs(w http.ResponseWriter, r *http.Request, sc scope) error {
	uf, err := usageFilter(r, sc)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := llmservice.LogFilter{TeamID: sc.team, KeyID: uf.KeyID, Project: uf.Project, Model: uf.Model,
		From: uf.From, To: uf.To, Cursor: q.Get("cursor")}
	if f.StatusMin, f.StatusMax, err = statusRange(q.Get("status")); err != nil {
		return err
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit", 50, 1, 200); err != nil {
		return err
	}
	if f.Cursor == "" {
		// The first page shows the calls of a moment ago.
		s.flushUsage(r.Context()) // a partial answer beats none during an outage
	}
	page, err := s.cfg.Stores.Stats.FindUsageLogs(r.Context(), f)
	if err != nil {
		return err
	}
	out := logPage{Object: "list", Data: make([]logEntry, len(page.Records)), NextCursor: page.Next,
		HasMore: page.Next != "", Scanned: page.Scanned}
	for i := range page.Records {
		out.Data[i] = newLogEntry(&page.Records[i])
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}
