package stackfordevs

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/sfdhttp"
)

// AllProjects in a logs or stats path selects every project of the tenant.
const AllProjects = "*"

// scope checks the {tenant}/{project} of a logs or stats path. A tenant reads
// only its own: another tenant's ID is 403 whether or not it exists, so the
// answer tells nothing about other tenants. It writes the meter's buffered
// records first, waiting a bounded time; partial reports that some may not
// be written yet (the answer then says so).
func (h *Handler) scope(r *http.Request) (c *sfdhttp.Caller, project string, partial bool, err error) {
	c, err = h.authenticate(r)
	if err != nil {
		return nil, "", false, err
	}
	if r.PathValue("tenant") != c.Tenant {
		return nil, "", false, &llmservice.Error{Kind: llmservice.Forbidden, Code: "forbidden",
			Message: "you may only read your own tenant's logs and stats"}
	}
	project = r.PathValue("project")
	if project == AllProjects {
		project = ""
	}
	return c, project, gateway.FlushUsage(r.Context(), h.Flush), nil
}

// Message is one turn of a logged prompt.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// LogEntry is one call in GET /v1/logs. Prompt and Response are present only
// when the tenant's body logging is on (full or redacted).
type LogEntry struct {
	ID               string    `json:"id"`
	Timestamp        time.Time `json:"timestamp"`
	TenantID         string    `json:"tenant_id"`
	ProjectID        string    `json:"project_id"`
	Endpoint         string    `json:"endpoint"`
	Model            string    `json:"model"`
	Provider         string    `json:"provider"`
	ProviderModel    string    `json:"provider_model"`
	Stream           bool      `json:"stream"`
	Prompt           []Message `json:"prompt,omitempty"`
	Response         *string   `json:"response,omitempty"`
	PromptTokens     int       `json:"prompt_tokens"`
	CompletionTokens int       `json:"completion_tokens"`
	TotalTokens      int       `json:"total_tokens"`
	// Parts of the prompt and completion counts, priced on their own.
	CacheReadTokens    int     `json:"cache_read_tokens"`
	CacheWriteTokens   int     `json:"cache_write_tokens"`
	CacheWrite1hTokens int     `json:"cache_write_1h_tokens"`
	ReasoningTokens    int     `json:"reasoning_tokens"`
	TokensEstimated    bool    `json:"tokens_estimated"`
	CostUSD            float64 `json:"cost_usd"`
	LatencyMS          int     `json:"latency_ms"`
	TTFTMS             int     `json:"time_to_first_token_ms,omitempty"`
	Status             int     `json:"status"`
	Success            bool    `json:"success"`
	Error              string  `json:"error,omitempty"`
}

// LogPage is the answer of GET /v1/logs.
type LogPage struct {
	Logs       []LogEntry `json:"logs"`
	NextCursor string     `json:"next_cursor,omitempty"`
	HasMore    bool       `json:"has_more"`
	// Partial says the newest calls may be missing: the ledger could not
	// be written within gateway.UsageFlushWait.
	Partial bool `json:"partial,omitempty"`
}

func toLogEntry(r *llmservice.UsageRecord) LogEntry {
	e := LogEntry{ID: r.ID, Timestamp: r.Time, TenantID: r.TeamID, ProjectID: r.Project, Endpoint: r.Endpoint,
		Model: r.RequestedModel, Provider: r.Provider, ProviderModel: r.UpstreamModel, Stream: r.Stream,
		PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens, TotalTokens: r.PromptTokens + r.CompletionTokens,
		TokensEstimated: r.TokensEstimated, CostUSD: r.Cost.Dollars(), LatencyMS: r.LatencyMS, TTFTMS: r.TTFTMS,
		Status: r.Status, Success: r.Status < 400, Error: r.ErrorType,
		CacheReadTokens: r.CacheReadTokens, CacheWriteTokens: r.CacheWriteTokens, CacheWrite1hTokens: r.CacheWrite1hTokens,
		ReasoningTokens: r.ReasoningTokens}
	if r.Prompt != "" || r.Response != "" {
		e.Prompt = promptMessages(r.Prompt)
		resp := r.Response
		e.Response = &resp
	}
	return e
}

// promptMessages reads the prompt the gateway keeps (a JSON list of turns);
// anything else is shown as one user turn rather than dropped.
func promptMessages(s string) []Message {
	var ms []Message
	if err := json.Unmarshal([]byte(s), &ms); err == nil {
		return ms
	}
	return []Message{{Role: "user", Content: s}}
}

// maxLogLimit is the largest page the store serves.
const maxLogLimit = 500

