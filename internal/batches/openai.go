package batches

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
)

// completionWindow is the only window OpenAI offers, and so the only one
// clients send.
const completionWindow = "24h"

// batchObject is OpenAI's Batch.
// https://platform.openai.com/docs/api-reference/batch/object
type batchObject struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Endpoint         string            `json:"endpoint"`
	Model            string            `json:"model,omitempty"`
	Errors           *batchErrors      `json:"errors"`
	InputFileID      string            `json:"input_file_id"`
	CompletionWindow string            `json:"completion_window"`
	Status           string            `json:"status"`
	OutputFileID     *string           `json:"output_file_id"`
	ErrorFileID      *string           `json:"error_file_id"`
	CreatedAt        int64             `json:"created_at"`
	InProgressAt     *int64            `json:"in_progress_at"`
	ExpiresAt        *int64            `json:"expires_at"`
	FinalizingAt     *int64            `json:"finalizing_at"`
	CompletedAt      *int64            `json:"completed_at"`
	FailedAt         *int64            `json:"failed_at"`
	ExpiredAt        *int64            `json:"expired_at"`
	CancellingAt     *int64            `json:"cancelling_at"`
	CancelledAt      *int64            `json:"cancelled_at"`
	RequestCounts    requestCounts     `json:"request_counts"`
	Usage            *batchUsage       `json:"usage,omitempty"`
	Metadata         map[string]string `json:"metadata"`
}

type batchErrors struct {
	Object string                  `json:"object"`
	Data   []llmservice.BatchError `json:"data"`
}

