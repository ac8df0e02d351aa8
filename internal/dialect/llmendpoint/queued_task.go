package llmendpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/queue"
)

// rateLimitWait is how long a rate-limited task waits when the refusal
// says nothing more precise.
const rateLimitWait = time.Second

// run answers one queued completion. Billing in the ledger is once per task
// however often it runs (the record's purpose is the task ID on the
// "qcompletions" endpoint, which the ledger keeps once; see
// internal/sqlite usage_job_once), and the credits were charged at enqueue.
// The response cache may answer with the directives the client sent when
// it queued the task (keyed on "qcompletions": queued and synchronous
// completions keep apart entries); a hit gives the charge back in the
// transaction that stores the result.
func (q *Queued) run(ctx context.Context, t *llmservice.Task) (queue.Outcome, error) {
	p, err := q.payload(t)
	if err != nil || p.Request == nil {
		return q.failed(t, p.Credits, "unreadable task"), nil
	}
	pr, err := q.principal(ctx, t.KeyID)
	if err != nil {
		if llmservice.ErrorKind(err) != llmservice.Unauthenticated {
			return queue.Outcome{}, err // the database: try again
		}
		return q.failed(t, p.Credits, llmservice.AsError(err).Message), nil
	}
	call := &gateway.Call{Principal: pr, Endpoint: "qcompletions", Model: p.Model, Purpose: t.ID, Cache: p.Cache.ask()}
	res, err := q.cfg.GW.Chat(ctx, call, p.Request.ChatRequest(p.Model))
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return queue.Outcome{}, err
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
			return queue.Outcome{}, err // retried; giveUp words it
		}
		return q.failed(t, p.Credits, e.Message), nil
	}
	if q.cfg.Flush != nil {
		if err := q.cfg.Flush(ctx); err != nil {
			return queue.Outcome{}, fmt.Errorf("write the task's usage record: %w", err)
		}
	}
	text := ""
	if len(res.Response.Choices) > 0 {
		text = res.Response.Choices[0].Message.Text()
	}
	b, _ := json.Marshal(queuedResult{Result: text, Cache: res.Cache})
	out := queue.Outcome{Result: b}
	if res.Cache == gateway.CacheHit && p.Credits > 0 {
		out.Credit = &llmservice.CreditChange{TeamID: t.TeamID, Amount: p.Credits, Reason: reasonQueuedCacheHit, Ref: t.ID}
	}
	return out, nil
}

// reasonQueuedCacheHit is the credit movement that gives back a queued
// completion's charge when the response cache answered it.
const reasonQueuedCacheHit = "qcompletion_cache_hit"

// payload reads task t's payload. One that does not decode has a charge
// that cannot be read back, so it cannot be refunded: that is logged loudly
// instead of refunding zero in silence.
func (q *Queued) payload(t *llmservice.Task) (queuedPayload, error) {
	p, err := decodePayload(t)
	if err == nil && p.Request == nil {
		err = llmservice.Errorf(llmservice.Internal, "queued completion %s: payload has no request", t.ID)
	}
	if err != nil {
		q.cfg.Log.Error("qcompletion: unreadable task; its credits are not refunded", "task", t.ID, "team", t.TeamID, "err", err)
	}
	return p, err
}

// giveUp fails a task whose hosts kept failing, in the seed's words, and
// refunds it.
func (q *Queued) giveUp(t *llmservice.Task, err error) queue.Outcome {
	p, _ := q.payload(t)
	msg := MsgNoHosts
	if e := llmservice.AsError(err); e.Kind == llmservice.Internal {
		msg = "internal error"
	}
	return q.failed(t, p.Credits, msg)
}

// failed is a failed task's outcome; the credits it was charged come back
// in the same transaction that stores the failure.
func (q *Queued) failed(t *llmservice.Task, credits int64, msg string) queue.Outcome {
	b, _ := json.Marshal(queuedResult{Message: msg})
	out := queue.Outcome{Failed: true, Result: b, Error: msg}
	if credits > 0 {
		out.Credit = &llmservice.CreditChange{TeamID: t.TeamID, Amount: credits, Reason: "qcompletion_refund", Ref: t.ID}
	}
	return out
}

// principal rebuilds the caller of a task from its key (the request that
// queued it is long gone; its IP was checked then).
func (q *Queued) principal(ctx context.Context, keyID string) (*gateway.Principal, error) {
	k, err := q.cfg.Store.FindKeyByID(ctx, keyID)
	if err != nil {
		if llmservice.ErrorKind(err) == llmservice.NotFound {
			return nil, Error(llmservice.Unauthenticated, MsgInvalidKey, "", "the task's API key no longer exists")
		}
		return nil, err
	}
	if !k.Active(time.Now()) {
		return nil, Error(llmservice.Unauthenticated, MsgInvalidKey, "", "the task's API key was revoked or has expired")
	}
	team, err := q.cfg.Store.FindTeamByID(ctx, k.TeamID)
	if err != nil {
		return nil, err
	}
	return &gateway.Principal{Key: k, Team: team}, nil
}
