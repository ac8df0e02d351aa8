package batches

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/sfdhttp"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// sfdBatch is a StackForDevs batch job. The seed documents its statuses
// (pending, processing, completed, failed) and not its fields; these are
// the fields its users need: the id, the status, the counts, and the
// webhook's secret in the create answer only.
type sfdBatch struct {
	ID            string     `json:"id"`
	Object        string     `json:"object"`
	Status        string     `json:"status"`
	ProjectID     string     `json:"project_id,omitempty"`
	RequestCounts sfdCounts  `json:"request_counts"`
	WebhookURL    string     `json:"webhook_url,omitempty"`
	WebhookSecret string     `json:"webhook_secret,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	CompletedAt   *time.Time `json:"completed_at"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
}

type sfdCounts struct {
	Total      int `json:"total"`
	Pending    int `json:"pending"`
	Processing int `json:"processing"`
	Completed  int `json:"completed"`
	Failed     int `json:"failed"`
	Cancelled  int `json:"cancelled"`
}

// sfdStatus is the StackForDevs view of a batch's status: "pending" until a
// request has started, "processing" until the end, then "completed",
// "failed" (expired batches too: their window passed) or "cancelled".
// A batch cancelled while requests still ran is "cancelling" until they end.
func sfdStatus(b *llmservice.Batch, c llmservice.TaskCounts) string {
	switch b.Status {
	case llmservice.BatchValidating, llmservice.BatchInProgress:
		if c.Running+c.Succeeded+c.Failed == 0 {
			return "pending"
		}
		return "processing"
	case llmservice.BatchFinalizing:
		return "processing"
	case llmservice.BatchExpired:
		return "failed"
	}
	return string(b.Status) // completed, failed, cancelling, cancelled
}

func newSFDBatch(b *llmservice.Batch, c llmservice.TaskCounts) sfdBatch {
	o := sfdBatch{ID: b.ID, Object: "batch", Status: sfdStatus(b, c), ProjectID: b.Project, WebhookURL: b.WebhookURL,
		CreatedAt:     b.CreatedAt.UTC(),
		RequestCounts: sfdCounts{Total: b.Total, Pending: c.Queued, Processing: c.Running, Completed: c.Succeeded, Failed: c.Failed, Cancelled: c.Cancelled}}
	for _, t := range []time.Time{b.CompletedAt, b.CancelledAt, b.ExpiredAt, b.FailedAt} {
		if !t.IsZero() && !b.Status.Open() {
			u := t.UTC()
			o.CompletedAt = &u
			break
		}
	}
	if !b.ExpiresAt.IsZero() {
		e := b.ExpiresAt.UTC()
		o.ExpiresAt = &e
	}
	return o
}

// sfdRequest is one request of POST /v1/batch.
type sfdRequest struct {
	CustomID    string          `json:"custom_id"`
	Model       string          `json:"model"`
	Messages    json.RawMessage `json:"messages"`
	MaxTokens   *int            `json:"max_tokens,omitempty"`
	Temperature *float64        `json:"temperature,omitempty"`
}

type sfdCreateRequest struct {
	Requests   []sfdRequest `json:"requests"`
	WebhookURL string       `json:"webhook_url"`
}

// sfdItems validates the requests and turns each into the body of a chat
// completion, the form every batch item takes. Errors name the request by
// its index: "requests[3].model".
func sfdItems(req *sfdCreateRequest) ([]item, error) {
	if len(req.Requests) == 0 {
		return nil, llmservice.InvalidParam("requests", "requests is required and must hold at least one request")
	}
	if len(req.Requests) > maxRequests {
		return nil, llmservice.InvalidParam("requests", "a batch holds at most %d requests", maxRequests)
	}
	seen := map[string]int{}
	items := make([]item, len(req.Requests))
	for i, r := range req.Requests {
		field := func(f string) string { return fmt.Sprintf("requests[%d].%s", i, f) }
		switch {
		case r.CustomID == "":
			return nil, llmservice.InvalidParam(field("custom_id"), "%s is required", field("custom_id"))
		case len(r.CustomID) > maxCustomID:
			return nil, llmservice.InvalidParam(field("custom_id"), "%s is longer than %d characters", field("custom_id"), maxCustomID)
		case r.Model == "":
			return nil, llmservice.InvalidParam(field("model"), "%s is required", field("model"))
		case len(r.Model) > gateway.MaxModelBytes:
			return nil, gateway.CheckModel(field("model"), r.Model)
		case len(r.Messages) == 0 || string(r.Messages) == "null":
			return nil, llmservice.InvalidParam(field("messages"), "%s is required", field("messages"))
		}
		if j, dup := seen[r.CustomID]; dup {
			return nil, llmservice.InvalidParam(field("custom_id"), "custom_id '%s' is used by requests[%d] too; custom_id must be unique", r.CustomID, j)
		}
		seen[r.CustomID] = i
		body, _ := json.Marshal(map[string]any{"model": r.Model, "messages": r.Messages, "max_tokens": r.MaxTokens, "temperature": r.Temperature})
		if _, err := decodeRequest("/v1/chat/completions", body); err != nil {
			e := llmservice.AsError(err)
			p := field("messages")
			if e.Param != "" {
				p = field(e.Param)
			}
			return nil, &llmservice.Error{Kind: llmservice.Invalid, Param: p, Message: p + ": " + e.Message}
		}
		items[i] = item{Seq: i, CustomID: r.CustomID, URL: "/v1/chat/completions", Body: body, Model: r.Model}
	}
	return items, nil
}

