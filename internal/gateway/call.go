package gateway

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/tokens"
)

// Call describes one request for admission and for the ledger.
type Call struct {
	Principal *Principal
	Endpoint  string // chat, completions, embeddings
	Model     string // the public name (model or model group) the caller asked for
	Project   string
	Purpose   string
	ClientIP  netip.Addr // zero when unknown (no allowlist check possible)
	// Params names the fields the labels above came from, for the 400
	// that refuses one over its limit.
	Params Params
	// LogBodies is the body logging default of the API that carried the
	// call (StackForDevs promises prompts and responses in its logs), used
	// when neither the team nor the server's configuration chooses one.
	LogBodies string
	// Cache is what the client asked of the response cache; nil when the
	// dialect does not offer the cache for this call.
	Cache *CacheAsk
}

// Served says which deployment answered and after how many attempts.
type Served struct {
	Instance string
	Model    string // upstream model id
	// Public is the catalog or group member name that answered (for a
	// model group: which of its models served the call).
	Public   string
	Attempts int
	Rate     RateInfo
	// Cache is the x-llmservice-cache header's value: hit, miss or bypass
	// when the response cache applies to the call, "" when it is off.
	Cache string
}

// Result is a finished non-streaming call.
type Result struct {
	Served
	Response *llm.ChatResponse
	Usage    llm.Usage
	Cost     llmservice.Nanos
	Latency  time.Duration
}

// begin authorizes a call and resolves its plan.
func (g *Gateway) begin(c *Call) (*Plan, error) {
	if err := g.ledgerRefusal(); err != nil {
		return nil, err
	}
	if err := c.Principal.CheckIP(c.ClientIP); err != nil {
		return nil, err
	}
	plan, err := g.Resolve(c.Model)
	if err != nil {
		return nil, err
	}
	if err := c.Principal.checkAccess(plan); err != nil {
		return nil, err
	}
	return plan, nil
}

// Chat runs a non-streaming chat call.
func (g *Gateway) Chat(ctx context.Context, c *Call, req *llm.ChatRequest) (*Result, error) {
	if err := c.check(); err != nil {
		return nil, err // not recorded: nothing unbounded reaches the ledger
	}
	start := g.now()
	rec := g.newRecord(c, start, false)
	g.observeBegin(ctx, rec)
	plan, err := g.begin(c)
	if err != nil {
		return nil, g.fail(rec, err)
	}
	cc := g.cacheFor(c, plan, func() any { return chatKey(req) })
	if e := cc.lookup(ctx); e != nil && e.Chat != nil {
		s, err := g.serveHit(ctx, c, plan, rec, e, req.Messages)
		if err != nil {
			return nil, err
		}
		return &Result{Served: s, Response: e.Chat, Usage: e.Usage, Latency: g.now().Sub(start)}, nil
	}
	adm, err := g.admit(ctx, c, plan, estimatePrompt(req.Messages), &req.MaxTokens)
	if err != nil {
		return nil, g.failRate(rec, adm, err)
	}
	resp, out, err := run(ctx, g, c, plan, rec, adm, func(ctx context.Context, pv llm.Provider, d *hostpick.Deployment) (*llm.ChatResponse, error) {
		r := *req
		r.Model = d.Model
		return pv.Chat(ctx, &r)
	})
	if err != nil {
		return nil, err
	}
	g.observeFinish(ctx, resp)
	u, cost := g.settleChat(ctx, c, rec, plan, out.Deployment, adm, req, resp)
	sv := served(plan, out, adm)
	if cacheable(resp) {
		cc.keep(ctx, &cacheEntry{Chat: resp, Usage: u, Cost: cost, Instance: sv.Instance, Model: sv.Model, Public: sv.Public})
	}
	sv.Cache = cc.header()
	return &Result{Served: sv, Response: resp, Usage: u, Cost: cost, Latency: g.now().Sub(start)}, nil
}

