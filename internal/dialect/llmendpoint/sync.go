package llmendpoint

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
)

// Chunk is one line of a streamed answer.
type Chunk struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// complete serves POST /api/v1/completions. The seed's cost is charged
// before the call, so that a team cannot spend credits it does not have by
// calling in parallel, and refunded when the call fails. The response
// cache may answer (the request holds the whole conversation); a hit is
// known only once the gateway answers, so its charge is given back then,
// in full: a hit costs no credits, but the balance must cover the request.
func (h *Handler) complete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := Authenticate(ctx, h.GW, r)
	if err != nil {
		return err
	}
	req, err := DecodeCompletion(w, r, h.BodyLimit)
	if err != nil {
		return err
	}
	ask, err := cacheAsk(r)
	if err != nil {
		return err
	}
	credits, err := req.Credits()
	if err != nil {
		return err
	}
	ref := gateway.NewID("cmpl_")
	if err := h.charge(ctx, p.Team.ID, credits, ref); err != nil {
		return err
	}
	model := ModelFor(h.GW, req.Model)
	call := &gateway.Call{Principal: p, Endpoint: "completions", Model: model, ClientIP: httpx.ClientIP(ctx), Cache: ask}
	lr := req.ChatRequest(model)
	if req.Stream {
		s, err := h.GW.ChatStream(ctx, call, lr)
		if err != nil {
			h.refund(ctx, p.Team.ID, credits, ref, "refund")
			return err
		}
		if s.Cache == gateway.CacheHit {
			// A replay cannot fail upstream: nothing is left to refund.
			h.refund(ctx, p.Team.ID, credits, ref, reasonCacheHit)
			credits = 0
		}
		if err := h.stream(w, s); err != nil {
			h.refund(ctx, p.Team.ID, credits, ref, "refund")
		}
		return nil
	}
	res, err := h.GW.Chat(ctx, call, lr)
	if err != nil {
		h.refund(ctx, p.Team.ID, credits, ref, "refund")
		return err
	}
	if res.Cache == gateway.CacheHit {
		h.refund(ctx, p.Team.ID, credits, ref, reasonCacheHit)
	}
	text := ""
	if len(res.Response.Choices) > 0 {
		text = res.Response.Choices[0].Message.Text()
	}
	setCacheHeader(w, res.Served)
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "response": text})
}

// reasonCacheHit is the credit movement that gives back a synchronous
// completion's charge when the response cache answered it.
const reasonCacheHit = "cache_hit"

// cacheAsk reads the client's response cache directives; a bad
// x-llmservice-cache-ttl is 400 in the seed's words.
func cacheAsk(r *http.Request) (*gateway.CacheAsk, error) {
	ask, err := gateway.ParseCacheAsk(r.Header.Get)
	if err != nil {
		e := llmservice.AsError(err)
		return nil, Error(llmservice.Invalid, MsgInvalidRequest, e.Param, e.Message)
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

func (h *Handler) charge(ctx context.Context, team string, credits int64, ref string) error {
	if credits <= 0 {
		return nil
	}
	if _, err := h.Credits.AddCredits(ctx, team, -credits, "completion", ref); err != nil {
		if llmservice.ErrorKind(err) == llmservice.PaymentRequired {
			return Error(llmservice.PaymentRequired, MsgNoCredits, "", fmt.Sprintf("this request needs %d credits", credits))
		}
		return err
	}
	return nil
}

// refund gives back what a failed call (reason "refund") or a cache hit
// (reasonCacheHit) was charged. It runs even when the client has gone: the
// credits are the team's either way.
func (h *Handler) refund(ctx context.Context, team string, credits int64, ref, reason string) {
	if credits <= 0 {
		return
	}
	if _, err := h.Credits.AddCredits(context.WithoutCancel(ctx), team, credits, reason, ref); err != nil {
		h.Log.Error("refund of a completion failed", "team", team, "credits", credits, "ref", ref, "reason", reason, "err", err)
	}
}

// stream writes the answer as newline-delimited {"role","content"} chunks,
// each flushed as it comes. A failure after the first chunk cannot change
// the status any more: it ends the stream with the seed's error line
// {"success": false, "message": ...}, and is returned so that the caller
// refunds. A client that leaves is not a failure: what it was sent is paid.
func (h *Handler) stream(w http.ResponseWriter, s *gateway.StreamResult) error {
	defer s.Close()
	setCacheHeader(w, s.Served)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	failed, _ := httpx.RelayChunks(s, func(ch *llm.Chunk) error {
		if ch.Text == "" {
			return nil
		}
		return httpx.NDJSON(w, Chunk{Role: "assistant", Content: ch.Text})
	})
	if failed == nil {
		return nil // the end, or the client went away; Close settles the call
	}
	e := llmservice.AsError(failed)
	if e.Code == "client_closed" || errors.Is(failed, context.Canceled) {
		return nil
	}
	msg := MsgNoHosts
	if e.Kind == llmservice.Internal {
		msg = "internal error"
	}
	_ = httpx.NDJSON(w, map[string]any{"success": false, "message": msg})
	return failed
}
