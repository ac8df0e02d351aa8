package jobs

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
)

// callResponse answers POST /api/jobs/{job_id}/llm-call, with exactly the
// seed's fields.
type callResponse struct {
	CallID   string       `json:"call_id"`
	Response callAnswer   `json:"response"`
	Metadata callMetadata `json:"metadata"`
}

type callAnswer struct {
	Content      string `json:"content"`
	FinishReason string `json:"finish_reason"`
}

type callMetadata struct {
	TokensUsed int    `json:"tokens_used"`
	LatencyMS  int64  `json:"latency_ms"`
	ModelGroup string `json:"model_group"`
}

// prepared is an llm-call that passed every check of this API and is ready
// for the gateway.
type prepared struct {
	job  *llmservice.CreditJob
	req  *CallRequest
	call *gateway.Call
}

// prepare authenticates, validates and checks the job and the group, in
// FastAPI's order: 401, then 422, then what the handler finds (404, 403,
// 409, and 422 again for a model group that does not exist).
func (h *Handler) prepare(w http.ResponseWriter, r *http.Request) (*prepared, error) {
	p, err := h.authenticate(r)
	if err != nil {
		return nil, err
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return nil, err
	}
	req, err := DecodeCallRequest(body)
	if err != nil {
		return nil, err
	}
	ask, err := cacheAsk(r) // a header: validated with the body, as FastAPI does
	if err != nil {
		return nil, err
	}
	j, err := h.openJob(r.Context(), p, r.PathValue("job_id"))
	if err != nil {
		return nil, err
	}
	// The field names a model group, so a model name or a typo is refused
	// here rather than resolved by the gateway as a plain model.
	if _, ok := h.GW.ModelGroup(req.ModelGroup); !ok {
		var c checker
		c.add([]any{"body", "model_group"}, "model group '"+req.ModelGroup+"' does not exist", "value_error.model_group.not_found",
			map[string]any{"model_group": req.ModelGroup})
		return nil, c.err()
	}
	return &prepared{job: j, req: req, call: &gateway.Call{Principal: p, Endpoint: "chat", Model: req.ModelGroup,
		Purpose: req.Purpose, ClientIP: httpx.ClientIP(r.Context()), Params: gateway.Params{Model: "model_group", Purpose: "purpose"},
		Cache: ask}}, nil
}

// cacheAsk reads the client's response cache directives. The cache may
// answer a job's calls: each carries its whole conversation, and the job
// only groups them (a hit is a call of the job that cost nothing). A bad
// x-llmservice-cache-ttl is a validation error of the header, in
// FastAPI's shape.
func cacheAsk(r *http.Request) (*gateway.CacheAsk, error) {
	ask, err := gateway.ParseCacheAsk(r.Header.Get)
	if err != nil {
		var c checker
		e := llmservice.AsError(err)
		c.add([]any{"header", e.Param}, e.Message, "value_error", nil)
		return nil, c.err()
	}
	return ask, nil
}

// setCacheHeader says whether the response cache answered, when it
// applied to the call.
func setCacheHeader(w http.ResponseWriter, s gateway.Served) {
	if s.Cache != "" {
		w.Header().Set("X-Llmservice-Cache", s.Cache)
	}
}

func (h *Handler) call(w http.ResponseWriter, r *http.Request) error {
	pc, err := h.prepare(w, r)
	if err != nil {
		return err
	}
	start := h.now()
	res, err := h.GW.Chat(r.Context(), pc.call, pc.req.ToLLM())
	if err != nil {
		h.recordFailure(r.Context(), pc, false, start, err)
		return err
	}
	ans := callAnswer{FinishReason: llm.FinishStop}
	if len(res.Response.Choices) > 0 {
		c := res.Response.Choices[0]
		ans.Content = c.Message.Text()
		if c.FinishReason != "" {
			ans.FinishReason = c.FinishReason
		}
	}
	model := servedName(res.Served)
	jc := h.jobCall(pc, false, start)
	jc.Model, jc.PromptTokens, jc.CompletionTokens, jc.Cost = model, res.Usage.PromptTokens, res.Usage.CompletionTokens, res.Cost
	jc.LatencyMS = int(res.Latency.Milliseconds())
	h.record(r.Context(), jc)
	setCacheHeader(w, res.Served)
	return httpx.WriteJSON(w, http.StatusOK, callResponse{CallID: jc.ID, Response: ans,
		Metadata: callMetadata{TokensUsed: res.Usage.Total(), LatencyMS: res.Latency.Milliseconds(), ModelGroup: pc.req.ModelGroup}})
}

func (h *Handler) jobCall(pc *prepared, stream bool, start time.Time) *llmservice.CreditJobCall {
	return &llmservice.CreditJobCall{ID: uuid.NewString(), JobID: pc.job.ID, TeamID: pc.job.TeamID, ModelGroup: pc.req.ModelGroup,
		Purpose: pc.req.Purpose, Stream: stream, CreatedAt: start.UTC().Truncate(time.Millisecond)}
}

// attempted reports whether err ended a call that reached a model, so that
// it belongs in the job's calls: refusals (limits, permissions, budgets)
// ran nothing and are not calls of the job.
func attempted(err error) bool {
	switch llmservice.ErrorKind(err) {
	case llmservice.Upstream, llmservice.UpstreamTimeout, llmservice.Unavailable, llmservice.Internal, llmservice.ClientClosed:
		return true
	}
	return false
}

// recordFailure keeps a failed call in the job, so that failed_calls and
// the call list show it.
func (h *Handler) recordFailure(ctx context.Context, pc *prepared, stream bool, start time.Time, err error) {
	if !attempted(err) {
		return
	}
	jc := h.jobCall(pc, stream, start)
	jc.LatencyMS = int(h.now().Sub(start).Milliseconds())
	jc.Error = failureText(llmservice.AsError(err))
	h.record(ctx, jc)
}

// record stores a job call. The answer has been produced (and, for a
// stream, sent) by then: failing the request would lose it while the usage
// ledger still has the call, so a store error is logged, not returned. The
// write outlives a client that went away.
func (h *Handler) record(ctx context.Context, jc *llmservice.CreditJobCall) {
	if err := h.Jobs.AddCreditJobCall(context.WithoutCancel(ctx), jc); err != nil && h.Log != nil {
		h.Log.Error("record job call", "job_id", jc.JobID, "call_id", jc.ID, "err", err)
	}
}