// run calls the plan's deployments through the router, bounded by the
// gateway's timeout, with the team's own provider credentials where it has
// them. A failure is settled (budget and limits released, record written)
// before it is returned.
func run[T any](ctx context.Context, g *Gateway, c *Call, plan *Plan, rec *llmservice.UsageRecord, adm *admission,
	call func(ctx context.Context, pv llm.Provider, d *hostpick.Deployment) (T, error)) (T, hostpick.Outcome, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	var resp T
	var n atomic.Int32
	out, err := g.router.Do(ctx, plan.tiers, plan.strategy, func(ctx context.Context, d *hostpick.Deployment) (err error) {
		ctx = g.startAttempt(ctx, d, &n)
		defer func() { g.endAttempt(ctx, d, err) }()
		pv, err := g.provider(ctx, c.Principal.Team.ID, d)
		if err != nil {
			return err
		}
		resp, err = call(ctx, pv, d)
		return err
	})
	g.noteAttempts(rec, plan, out)
	if err != nil {
		adm.finish(ctx, llm.Usage{}, 0, false)
		var zero T
		return zero, out, g.fail(rec, clientClosed(parent, err))
	}
	return resp, out, nil
}

// clientClosed turns err into a ClientClosed error (a 499 in the ledger)
// when the caller's own context was cancelled: the client hung up, which
// says nothing about the upstream. The result still matches
// context.Canceled, which queue workers look for.
func clientClosed(ctx context.Context, err error) error {
	if !errors.Is(ctx.Err(), context.Canceled) || llmservice.ErrorKind(err) == llmservice.ClientClosed {
		return err
	}
	return &llmservice.Error{Kind: llmservice.ClientClosed, Code: "client_closed", Message: "The client closed the request before its answer",
		Err: errors.Join(ctx.Err(), err)}
}

func served(plan *Plan, out hostpick.Outcome, adm *admission) Served {
	s := Served{Attempts: len(out.Attempts)}
	if d := out.Deployment; d != nil {
		s.Instance, s.Model = d.Instance, d.Model
		s.Public = plan.targetOf(d).Public
	}
	if adm != nil {
		s.Rate = adm.Rate
	}
	return s
}

// countChat counts tokens locally when upstream reported none.
func countChat(model string, msgs []llm.Message, resp *llm.ChatResponse) llm.Usage {
	u := llm.Usage{PromptTokens: tokens.CountMessages(model, msgs), Estimated: true}
	for _, c := range resp.Choices {
		u.CompletionTokens += tokens.Count(model, c.Message.Text())
		for _, tc := range c.Message.ToolCalls {
			u.CompletionTokens += tokens.Count(model, tc.Name+tc.Arguments)
		}
	}
	return u
}

func (g *Gateway) cost(plan *Plan, d *hostpick.Deployment, u llm.Usage) llmservice.Nanos {
	if d == nil {
		return 0
	}
	if p, ok := plan.targetOf(d).price(g, d); ok {
		return p.Cost(u)
	}
	return 0
}

func (g *Gateway) newRecord(c *Call, start time.Time, stream bool) *llmservice.UsageRecord {
	return &llmservice.UsageRecord{
		ID:             NewTimeID("req_", start),
		Time:           start,
		TeamID:         c.Principal.Team.ID,
		KeyID:          c.Principal.Key.ID,
		Project:        c.Project,
		Endpoint:       c.Endpoint,
		RequestedModel: c.Model,
		Stream:         stream,
		Status:         200,
		Purpose:        c.Purpose,
	}
}

// noteAttempts writes which deployments were tried into the record: the
// served one, the attempt count, and a compact log of each attempt.
func (g *Gateway) noteAttempts(rec *llmservice.UsageRecord, plan *Plan, out hostpick.Outcome) {
	rec.Attempts = len(out.Attempts)
	if d := out.Deployment; d != nil {
		rec.Provider, rec.UpstreamModel = d.Instance, d.Model
	}
	if len(out.Attempts) > 1 {
		var b strings.Builder
		for i, a := range out.Attempts {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(a.DeploymentID)
			if a.Deployment != nil {
				b.WriteByte('/')
				b.WriteString(a.Deployment.Model)
			}
			b.WriteByte('=')
			if a.Err == nil {
				b.WriteString("ok")
			} else {
				b.WriteString(llmservice.AsError(a.Err).Kind.String())
			}
		}
		rec.AttemptLog = b.String()
	}
}

