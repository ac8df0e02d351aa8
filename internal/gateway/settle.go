package gateway

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/tokens"
)

// tally is what a started answer has seen pass, whichever lane carries it:
// the translation lane's chunks or the pass-through lane's raw frames.
type tally interface {
	// reported returns the usage the upstream reported so far, if any.
	reported() (llm.Usage, bool)
	// answer returns the answer's text kept so far, and how many bytes
	// past it were dropped (kept text is bounded; see maxStreamText).
	answer() (text string, dropped int)
}

// settlement settles an answer that outlives the call that started it (a
// stream, or a forwarded body): exactly once, when it is read to its end,
// fails, or is closed first. Both lanes use it, so that the ledger, the
// limits and the budget see one rule whichever lane served the call.
type settlement struct {
	// ctx is the caller's: when it ends, the client left, and the answer
	// settles as a 499 with what was relayed until then.
	ctx    context.Context
	g      *Gateway
	bodies string // the body logging mode
	rec    *llmservice.UsageRecord
	plan   *Plan
	d      *hostpick.Deployment
	adm    *admission
	req    *llm.ChatRequest
	// decode, when req is nil, builds the request of an undecoded
	// pass-through answer (Exchange.Decode): called only for a local
	// count or the body log.
	decode func() (*llm.ChatRequest, error)
	ttft   time.Duration
	cancel context.CancelFunc
	tally  tally

	// Usage is counted locally when the upstream reports none; the count
	// is kept, and redone only when the answer has grown since.
	prompt  int // the request's tokens, -1 until counted
	counted int // the answer size the completion count below is for, -1 for none
	compl   int
	final   *llm.Usage // the usage settled on
	settled bool
	closed  bool
}

func (g *Gateway) newSettlement(ctx context.Context, c *Call, rec *llmservice.UsageRecord, plan *Plan, d *hostpick.Deployment,
	adm *admission, req *llm.ChatRequest, cancel context.CancelFunc, ttft time.Duration) settlement {
	return settlement{ctx: ctx, g: g, bodies: g.logMode(c), rec: rec, plan: plan, d: d, adm: adm, req: req,
		cancel: cancel, ttft: ttft, prompt: -1, counted: -1}
}

// Usage returns what the answer cost in tokens so far: as the upstream
// reported it, or counted locally when it reported none.
func (s *settlement) Usage() llm.Usage {
	if s.final != nil {
		return *s.final
	}
	if u, ok := s.tally.reported(); ok {
		return u
	}
	text, dropped := s.tally.answer()
	if s.prompt < 0 {
		s.prompt = tokens.CountMessages(s.d.Model, s.messages())
	}
	if size := len(text) + dropped; size != s.counted {
		// Past the kept text, tokens are estimated from the length.
		s.compl, s.counted = tokens.Count(s.d.Model, text)+(dropped+3)/4, size
	}
	return llm.Usage{PromptTokens: s.prompt, CompletionTokens: s.compl, Estimated: true}
}

// messages returns the request's messages, decoding them once if need be;
// none if they cannot be decoded.
func (s *settlement) messages() []llm.Message {
	if s.req == nil && s.decode != nil {
		if req, err := s.decode(); err == nil {
			s.req = req
		}
		s.decode = nil
	}
	if s.req == nil {
		return nil
	}
	return s.req.Messages
}

// Cost returns what the answer costs so far, as the ledger prices it.
func (s *settlement) Cost() llmservice.Nanos { return s.g.cost(s.plan, s.d, s.Usage()) }

// settle settles the answer once, given how a read ended: at the answer's
// end (nil or io.EOF) or in failure. It reports the usage and cost settled
// on, and ok when this call settled an answer that ended well.
func (s *settlement) settle(err error) (u llm.Usage, cost llmservice.Nanos, ok bool) {
	if s.settled {
		return llm.Usage{}, 0, false
	}
	s.settled = true
	if errors.Is(err, io.EOF) {
		err = nil
	}
	if err != nil {
		err = clientClosed(s.ctx, err)
	}
	u = s.Usage()
	s.final = &u
	cost = s.g.cost(s.plan, s.d, u)
	s.adm.finish(context.Background(), u, cost, true)
	if s.bodies != llmservice.LogBodiesOff {
		text, _ := s.tally.answer()
		s.g.keepBodies(s.rec, s.bodies, s.messages(), text)
	}
	s.g.record(s.rec, u, cost, s.ttft, err)
	return u, cost, err == nil
}

// close settles an answer the client abandoned before its end, frees what
// the answer held, and closes body. Closing again does nothing.
func (s *settlement) close(body io.Closer) error {
	if s.closed {
		return nil
	}
	s.closed = true
	if !s.settled {
		s.settle(&llmservice.Error{Kind: llmservice.ClientClosed, Code: "client_closed", Message: "The client closed the stream before its end"})
	}
	s.cancel()
	s.g.router.Release(s.d)
	return body.Close()
}
