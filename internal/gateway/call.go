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

// open starts a call: its bounds first (a call over them is refused and
// recorded nowhere), then its record, the observer's view of it, access and
// its plan. A refusal after the bounds is recorded.
func (g *Gateway) open(ctx context.Context, c *Call, stream bool) (*llmservice.UsageRecord, *Plan, error) {
	if err := c.check(); err != nil {
		return nil, nil, err // not recorded: nothing unbounded reaches the ledger
	}
	rec := g.newRecord(c, g.now(), stream)
	g.observeBegin(ctx, rec)
	plan, err := g.begin(c)
	if err != nil {
		return nil, nil, g.fail(rec, err)
	}
	return rec, plan, nil
}

// Chat runs a non-streaming chat call: an exchange that only translates
// (see exchange).
func (g *Gateway) Chat(ctx context.Context, c *Call, req *llm.ChatRequest) (*Result, error) {
	x, ans := Exchange{Chat: req}, Answer{}
	a, err := g.exchange(ctx, c, &x, false, &ans)
	if err != nil {
		return nil, err
	}
	return a.Result, nil
}

// wait bounds the wait for an answer: a whole answer's by the gateway's
// timeout as a deadline over the call, a stream's (or a forwarded
// stream's) until its first frame by a timer, after which the client's
// connection bounds it.
type wait struct {
	ctx    context.Context
	cancel context.CancelFunc
	timer  *time.Timer // nil for a whole answer
}

func (g *Gateway) waitFor(ctx context.Context, stream bool) wait {
	if !stream {
		ctx, cancel := context.WithTimeout(ctx, g.timeout)
		return wait{ctx: ctx, cancel: cancel}
	}
	ctx, cancel := context.WithCancel(ctx)
	return wait{ctx: ctx, cancel: cancel, timer: time.AfterFunc(g.timeout, cancel)}
}

// started stops the first frame's timer: the answer has begun.
func (w *wait) started() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// end frees the wait: the answer is complete or failed.
func (w *wait) end() {
	w.started()
	w.cancel()
}

// flight is a call on its way through the router: what its attempts need
// and what the attempt that answered left, in one allocation: the function
// the router is given escapes, so a closure over locals would move each of
// them to the heap.
type flight struct {
	g    *Gateway
	c    *Call
	w    wait
	n    atomic.Int32 // attempts so far, for the observer
	once func(f *flight, ctx context.Context, pv llm.Provider, d *hostpick.Deployment) error

	// A chat call (exchange): what it asks, when it began (for the time
	// to the first frame), and its answer.
	x      Exchange
	stream bool
	start  time.Time
	raw    *llm.RawResponse
	resp   *llm.ChatResponse
	s      llm.Stream
	first  *llm.Chunk // a stream's, read during routing (a pointer: most calls do not stream)
	ttft   time.Duration

	// An embeddings call.
	embed    *llm.EmbedRequest
	embedded *llm.EmbedResponse
}

// try is one attempt of the call on d: bracketed for the observer, with
// the provider of d (the team's own credentials where it has them).
func (f *flight) try(ctx context.Context, d *hostpick.Deployment) (err error) {
	// The attempt's span hangs off w.ctx, which outlives this function as
	// a stream or a forwarded body does.
	actx := f.g.startAttempt(f.w.ctx, d, &f.n)
	defer func() { f.g.endAttempt(actx, d, err) }()
	pv, err := f.g.provider(ctx, f.c.Principal.Team.ID, d)
	if err != nil {
		return err
	}
	return f.once(f, actx, pv, d)
}

// route calls the plan's deployments through the router (retries,
// fallback) within f.w, each attempt through f.try. Every lane and every
// entry point (Chat, ChatStream, Exchange, Embed) attempts through here,
// so they cannot differ in how a call fails: a failure is settled before
// it is returned (the wait ended, admission released, record written), a
// wait the first frame's timer cut short is an upstream timeout, and a
// client that hung up a 499.
func (g *Gateway) route(ctx context.Context, f *flight, plan *Plan, rec *llmservice.UsageRecord, adm *admission) (hostpick.Outcome, error) {
	out, err := g.router.Do(f.w.ctx, plan.tiers, plan.strategy, f.try)
	g.noteAttempts(rec, plan, out)
	if err == nil {
		return out, nil
	}
	f.w.end()
	if errors.Is(err, context.Canceled) && ctx.Err() == nil {
		err = &llmservice.Error{Kind: llmservice.UpstreamTimeout, Code: "upstream_timeout", Message: "The upstream did not send its first chunk in time", Err: err}
	}
	adm.finish(ctx, llm.Usage{}, 0, false)
	return out, g.fail(rec, clientClosed(ctx, err))
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

// ChatStream starts a streaming chat call: an exchange that only
// translates (see exchange). The first chunk is read before this returns,
// so a failure up to then is retried or falls back, and an error here
// still lets the dialect answer with a plain error status.
func (g *Gateway) ChatStream(ctx context.Context, c *Call, req *llm.ChatRequest) (*StreamResult, error) {
	x, ans := Exchange{Chat: req}, Answer{}
	a, err := g.exchange(ctx, c, &x, true, &ans)
	if err != nil {
		return nil, err
	}
	return a.Stream, nil
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
	adm *admission, req *llm.ChatRequest, cancel context.CancelFunc, ttft time.Duration, s llm.Stream, first *llm.Chunk) *meteredStream {
	m := &meteredStream{settlement: g.newSettlement(ctx, c, rec, plan, d, adm, req, cancel, ttft), s: s, first: first}
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
	rec, plan, err := g.open(ctx, c, false)
	if err != nil {
		return nil, err
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
	f := &flight{g: g, c: c, w: g.waitFor(ctx, false), once: (*flight).embedOnce, embed: req}
	out, err := g.route(ctx, f, plan, rec, adm)
	if err != nil {
		return nil, err
	}
	f.w.end()
	resp := f.embedded
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

// embedOnce asks d for the embeddings.
func (f *flight) embedOnce(ctx context.Context, pv llm.Provider, d *hostpick.Deployment) (err error) {
	e, ok := pv.(llm.Embedder)
	if !ok {
		return llmservice.InvalidParam("model", "provider '%s' does not serve embeddings", d.Instance)
	}
	r := *f.embed
	r.Model = d.Model
	f.embedded, err = e.Embed(ctx, &r)
	return err
}