// record completes rec and hands it to the meter.
func (g *Gateway) record(rec *llmservice.UsageRecord, u llm.Usage, cost llmservice.Nanos, ttft time.Duration, err error) {
	if errors.Is(err, errLedgerFull) {
		return // a call refused because its record could not be kept
	}
	rec.PromptTokens, rec.CompletionTokens, rec.TokensEstimated = u.PromptTokens, u.CompletionTokens, u.Estimated
	rec.CacheReadTokens, rec.CacheWriteTokens, rec.CacheWrite1hTokens = u.CachedTokens, u.CacheWriteTokens, u.CacheWrite1hTokens
	rec.ReasoningTokens = u.ReasoningTokens
	rec.Cost = cost
	rec.LatencyMS = int(g.now().Sub(rec.Time).Milliseconds())
	rec.TTFTMS = int(ttft.Milliseconds())
	if err != nil {
		e := llmservice.AsError(err)
		rec.Status = e.Kind.HTTPStatus()
		rec.ErrorType = e.Kind.String()
		if e.Code != "" {
			rec.ErrorType = e.Code
		}
	}
	g.meter.Record(*rec)
	g.observeSettled(rec, u, err)
}

// fail records a call that ended in err and returns err.
func (g *Gateway) fail(rec *llmservice.UsageRecord, err error) error {
	g.record(rec, llm.Usage{}, 0, 0, err)
	return err
}

// failRate is fail for admission refusals; the error carries the limits'
// state for the x-ratelimit headers.
func (g *Gateway) failRate(rec *llmservice.UsageRecord, adm *admission, err error) error {
	g.record(rec, llm.Usage{}, 0, 0, err)
	if adm != nil && (adm.Rate.Requests != nil || adm.Rate.Tokens != nil) {
		return &RateError{Err: err, Rate: adm.Rate}
	}
	return err
}

// RateError carries the rate limit state of a refused call, so the dialect
// can send the x-ratelimit headers with the 429.
type RateError struct {
	Err  error
	Rate RateInfo
}

func (e *RateError) Error() string { return e.Err.Error() }

// ResponseHeaders lets the HTTP layer send the rate limit state with the
// refusal, whatever the dialect.
func (e *RateError) ResponseHeaders() [][2]string { return e.Rate.Headers() }
func (e *RateError) Unwrap() error                { return e.Err }

// StreamResult is a started stream. Reading it to io.EOF or closing it
// settles the call.
type StreamResult struct {
	llm.Stream
	Served
}

