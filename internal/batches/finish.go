package batches

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/outage"
)

// outputLine is one line of an output or error file.
// https://platform.openai.com/docs/api-reference/batch/request-output
type outputLine struct {
	ID       string        `json:"id"`
	CustomID string        `json:"custom_id"`
	Response *lineResponse `json:"response"`
	Error    *lineError    `json:"error"`
}

type lineResponse struct {
	StatusCode int             `json:"status_code"`
	RequestID  string          `json:"request_id"`
	Body       json.RawMessage `json:"body"`
}

// lineError is a request that got no HTTP answer (cancelled, expired).
type lineError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// unanswered explains a request that never ran, by its task's error.
var unanswered = map[string]lineError{
	"batch_cancelled": {Code: "batch_cancelled", Message: "This request was not executed because the batch was cancelled."},
	"batch_expired":   {Code: "batch_expired", Message: "This request could not be executed before the completion window expired."},
}

// finalStatus is where an open batch ends once no item is open.
func finalStatus(b *llmservice.Batch) llmservice.BatchStatus {
	switch {
	case !b.CancellingAt.IsZero():
		return llmservice.BatchCancelled
	case !b.ExpiredAt.IsZero():
		return llmservice.BatchExpired
	}
	return llmservice.BatchCompleted
}

// finish ends a batch whose items are all done. Several callers may race
// here (the last items' workers, the sweeper): FinishBatch lets one win,
// and the others' Conflict is expected.
func (h *Handler) finish(ctx context.Context, b *llmservice.Batch) {
	if !b.Status.Open() {
		return
	}
	tasks, err := h.Store.FindTasks(ctx, llmservice.TaskFilter{TeamID: b.TeamID, Group: b.ID, AfterSeq: -1})
	if err != nil {
		h.log().Error("batches: reading a batch's results failed", "batch", b.ID, "err", err)
		return
	}
	fin := llmservice.BatchFinish{Status: finalStatus(b)}
	var out, errs bytes.Buffer
	for _, t := range tasks {
		if t.State.Open() {
			return // not done yet
		}
		line, failed, res := renderLine(t)
		fin.InputTokens += int64(res.PromptTokens)
		fin.OutputTokens += int64(res.CompletionTokens)
		if b.API != APIOpenAI {
			continue
		}
		if failed {
			errs.Write(line)
		} else {
			out.Write(line)
		}
	}
	now := h.now()
	if out.Len() > 0 {
		fin.OutputFileID = newFileID()
		fin.Files = append(fin.Files, &llmservice.File{ID: fin.OutputFileID, TeamID: b.TeamID, Purpose: "batch_output",
			Filename: "batch_" + b.ID + "_output.jsonl", Content: out.Bytes(), CreatedAt: now})
	}
	if errs.Len() > 0 {
		fin.ErrorFileID = newFileID()
		fin.Files = append(fin.Files, &llmservice.File{ID: fin.ErrorFileID, TeamID: b.TeamID, Purpose: "batch_output",
			Filename: "batch_" + b.ID + "_error.jsonl", Content: errs.Bytes(), CreatedAt: now})
	}
	if b.WebhookURL != "" {
		fin.Webhook = h.webhookTask(b, fin.Status)
	}
	if _, err := h.Store.FinishBatch(ctx, b.ID, fin); err != nil {
		if llmservice.ErrorKind(err) != llmservice.Conflict {
			h.log().Error("batches: finishing a batch failed", "batch", b.ID, "err", err)
		}
		return
	}
	if fin.Webhook != nil {
		h.notify()
	}
}

// renderLine is a finished item's line of the output (failed=false) or
// error file, and its stored result.
func renderLine(t *llmservice.Task) (line []byte, failed bool, res itemResult) {
	ol := outputLine{ID: t.ID, CustomID: t.Key}
	switch {
	case len(t.Result) > 0 && json.Unmarshal(t.Result, &res) == nil:
		ol.Response = &lineResponse{StatusCode: res.StatusCode, RequestID: res.RequestID, Body: res.Body}
		failed = t.State != llmservice.TaskSucceeded || res.StatusCode >= 400
	case t.State == llmservice.TaskCancelled:
		e, ok := unanswered[t.Error]
		if !ok {
			e = unanswered["batch_cancelled"]
		}
		ol.Error, failed = &e, true
	default:
		ol.Error, failed = &lineError{Code: "internal_error", Message: "The request failed: " + t.Error}, true
	}
	b, _ := json.Marshal(ol)
	return append(b, '\n'), failed, res
}

func newFileID() string { return "file-" + rand.Text() }

// Sweep finishes batches whose last item was done by a worker that died
// before finishing the batch, and expires batches past their completion
// window. It runs until ctx ends.
func (h *Handler) Sweep(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	// A sweep that cannot read the store is logged once per outage.
	db := h.Outages.Tracker("batches sweep", "database", h.log())
	for {
		h.sweepOnce(ctx, db)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (h *Handler) sweepOnce(ctx context.Context, db *outage.Tracker) {
	bs, err := h.Store.FindBatchesToFinish(ctx, h.now())
	if err != nil {
		if ctx.Err() == nil {
			db.Fail(err, "batches are swept again every interval")
		}
		return
	}
	db.OK()
	for _, b := range bs {
		if !b.ExpiresAt.IsZero() && !h.now().Before(b.ExpiresAt) && b.ExpiredAt.IsZero() {
			if err := h.Store.ExpireBatch(ctx, b.ID); err != nil {
				h.log().Error("batches: expiring a batch failed", "batch", b.ID, "err", err)
				continue
			}
			if b, err = h.Store.FindBatchByID(ctx, b.TeamID, b.ID); err != nil {
				continue
			}
		}
		if c, err := h.Store.CountTasks(ctx, b.TeamID, b.ID); err == nil && c.Open() == 0 {
			h.finish(ctx, b)
		}
	}
}