// logBodiesOf is the body logging default of a batch's API: StackForDevs
// promises the prompt and the response in its logs.
func logBodiesOf(api string) string {
	if api == APIStackForDevs {
		return llmservice.LogBodiesFull
	}
	return ""
}

func (h *Handler) sfdAuth(r *http.Request) (*sfdhttp.Caller, error) {
	return sfdhttp.Authenticate(r.Context(), h.GW, r)
}

// sfdCreate is POST /v1/batch: 201 with the batch, pending.
func (h *Handler) sfdCreate(w http.ResponseWriter, r *http.Request) error {
	c, err := h.sfdAuth(r)
	if err != nil {
		return err
	}
	var req sfdCreateRequest
	if err := httpx.DecodeJSON(w, r, h.BodyLimit, &req); err != nil {
		return err
	}
	if err := gateway.CheckLen("x-project-id", c.Project, gateway.MaxProjectBytes); err != nil {
		return err
	}
	items, err := sfdItems(&req)
	if err != nil {
		return err
	}
	now := h.now()
	b := &llmservice.Batch{ID: gateway.NewID("batch_"), TeamID: c.Principal.Team.ID, KeyID: c.Principal.Key.ID, API: APIStackForDevs,
		Project: c.Project, Endpoint: "/v1/chat/completions", CompletionWindow: completionWindow, Status: llmservice.BatchInProgress,
		Total: len(items), CreatedAt: now, InProgressAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	if req.WebhookURL != "" {
		if err := checkWebhookURL(req.WebhookURL); err != nil {
			return err
		}
		b.WebhookURL, b.WebhookSecret = req.WebhookURL, NewWebhookSecret()
	}
	if err := h.Store.CreateBatch(r.Context(), b, h.itemTasks(b, items)); err != nil {
		return err
	}
	h.notify()
	o := newSFDBatch(b, llmservice.TaskCounts{Queued: len(items)})
	o.WebhookSecret = b.WebhookSecret
	return httpx.WriteJSON(w, http.StatusCreated, o)
}

// sfdStatuses maps a StackForDevs status filter to stored statuses; the
// open ones are told apart by their counts afterwards.
var sfdStatuses = map[string][]llmservice.BatchStatus{
	"pending":    {llmservice.BatchValidating, llmservice.BatchInProgress},
	"processing": {llmservice.BatchValidating, llmservice.BatchInProgress, llmservice.BatchFinalizing},
	"cancelling": {llmservice.BatchCancelling},
	"completed":  {llmservice.BatchCompleted},
	"failed":     {llmservice.BatchFailed, llmservice.BatchExpired},
	"cancelled":  {llmservice.BatchCancelled},
}

// sfdList is GET /v1/batch?status=&limit= (limit 1-100, default 20), newest first.
func (h *Handler) sfdList(w http.ResponseWriter, r *http.Request) error {
	c, err := h.sfdAuth(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), "limit", 20, 1, 100)
	if err != nil {
		return err
	}
	status := q.Get("status")
	f := llmservice.BatchFilter{TeamID: c.Principal.Team.ID, API: APIStackForDevs, Limit: limit, After: q.Get("after")}
	if status != "" {
		st, ok := sfdStatuses[status]
		if !ok {
			return llmservice.InvalidParam("status", "status must be pending, processing, completed, failed, cancelling or cancelled")
		}
		f.Statuses = st
		if status == "pending" || status == "processing" {
			f.Limit = 1000 // filtered by counts below
		}
	}
	bs, more, err := h.Store.FindBatches(r.Context(), f)
	if err != nil {
		return err
	}
	data := []sfdBatch{}
	for _, b := range bs {
		counts, err := h.Store.CountTasks(r.Context(), b.TeamID, b.ID)
		if err != nil {
			return err
		}
		o := newSFDBatch(b, counts)
		if status != "" && o.Status != status {
			continue
		}
		if len(data) == limit {
			more = true
			break
		}
		data = append(data, o)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": more})
}

func (h *Handler) sfdFind(r *http.Request) (*llmservice.Batch, llmservice.TaskCounts, error) {
	c, err := h.sfdAuth(r)
	if err != nil {
		return nil, llmservice.TaskCounts{}, err
	}
	b, err := h.findBatch(r.Context(), c.Principal.Team.ID, r.PathValue("id"), APIStackForDevs)
	if err != nil {
		return nil, llmservice.TaskCounts{}, err
	}
	counts, err := h.Store.CountTasks(r.Context(), b.TeamID, b.ID)
	return b, counts, err
}

// sfdGet is GET /v1/batch/{id}.
func (h *Handler) sfdGet(w http.ResponseWriter, r *http.Request) error {
	b, counts, err := h.sfdFind(r)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, newSFDBatch(b, counts))
}