// ChatStream starts a streaming chat call. The first chunk is read before
// this returns, so a failure up to then is retried or falls back, and an
// error here still lets the dialect answer with a plain error status.
func (g *Gateway) ChatStream(ctx context.Context, c *Call, req *llm.ChatRequest) (*StreamResult, error) {
	if err := c.check(); err != nil {
		return nil, err // not recorded: nothing unbounded reaches the ledger
	}
	start := g.now()
	rec := g.newRecord(c, start, true)
	g.observeBegin(ctx, rec)
	plan, err := g.begin(c)
	if err != nil {
		return nil, g.fail(rec, err)
	}
	cc := g.cacheFor(c, plan, func() any { return chatKey(req) })
	if e := cc.lookup(ctx); e != nil && e.Chat != nil && len(e.Chat.Choices) == 1 {
		s, err := g.serveHit(ctx, c, plan, rec, e, req.Messages)
		if err != nil {
			return nil, err
		}
		return &StreamResult{Stream: newReplay(e.Chat, e.Usage), Served: s}, nil
	}
	adm, err := g.admit(ctx, c, plan, estimatePrompt(req.Messages), &req.MaxTokens)
	if err != nil {
		return nil, g.failRate(rec, adm, err)
	}
	// The wait for the first chunk is bounded; the rest of the stream is
	// bounded by the client's connection.
	sctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(g.timeout, cancel)
	var (
		s     llm.Stream
		first llm.Chunk
		ttft  time.Duration
	)
	var n atomic.Int32
	out, err := g.router.Do(sctx, plan.tiers, plan.strategy, func(ctx context.Context, d *hostpick.Deployment) (err error) {
		// The attempt's span hangs off sctx, which outlives this function
		// as the stream does.
		actx := g.startAttempt(sctx, d, &n)
		defer func() { g.endAttempt(actx, d, err) }()
		pv, err := g.provider(ctx, c.Principal.Team.ID, d)
		if err != nil {
			return err
		}
		r := *req
		r.Model = d.Model
		st, ch, err := openStream(actx, pv, &r)
		if err != nil {
			return err
		}
		s, first, ttft = st, ch, g.now().Sub(start)
		// The stream stays in flight after fn returns; least-outstanding
		// must count it until it closes.
		g.router.Hold(d)
		return nil
	})
	g.noteAttempts(rec, plan, out)
	if err != nil {
		timer.Stop()
		cancel()
		if errors.Is(err, context.Canceled) && ctx.Err() == nil {
			err = &llmservice.Error{Kind: llmservice.UpstreamTimeout, Code: "upstream_timeout", Message: "The upstream did not send its first chunk in time", Err: err}
		}
		err = clientClosed(ctx, err)
		adm.finish(ctx, llm.Usage{}, 0, false)
		return nil, g.fail(rec, err)
	}
	timer.Stop()
	if ttft <= 0 {
		ttft = time.Nanosecond
	}
	ms := g.newMeteredStream(ctx, c, rec, plan, out.Deployment, adm, req, cancel, ttft, s, first)
	if cc != nil && cc.write {
		ms.tee = &assembler{cc: cc}
	}
	ms.observe(first)
	sv := served(plan, out, adm)
	sv.Cache = cc.header()
	return &StreamResult{Stream: ms, Served: sv}, nil
}

// meteredStream watches a stream go by: usage, and the text needed to count
// tokens when upstream reports none.
type meteredStream struct {
	settlement
	s llm.Stream

	first   *llm.Chunk // read during routing, handed out first
	usage   *llm.Usage
	text    strings.Builder // the first maxStreamText bytes of the answer
	dropped int             // bytes of the answer past maxStreamText
	tee     *assembler      // rebuilds the answer for the response cache
}

func (g *Gateway) newMeteredStream(ctx context.Context, c *Call, rec *llmservice.UsageRecord, plan *Plan, d *hostpick.Deployment,
	adm *admission, req *llm.ChatRequest, cancel context.CancelFunc, ttft time.Duration, s llm.Stream, first llm.Chunk) *meteredStream {
	m := &meteredStream{settlement: g.newSettlement(ctx, c, rec, plan, d, adm, req, cancel, ttft), s: s, first: &first}
	m.tally = m
	return m
}

func (m *meteredStream) observe(ch llm.Chunk) {
	if m.tee != nil {
		m.tee.add(&ch)
	}
	if ch.Usage != nil {
		u := *ch.Usage
		m.usage = &u
	}
	m.keep(ch.Text)
	m.g.observeFinishReason(m.ctx, ch.FinishReason)
	for _, tc := range ch.ToolCalls {
		m.keep(tc.Name)
		m.keep(tc.Arguments)
	}
}

// maxStreamText bounds the answer a stream keeps for counting its tokens
// (when upstream reports none) and for the body log: a stream must not hold
// its whole answer, however long it runs.
const maxStreamText = 1 << 20

// keep adds s to the kept text, or counts it as dropped past the bound.
func (m *meteredStream) keep(s string) {
	if room := maxStreamText - m.text.Len(); len(s) > room {
		m.text.WriteString(s[:max(room, 0)])
		m.dropped += len(s) - max(room, 0)
		return
	}
	m.text.WriteString(s)
}