type requestCounts struct {
	Total     int `json:"total"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
}

type batchUsage struct {
	InputTokens         int64          `json:"input_tokens"`
	InputTokensDetails  map[string]int `json:"input_tokens_details"`
	OutputTokens        int64          `json:"output_tokens"`
	OutputTokensDetails map[string]int `json:"output_tokens_details"`
	TotalTokens         int64          `json:"total_tokens"`
}

// unixOrNil renders a transition time; zero means it has not happened.
func unixOrNil(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	u := t.Unix()
	return &u
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func newBatchObject(b *llmservice.Batch, c llmservice.TaskCounts, model string) batchObject {
	o := batchObject{ID: b.ID, Object: "batch", Endpoint: b.Endpoint, Model: model, InputFileID: b.InputFileID,
		CompletionWindow: b.CompletionWindow, Status: string(b.Status), OutputFileID: strOrNil(b.OutputFileID),
		ErrorFileID: strOrNil(b.ErrorFileID), CreatedAt: b.CreatedAt.Unix(), InProgressAt: unixOrNil(b.InProgressAt),
		ExpiresAt: unixOrNil(b.ExpiresAt), FinalizingAt: unixOrNil(b.FinalizingAt), CompletedAt: unixOrNil(b.CompletedAt),
		FailedAt: unixOrNil(b.FailedAt), ExpiredAt: unixOrNil(b.ExpiredAt), CancellingAt: unixOrNil(b.CancellingAt),
		CancelledAt: unixOrNil(b.CancelledAt), Metadata: b.Metadata,
		RequestCounts: requestCounts{Total: b.Total, Completed: c.Succeeded, Failed: c.Failed}}
	if b.Status == llmservice.BatchExpired || b.Status == llmservice.BatchCancelled {
		// OpenAI counts requests that never ran as failed once the batch
		// has ended, so completed + failed = total.
		o.RequestCounts.Failed += c.Cancelled
	}
	if b.Status != llmservice.BatchExpired && b.Status != llmservice.BatchFailed {
		o.ExpiredAt = nil // the expiry mark shows only on expired batches
	}
	if len(b.Errors) > 0 {
		o.Errors = &batchErrors{Object: "list", Data: b.Errors}
	}
	if !b.Status.Open() && b.Status != llmservice.BatchFailed {
		o.Usage = &batchUsage{InputTokens: b.InputTokens, OutputTokens: b.OutputTokens, TotalTokens: b.InputTokens + b.OutputTokens,
			InputTokensDetails: map[string]int{"cached_tokens": 0}, OutputTokensDetails: map[string]int{"reasoning_tokens": 0}}
	}
	return o
}

// batchModel is the model of the batch's first request (OpenAI's Batch.model).
func (h *Handler) batchModel(ctx context.Context, b *llmservice.Batch) string {
	ts, err := h.Store.FindTasks(ctx, llmservice.TaskFilter{TeamID: b.TeamID, Group: b.ID, AfterSeq: -1, Limit: 1})
	if err != nil || len(ts) == 0 {
		return ""
	}
	var p itemPayload
	var body struct {
		Model string `json:"model"`
	}
	if json.Unmarshal(ts[0].Payload, &p) == nil && json.Unmarshal(p.Body, &body) == nil {
		return body.Model
	}
	return ""
}

func (h *Handler) renderBatch(ctx context.Context, b *llmservice.Batch) (batchObject, error) {
	c, err := h.Store.CountTasks(ctx, b.TeamID, b.ID)
	if err != nil {
		return batchObject{}, err
	}
	return newBatchObject(b, c, h.batchModel(ctx, b)), nil
}

// createBatchRequest is POST /v1/batches.
type createBatchRequest struct {
	InputFileID      string            `json:"input_file_id"`
	Endpoint         string            `json:"endpoint"`
	CompletionWindow string            `json:"completion_window"`
	Metadata         map[string]string `json:"metadata"`
}

func (req *createBatchRequest) validate() error {
	switch {
	case req.InputFileID == "":
		return llmservice.InvalidParam("input_file_id", "Missing required parameter: 'input_file_id'.")
	case req.Endpoint == "":
		return llmservice.InvalidParam("endpoint", "Missing required parameter: 'endpoint'.")
	case endpoints[req.Endpoint] == "":
		return llmservice.InvalidParam("endpoint", "Invalid value for 'endpoint': this server runs batches of /v1/chat/completions, /v1/completions and /v1/embeddings.")
	case req.CompletionWindow == "":
		return llmservice.InvalidParam("completion_window", "Missing required parameter: 'completion_window'.")
	case req.CompletionWindow != completionWindow:
		return llmservice.InvalidParam("completion_window", "Invalid value for 'completion_window': only '24h' is supported.")
	case len(req.Metadata) > 16:
		return llmservice.InvalidParam("metadata", "metadata holds at most 16 pairs")
	}
	for k, v := range req.Metadata {
		if utf8.RuneCountInString(k) > 64 || utf8.RuneCountInString(v) > 512 {
			return llmservice.InvalidParam("metadata", "metadata keys hold at most 64 characters and values at most 512")
		}
	}
	return nil
}

func (h *Handler) createBatch(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authOpenAI(r)
	if err != nil {
		return err
	}
	var req createBatchRequest
	if err := httpx.DecodeJSON(w, r, h.BodyLimit, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	f, err := h.Store.FindFileByID(r.Context(), p.Team.ID, req.InputFileID)
	if err != nil {
		if llmservice.ErrorKind(err) == llmservice.NotFound {
			return &llmservice.Error{Kind: llmservice.NotFound, Param: "input_file_id", Code: "file_not_found", Message: "No such File object: " + req.InputFileID}
		}
		return err
	}
	if f.Purpose != "batch" {
		return llmservice.InvalidParam("input_file_id", "The file %s was not uploaded with purpose 'batch'.", f.ID)
	}
	content, err := h.Store.FindFileContent(r.Context(), p.Team.ID, f.ID)
	if err != nil {
		return err
	}
	project := r.Header.Get("X-Project-Id")
	if err := gateway.CheckLen("X-Project-Id", project, gateway.MaxProjectBytes); err != nil {
		return err
	}
	items, errs := parseInput(content, req.Endpoint)
	now := h.now()
	b := &llmservice.Batch{ID: gateway.NewID("batch_"), TeamID: p.Team.ID, KeyID: p.Key.ID, API: APIOpenAI,
		Project: project, Endpoint: req.Endpoint, InputFileID: f.ID, CompletionWindow: req.CompletionWindow,
		Metadata: req.Metadata, CreatedAt: now, Total: len(items)}
	if len(errs) > 0 {
		// OpenAI answers 200 with a batch that failed validation; its
		// errors say which lines are wrong.
		b.Status, b.Errors, b.FailedAt = llmservice.BatchFailed, errs, now
		if err := h.Store.CreateBatch(r.Context(), b, nil); err != nil {
			return err
		}
		return httpx.WriteJSON(w, http.StatusOK, newBatchObject(b, llmservice.TaskCounts{}, ""))
	}
	b.Status, b.InProgressAt, b.ExpiresAt = llmservice.BatchInProgress, now, now.Add(24*time.Hour)
	if err := h.Store.CreateBatch(r.Context(), b, h.itemTasks(b, items)); err != nil {
		return err
	}
	h.notify()
	return httpx.WriteJSON(w, http.StatusOK, newBatchObject(b, llmservice.TaskCounts{Queued: len(items)}, items[0].Model))
}

// itemTasks turns a batch's requests into its queue tasks.
func (h *Handler) itemTasks(b *llmservice.Batch, items []item) []*llmservice.Task {
	ts := make([]*llmservice.Task, len(items))
	for i, it := range items {
		p, _ := json.Marshal(itemPayload{URL: it.URL, Body: it.Body, Project: b.Project, LogBodies: logBodiesOf(b.API)})
		ts[i] = &llmservice.Task{ID: gateway.NewID("batch_req_"), Kind: KindItem, TeamID: b.TeamID, KeyID: b.KeyID,
			Group: b.ID, Key: it.CustomID, Seq: it.Seq, Payload: p, MaxAttempts: h.maxAttempts()}
	}
	return ts
}

func (h *Handler) getBatch(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authOpenAI(r)
	if err != nil {
		return err
	}
	b, err := h.findBatch(r.Context(), p.Team.ID, r.PathValue("id"), APIOpenAI)
	if err != nil {
		return err
	}
	o, err := h.renderBatch(r.Context(), b)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, o)
}

// findBatch returns a team's batch of one API; the other API's batches
// are not found, so that each API shows only its own objects.
func (h *Handler) findBatch(ctx context.Context, team, id, api string) (*llmservice.Batch, error) {
	b, err := h.Store.FindBatchByID(ctx, team, id)
	if err == nil && b.API != api {
		err = llmservice.Errorf(llmservice.NotFound, "batch not found")
	}
	if llmservice.ErrorKind(err) == llmservice.NotFound {
		return nil, &llmservice.Error{Kind: llmservice.NotFound, Param: "batch_id", Code: "batch_not_found", Message: "No batch found with id '" + id + "'."}
	}
	return b, err
}

// listBatches is GET /v1/batches (limit 1-100, default 20; after).
func (h *Handler) listBatches(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authOpenAI(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), "limit", 20, 1, 100)
	if err != nil {
		return err
	}
	bs, more, err := h.Store.FindBatches(r.Context(), llmservice.BatchFilter{TeamID: p.Team.ID, API: APIOpenAI, After: q.Get("after"), Limit: limit})
	if err != nil {
		return err
	}
	data := make([]batchObject, len(bs))
	for i, b := range bs {
		if data[i], err = h.renderBatch(r.Context(), b); err != nil {
			return err
		}
	}
	return httpx.WriteJSON(w, http.StatusOK, newList(data, more, func(b batchObject) string { return b.ID }))
}

// cancelBatch is POST /v1/batches/{id}/cancel: queued requests are
// cancelled at once, running ones finish; the batch is cancelling until
// they have, then cancelled with whatever results exist.
func (h *Handler) cancelBatch(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authOpenAI(r)
	if err != nil {
		return err
	}
	b, err := h.cancel(r.Context(), p.Team.ID, r.PathValue("id"), APIOpenAI)
	if err != nil {
		return err
	}
	o, err := h.renderBatch(r.Context(), b)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, o)
}

// cancel cancels a batch and, when nothing of it is running, finishes it
// at once so that the answer already shows it cancelled.
func (h *Handler) cancel(ctx context.Context, team, id, api string) (*llmservice.Batch, error) {
	if _, err := h.findBatch(ctx, team, id, api); err != nil {
		return nil, err
	}
	b, err := h.Store.CancelBatch(ctx, team, id)
	if err != nil {
		return nil, err
	}
	if c, err := h.Store.CountTasks(ctx, team, id); err == nil && c.Open() == 0 {
		h.finish(ctx, b)
		if nb, err := h.Store.FindBatchByID(ctx, team, id); err == nil {
			b = nb
		}
	}
	return b, nil
}
