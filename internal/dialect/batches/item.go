package batches

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/openaihttp"
	"github.com/llmservice/llmservice/internal/queue"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// itemResult is what a finished item stores: OpenAI's per-request output
// (https://platform.openai.com/docs/api-reference/batch/request-output)
// less the id and custom_id, which the task row holds, plus the tokens for
// the batch's usage totals.
type itemResult struct {
	StatusCode int             `json:"status_code"`
	RequestID  string          `json:"request_id"`
	Body       json.RawMessage `json:"body"`
	// Text is the answer's text, for StackForDevs' results.
	Text             string `json:"text,omitempty"`
	PromptTokens     int    `json:"prompt_tokens,omitempty"`
	CompletionTokens int    `json:"completion_tokens,omitempty"`
}

// rateLimitWait is how long a rate-limited item waits when the refusal
// says nothing more precise.
const rateLimitWait = time.Second

// runItem runs one request of a batch.
//
// Exactly-once billing: the usage record of the call carries the task ID
// as its purpose on a batch endpoint, and the ledger keeps one successful
// record per such purpose (internal/sqlite usage_job_once). The record is
// flushed to the ledger before the result is stored, so:
//   - a crash before the flush loses the record, and the item runs (and is
//     billed) again;
//   - a crash between the flush and the result leaves a record; the item
//     runs again and its second record is dropped;
//   - a lease that expired mid-call lets two workers call upstream, but the
//     ledger keeps one record and the completion keeps one result.
func (h *Handler) runItem(ctx context.Context, t *llmservice.Task) (queue.Outcome, error) {
	var p itemPayload
	if err := json.Unmarshal(t.Payload, &p); err != nil {
		return failedItem(t, llmservice.Errorf(llmservice.Internal, "unreadable batch item: %v", err)), nil
	}
	req, err := decodeRequest(p.URL, p.Body)
	if err != nil { // validated at creation; only a format change lands here
		return failedItem(t, err), nil
	}
	pr, err := h.principal(ctx, t.KeyID)
	if err != nil {
		return h.callFailed(t, err)
	}
	call := &gateway.Call{Principal: pr, Endpoint: endpoints[p.URL], Model: req.Model, Project: p.Project, Purpose: t.ID, LogBodies: p.LogBodies}
	var res itemResult
	if req.Embed != nil {
		out, err := h.GW.Embed(ctx, call, req.Embed)
		if err != nil {
			return h.callFailed(t, err)
		}
		res = embedResult(req.Model, out)
	} else {
		out, err := h.GW.Chat(ctx, call, req.Chat)
		if err != nil {
			return h.callFailed(t, err)
		}
		res = chatResult(p.URL, req.Model, t.ID, h.now().Unix(), out)
	}
	res.StatusCode, res.RequestID = 200, requestID(t)
	if h.Flush != nil {
		if err := h.Flush(ctx); err != nil {
			return queue.Outcome{}, fmt.Errorf("write the item's usage record: %w", err)
		}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return queue.Outcome{}, err
	}
	return queue.Outcome{Result: b}, nil
}

func chatResult(url, model, id string, created int64, out *gateway.Result) itemResult {
	resp := *out.Response
	resp.Usage = out.Usage
	var body any
	if url == "/v1/completions" {
		c := wire.Completion{ID: "cmpl-" + id, Object: "text_completion", Created: created, Model: model, Usage: wire.UsageFromLLM(out.Usage)}
		for _, ch := range resp.Choices {
			fr := ch.FinishReason
			c.Choices = append(c.Choices, wire.CompletionChoice{Text: ch.Message.Text(), Index: ch.Index, Logprobs: json.RawMessage("null"), FinishReason: &fr})
		}
		body = c
	} else {
		c := wire.CompletionFromLLM(&resp, "chatcmpl-"+id, model)
		c.Created = created
		body = c
	}
	b, _ := json.Marshal(body)
	r := itemResult{Body: b, PromptTokens: out.Usage.PromptTokens, CompletionTokens: out.Usage.CompletionTokens}
	if len(resp.Choices) > 0 {
		r.Text = resp.Choices[0].Message.Text()
	}
	return r
}

func embedResult(model string, out *gateway.EmbedResult) itemResult {
	e := wire.EmbeddingResponse{Object: "list", Model: model, Data: make([]wire.Embedding, len(out.Response.Vectors)),
		Usage: wire.EmbedUsage{PromptTokens: out.Usage.PromptTokens, TotalTokens: out.Usage.PromptTokens}}
	for i, v := range out.Response.Vectors {
		raw, _ := json.Marshal(v)
		e.Data[i] = wire.Embedding{Object: "embedding", Index: i, Embedding: raw}
	}
	b, _ := json.Marshal(e)
	return itemResult{Body: b, PromptTokens: out.Usage.PromptTokens}
}

// callFailed sorts a failed call: a rate limit waits (without using an
// attempt), a transient upstream failure is retried with backoff, and
// anything else is the item's answer, as the synchronous API would give it.
func (h *Handler) callFailed(t *llmservice.Task, err error) (queue.Outcome, error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return queue.Outcome{}, err // shutdown or a lost lease: the runner decides
	}
	e := llmservice.AsError(err)
	switch e.Kind {
	case llmservice.RateLimited:
		wait := e.RetryAfter
		if wait <= 0 {
			wait = rateLimitWait
		}
		return queue.Outcome{}, queue.RateLimited(wait, err)
	case llmservice.Upstream, llmservice.UpstreamTimeout, llmservice.Unavailable, llmservice.Internal:
		if e.RetryAfter > 0 {
			return queue.Outcome{}, queue.RetryAfter(e.RetryAfter, err)
		}
		return queue.Outcome{}, err
	}
	return failedItem(t, err), nil
}

// requestID names an item's call in its output line.
func requestID(t *llmservice.Task) string { return "req_" + t.ID }

// giveUpItem is the answer of an item whose transient failures outlasted
// its attempts: the last error, as the synchronous API would have sent it.
func (h *Handler) giveUpItem(t *llmservice.Task, err error) queue.Outcome {
	return failedItem(t, err)
}

// failedItem renders err as an HTTP answer in OpenAI's error shape.
func failedItem(t *llmservice.Task, err error) queue.Outcome {
	e := llmservice.AsError(err)
	body, _ := json.Marshal(openaihttp.ErrorBody(e))
	res := itemResult{StatusCode: e.Kind.HTTPStatus(), RequestID: requestID(t), Body: body}
	b, _ := json.Marshal(res)
	return queue.Outcome{Failed: true, Result: b, Error: e.Message}
}

// itemFinished finishes the batch once its last item is done.
func (h *Handler) itemFinished(ctx context.Context, t *llmservice.Task, _ llmservice.TaskState) {
	open, err := h.Store.GroupOpen(ctx, t.TeamID, t.Group)
	if err != nil || open {
		return // the sweeper finishes what this misses
	}
	b, err := h.Store.FindBatchByID(ctx, t.TeamID, t.Group)
	if err != nil {
		h.log().Error("batches: reading a batch to finish it failed", "batch", t.Group, "err", err)
		return
	}
	h.finish(ctx, b)
}