func (m *meteredStream) Recv() (llm.Chunk, error) {
	if m.first != nil {
		ch := *m.first
		m.first = nil
		return ch, nil
	}
	ch, err := m.s.Recv()
	if err != nil {
		if u, cost, ok := m.settle(err); ok && m.tee != nil {
			m.tee.keep(m, u, cost)
		}
		return ch, err
	}
	m.observe(ch)
	return ch, nil
}

func (m *meteredStream) reported() (llm.Usage, bool) {
	if m.usage != nil {
		return *m.usage, true
	}
	return llm.Usage{}, false
}

func (m *meteredStream) answer() (string, int) { return m.text.String(), m.dropped }

// Close settles a stream the client abandoned before its end.
func (m *meteredStream) Close() error { return m.close(m.s) }

// StreamCost returns what a stream started by ChatStream costs so far, as
// the ledger prices it.
func StreamCost(s *StreamResult) llmservice.Nanos {
	if m, ok := s.Stream.(*meteredStream); ok {
		return m.Cost()
	}
	return 0
}

// StreamUsage returns the usage of a stream started by ChatStream.
func StreamUsage(s *StreamResult) llm.Usage {
	if m, ok := s.Stream.(interface{ Usage() llm.Usage }); ok {
		return m.Usage()
	}
	return llm.Usage{}
}

// EmbedResult is a finished embeddings call.
type EmbedResult struct {
	Served
	Response *llm.EmbedResponse
	Usage    llm.Usage
}

// Embed runs an embeddings call.
func (g *Gateway) Embed(ctx context.Context, c *Call, req *llm.EmbedRequest) (*EmbedResult, error) {
	if err := c.check(); err != nil {
		return nil, err // not recorded: nothing unbounded reaches the ledger
	}
	start := g.now()
	rec := g.newRecord(c, start, false)
	g.observeBegin(ctx, rec)
	plan, err := g.begin(c)
	if err != nil {
		return nil, g.fail(rec, err)
	}
	cc := g.cacheFor(c, plan, func() any { return embedKey(req) })
	if e := cc.lookup(ctx); e != nil && e.Embed != nil {
		s, err := g.serveHit(ctx, c, plan, rec, e, nil)
		if err != nil {
			return nil, err
		}
		return &EmbedResult{Served: s, Response: e.Embed, Usage: e.Usage}, nil
	}
	var est int64
	for _, in := range req.Input {
		est += int64(tokens.Estimate(in))
	}
	adm, err := g.admit(ctx, c, plan, est, nil)
	if err != nil {
		return nil, g.failRate(rec, adm, err)
	}
	resp, out, err := run(ctx, g, c, plan, rec, adm, func(ctx context.Context, pv llm.Provider, d *hostpick.Deployment) (*llm.EmbedResponse, error) {
		e, ok := pv.(llm.Embedder)
		if !ok {
			return nil, llmservice.InvalidParam("model", "provider '%s' does not serve embeddings", d.Instance)
		}
		r := *req
		r.Model = d.Model
		return e.Embed(ctx, &r)
	})
	if err != nil {
		return nil, err
	}
	u := resp.Usage
	if !resp.HasUsage {
		u = llm.Usage{Estimated: true}
		for _, in := range req.Input {
			u.PromptTokens += tokens.Count(out.Deployment.Model, in)
		}
	}
	cost := g.cost(plan, out.Deployment, u)
	adm.finish(ctx, u, cost, true)
	g.record(rec, u, cost, 0, nil)
	sv := served(plan, out, adm)
	if len(resp.Vectors) == len(req.Input) {
		cc.keep(ctx, &cacheEntry{Embed: resp, Usage: u, Cost: cost, Instance: sv.Instance, Model: sv.Model, Public: sv.Public})
	}
	sv.Cache = cc.header()
	return &EmbedResult{Served: sv, Response: resp, Usage: u}, nil
}