func (h *Handler) logs(w http.ResponseWriter, r *http.Request) error {
	c, project, partial, err := h.scope(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLogLimit {
			return llmservice.InvalidParam("limit", "limit must be an integer from 1 to %d", maxLogLimit)
		}
		limit = n
	}
	from, to, err := window(q.Get("from"), q.Get("to"))
	if err != nil {
		return err
	}
	recs, next, err := h.Usage.FindUsageRecords(r.Context(), llmservice.RecordFilter{
		TeamID: c.Tenant, Project: project, Limit: limit, Before: q.Get("cursor"), From: from, To: to})
	if err != nil {
		return err
	}
	page := LogPage{Logs: make([]LogEntry, len(recs)), NextCursor: next, HasMore: next != "", Partial: partial}
	for i := range recs {
		page.Logs[i] = toLogEntry(&recs[i])
	}
	return httpx.WriteJSON(w, http.StatusOK, page)
}

// window parses the optional from/to query values: RFC 3339 times, dates
// (UTC midnight, as the admin usage API takes them) or unix seconds.
func window(from, to string) (time.Time, time.Time, error) {
	f, err := parseTime("from", from)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	t, err := parseTime("to", to)
	return f, t, err
}

func parseTime(param, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n < math.MaxInt64/1000 {
		return time.Unix(n, 0).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, llmservice.InvalidParam(param, "%s must be an RFC 3339 time, a date (YYYY-MM-DD) or unix seconds", param)
}

// ModelStats is one model's line in GET /v1/stats.
type ModelStats struct {
	Model string `json:"model"`
	Totals
}

// Totals are summed calls.
type Totals struct {
	Requests           int64 `json:"requests"`
	SuccessfulRequests int64 `json:"successful_requests"`
	FailedRequests     int64 `json:"failed_requests"`
	// SuccessRate is successful/requests from 0 to 1; null without requests.
	SuccessRate      *float64 `json:"success_rate"`
	PromptTokens     int64    `json:"prompt_tokens"`
	CompletionTokens int64    `json:"completion_tokens"`
	TotalTokens      int64    `json:"total_tokens"`
	// Parts of the prompt and completion counts, priced on their own.
	CacheReadTokens    int64   `json:"cache_read_tokens"`
	CacheWriteTokens   int64   `json:"cache_write_tokens"`
	CacheWrite1hTokens int64   `json:"cache_write_1h_tokens"`
	ReasoningTokens    int64   `json:"reasoning_tokens"`
	CostUSD            float64 `json:"cost_usd"`
	AvgLatencyMS       float64 `json:"avg_latency_ms"`
}

// Stats is the answer of GET /v1/stats.
type Stats struct {
	TenantID  string `json:"tenant_id"`
	ProjectID string `json:"project_id"`
	Totals
	ByModel []ModelStats `json:"by_model"`
	// Partial says the newest calls may be missing from the totals.
	Partial bool `json:"partial,omitempty"`
}

func toTotals(t llmservice.UsageTotal) Totals {
	out := Totals{Requests: t.Requests, SuccessfulRequests: t.Requests - t.Errors, FailedRequests: t.Errors,
		PromptTokens: t.PromptTokens, CompletionTokens: t.CompletionTokens, TotalTokens: t.TotalTokens,
		CostUSD: t.CostUSD, AvgLatencyMS: math.Round(t.AvgLatencyMS*10) / 10,
		CacheReadTokens: t.CacheReadTokens, CacheWriteTokens: t.CacheWriteTokens, CacheWrite1hTokens: t.CacheWrite1hTokens,
		ReasoningTokens: t.ReasoningTokens}
	if t.Requests > 0 {
		rate := math.Round(float64(out.SuccessfulRequests)/float64(t.Requests)*1e4) / 1e4
		out.SuccessRate = &rate
	}
	return out
}

func (h *Handler) stats(w http.ResponseWriter, r *http.Request) error {
	c, project, partial, err := h.scope(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	from, to, err := window(q.Get("from"), q.Get("to"))
	if err != nil {
		return err
	}
	f := llmservice.UsageFilter{TeamID: c.Tenant, Project: project, From: from, To: to}
	all, err := h.Usage.SumUsage(r.Context(), f)
	if err != nil {
		return err
	}
	f.GroupBy = "model"
	byModel, err := h.Usage.SumUsage(r.Context(), f)
	if err != nil {
		return err
	}
	out := Stats{TenantID: c.Tenant, ProjectID: r.PathValue("project"), ByModel: make([]ModelStats, len(byModel)), Partial: partial}
	if len(all) > 0 {
		out.Totals = toTotals(all[0])
	}
	for i, t := range byModel {
		out.ByModel[i] = ModelStats{Model: t.Group, Totals: toTotals(t)}
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}