// sfdResult is one request's result, matched by custom_id.
type sfdResult struct {
	CustomID   string          `json:"custom_id"`
	Status     string          `json:"status"` // completed, failed, cancelled
	StatusCode int             `json:"status_code,omitempty"`
	Content    *string         `json:"content,omitempty"`
	Response   json.RawMessage `json:"response,omitempty"`
	Error      *lineError      `json:"error,omitempty"`
	Usage      *wire.Usage     `json:"usage,omitempty"`
}

// sfdResults is GET /v1/batch/{id}/results: 425 Too Early until the batch
// has ended, then every request's result in submission order.
func (h *Handler) sfdResults(w http.ResponseWriter, r *http.Request) error {
	b, counts, err := h.sfdFind(r)
	if err != nil {
		return err
	}
	if b.Status.Open() {
		return &llmservice.Error{Kind: llmservice.TooEarly, Code: "batch_not_completed",
			Message: fmt.Sprintf("Batch %s is %s; its results are available once it has completed.", b.ID, sfdStatus(b, counts))}
	}
	ts, err := h.Store.FindTasks(r.Context(), llmservice.TaskFilter{TeamID: b.TeamID, Group: b.ID, AfterSeq: -1})
	if err != nil {
		return err
	}
	results := make([]sfdResult, 0, len(ts))
	for _, t := range ts {
		results = append(results, newSFDResult(t))
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"batch_id": b.ID, "status": sfdStatus(b, counts), "results": results})
}

func newSFDResult(t *llmservice.Task) sfdResult {
	r := sfdResult{CustomID: t.Key}
	_, failed, res := renderLine(t)
	switch {
	case t.State == llmservice.TaskCancelled:
		r.Status = "cancelled"
		e, ok := unanswered[t.Error]
		if !ok {
			e = unanswered["batch_cancelled"]
		}
		r.Error = &e
		return r
	case failed:
		r.Status = "failed"
	default:
		r.Status = "completed"
	}
	r.StatusCode, r.Response = res.StatusCode, res.Body
	if failed {
		var eb struct {
			Error struct {
				Message string  `json:"message"`
				Code    *string `json:"code"`
				Type    string  `json:"type"`
			} `json:"error"`
		}
		if json.Unmarshal(res.Body, &eb) != nil {
			eb.Error.Type = "upstream_error" // not an error body we can read
		}
		code := eb.Error.Type
		if eb.Error.Code != nil {
			code = *eb.Error.Code
		}
		if eb.Error.Message == "" {
			eb.Error.Message = t.Error
		}
		r.Error = &lineError{Code: code, Message: eb.Error.Message}
		return r
	}
	text := res.Text
	r.Content = &text
	r.Usage = &wire.Usage{PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens, TotalTokens: res.PromptTokens + res.CompletionTokens}
	return r
}

// sfdCancel is POST /v1/batch/{id}/cancel: 409 once the batch has ended.
func (h *Handler) sfdCancel(w http.ResponseWriter, r *http.Request) error {
	c, err := h.sfdAuth(r)
	if err != nil {
		return err
	}
	b, err := h.cancel(r.Context(), c.Principal.Team.ID, r.PathValue("id"), APIStackForDevs)
	if err != nil {
		return err
	}
	counts, err := h.Store.CountTasks(r.Context(), b.TeamID, b.ID)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, newSFDBatch(b, counts))
}

// sfdWebhooks is GET /v1/batch/{id}/webhooks: every delivery attempt of
// the batch's webhook, oldest first.
func (h *Handler) sfdWebhooks(w http.ResponseWriter, r *http.Request) error {
	b, _, err := h.sfdFind(r)
	if err != nil {
		return err
	}
	ds, err := h.Store.FindWebhookDeliveries(r.Context(), b.TeamID, b.ID)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []*llmservice.WebhookDelivery{}
	}
	type delivery struct {
		*llmservice.WebhookDelivery
		Time time.Time `json:"time"`
	}
	out := make([]delivery, len(ds))
	for i, d := range ds {
		out[i] = delivery{WebhookDelivery: d, Time: d.Time.UTC()}
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"batch_id": b.ID, "webhook_url": b.WebhookURL, "data": out})
}
