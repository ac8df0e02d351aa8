package gateway

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/tokens"
)

// Exchange is a call a dialect can have served in either lane: Raw is the
// client's request in its own protocol, Chat the same request decoded into
// the canonical types. Each attempt takes the pass-through lane when its
// provider forwards Raw's protocol, and the translation lane otherwise, so
// a fallback to another family simply translates.
//
// A dialect that reads Raw in one pass may leave Chat nil and give Decode,
// Prompt and MaxTokens instead: Chat is then built only when something
// needs it (an attempt that translates, the response cache, a local token
// count, the body log), and a plan that no deployment can forward is served
// by Chat and ChatStream as if the dialect had decoded it.
type Exchange struct {
	Raw  *llm.RawRequest
	Chat *llm.ChatRequest
	// Cache, when set, offers the response cache for the call (with
	// Call.Cache): see RawCache.
	Cache RawCache
	// Decode builds Chat from Raw; the request has been read by then, so
	// it fails only on a dialect's bug.
	Decode func() (*llm.ChatRequest, error)
	// Prompt is the admission estimate of the prompt, as estimatePrompt
	// would compute it from Chat's messages.
	Prompt int64
	// MaxTokens is Chat's MaxTokens; admission may lower it.
	MaxTokens *int
}

// chat returns Chat, decoding it the first time it is needed, with the
// answer length admission allowed.
func (x *Exchange) chat() (*llm.ChatRequest, error) {
	if x.Chat != nil {
		return x.Chat, nil
	}
	req, err := x.Decode()
	if err != nil {
		return nil, err
	}
	req.MaxTokens = x.MaxTokens
	x.Chat = req
	return req, nil
}

// messages returns Chat's messages, or none if it cannot be decoded.
func (x *Exchange) messages() []llm.Message {
	req, err := x.chat()
	if err != nil {
		return nil
	}
	return req.Messages
}

// Answer is a started call. Exactly one of Raw, Result and Stream is set:
// Raw when the pass-through lane served it, Result or Stream (as
// Chat.Stream asked) when the translation lane did.
type Answer struct {
	Served
	Raw    *RawAnswer
	Result *Result
	Stream *StreamResult
}

// RawAnswer is an upstream answer in the client's protocol. Reading Body
// to its end, or closing it, settles the call.
type RawAnswer struct {
	Status int
	Header map[string][]string
	Body   io.ReadCloser
}

// Exchange runs a call in the lane each attempt's provider allows. Limits,
// budgets, access, routing and settlement are those of Chat and
// ChatStream.
func (g *Gateway) Exchange(ctx context.Context, c *Call, x *Exchange) (*Answer, error) {
	req := x.Chat
	stream, prompt, maxTokens := x.Raw != nil && x.Raw.Stream, x.Prompt, &x.MaxTokens
	if req == nil {
		if err := c.check(); err != nil {
			return nil, err // not recorded: nothing unbounded reaches the ledger
		}
		if !g.mayForward(c, x) {
			return g.translateAll(ctx, c, x)
		}
	} else {
		stream, prompt, maxTokens = req.Stream, estimatePrompt(req.Messages), &req.MaxTokens
	}
	start := g.now()
	rec := g.newRecord(c, start, stream)
	g.observeBegin(ctx, rec)
	plan, err := g.begin(c)
	if err != nil {
		return nil, g.fail(rec, err)
	}
	cc := g.laneCacheFor(c, plan, x)
	if e := cc.lookup(ctx); e != nil {
		if ans, ok, err := g.laneHit(ctx, c, plan, rec, x, e); ok {
			return ans, err
		}
		cc.state = CacheMiss
	}
	asked := *maxTokens
	adm, err := g.admit(ctx, c, plan, prompt, maxTokens)
	if err != nil {
		return nil, g.failRate(rec, adm, err)
	}
	if x.Raw != nil && *maxTokens != asked {
		x.Raw.MaxTokens = *maxTokens // a budget capped the answer
	}
	// The wait for the answer's first frame is bounded; a stream's rest is
	// bounded by the client's connection, a whole answer's by the timeout,
	// as a deadline, so that it fails as Chat's does.
	sctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(g.timeout, cancel)
	if !stream {
		timer.Stop()
		sctx, cancel = context.WithTimeout(ctx, g.timeout)
	}
	var (
		raw    *llm.RawResponse
		resp   *llm.ChatResponse
		s      llm.Stream
		first  llm.Chunk
		ttft   time.Duration
		family string
	)
	var n atomic.Int32
	out, err := g.router.Do(sctx, plan.tiers, plan.strategy, func(ctx context.Context, d *hostpick.Deployment) (err error) {
		// The attempt's span hangs off sctx, which outlives this function
		// as a stream or a forwarded body does.
		actx := g.startAttempt(sctx, d, &n)
		defer func() { g.endAttempt(actx, d, err) }()
		pv, err := g.provider(ctx, c.Principal.Team.ID, d)
		if err != nil {
			return err
		}
		if fw, ok := pv.(llm.Forwarder); ok && x.Raw != nil && fw.Forwards(x.Raw.Protocol) {
			r, err := fw.Forward(actx, x.Raw, d.Model)
			if err != nil {
				return err
			}
			raw, ttft = r, g.now().Sub(start)
			g.router.Hold(d)
			return nil
		}
		req, err := x.chat()
		if err != nil {
			return err
		}
		family = g.instances[d.Instance].Family
		r := translated(req, d.Model, family)
		if !req.Stream {
			resp, err = pv.Chat(actx, r)
			return err
		}
		st, ch, err := openStream(actx, pv, r)
		if err != nil {
			return err
		}
		s, first, ttft = st, ch, g.now().Sub(start)
		g.router.Hold(d)
		return nil
	})
	g.noteAttempts(rec, plan, out)
	if err != nil {
		timer.Stop()
		cancel()
		if errors.Is(err, context.Canceled) && ctx.Err() == nil {
			err = &llmservice.Error{Kind: llmservice.UpstreamTimeout, Message: "upstream timed out before the first chunk", Err: err}
		}
		err = clientClosed(ctx, err)
		adm.finish(ctx, llm.Usage{}, 0, false)
		return nil, g.fail(rec, err)
	}
	req = x.Chat // decoded by an attempt that translated, if any did
	d := out.Deployment
	ans := &Answer{Served: served(plan, out, adm)}
	ans.Cache = cc.header()
	ttft = max(ttft, time.Nanosecond)
	switch {
	case raw != nil:
		if stream {
			timer.Stop()
		}
		mr := g.newMeteredRaw(ctx, c, rec, plan, d, adm, req, cancel, ttft, raw.Body)
		mr.x = x // the request, decoded only for a local count or the body log
		if !stream {
			mr.ttft, mr.timer = 0, timer
		}
		if cc != nil && cc.write {
			mr.tee = &rawTee{cc: cc, codec: x.Cache, stream: stream}
		}
		ans.Raw = &RawAnswer{Status: raw.Status, Header: raw.Header, Body: mr}
	case resp != nil:
		timer.Stop()
		cancel()
		g.observeFinish(ctx, resp)
		u, cost := g.settleChat(ctx, c, rec, plan, d, adm, req, resp)
		if cacheable(resp) {
			cc.keep(ctx, &cacheEntry{Chat: resp, Usage: u, Cost: cost, Instance: ans.Instance, Model: ans.Model, Public: ans.Public})
		}
		ans.Result = &Result{Served: ans.Served, Response: resp, Usage: u, Cost: cost, Latency: g.now().Sub(start)}
	default:
		timer.Stop()
		ms := g.newMeteredStream(ctx, c, rec, plan, d, adm, req, cancel, ttft, s, first)
		if cc != nil && cc.write {
			ms.tee = &assembler{cc: cc}
		}
		ms.observe(first)
		ans.Stream = &StreamResult{Stream: ms, Served: ans.Served}
	}
	return ans, nil
}

// mayForward reports whether the pass-through lane may serve a call that
// the dialect has not decoded: the response cache applies to it only if
// the dialect offers x.Cache (otherwise the cache keys and keeps decoded
// answers), and some deployment of its plan forwards x's protocol. Otherwise it is served as Chat and ChatStream serve it,
// which keeps every behaviour of the translation lane; an error resolving
// the plan is left for them to report.
func (g *Gateway) mayForward(c *Call, x *Exchange) bool {
	p := x.Raw.Protocol
	plan, err := g.Resolve(c.Model)
	if err != nil {
		return false
	}
	if x.Cache == nil && g.cache != nil && c.Cache != nil && policyTTL(c.Principal, plan) > 0 {
		return false
	}
	for _, tier := range plan.tiers {
		for _, d := range tier {
			if fw, ok := d.Provider.(llm.Forwarder); ok && fw.Forwards(p) {
				return true
			}
		}
	}
	return false
}

// translateAll serves an undecoded exchange through Chat or ChatStream.
func (g *Gateway) translateAll(ctx context.Context, c *Call, x *Exchange) (*Answer, error) {
	req, err := x.chat()
	if err != nil {
		return nil, err
	}
	if !req.Stream {
		res, err := g.Chat(ctx, c, req)
		if err != nil {
			return nil, err
		}
		return &Answer{Served: res.Served, Result: res}, nil
	}
	s, err := g.ChatStream(ctx, c, req)
	if err != nil {
		return nil, err
	}
	return &Answer{Served: s.Served, Stream: s}, nil
}

// translated returns req for one attempt: the upstream model set, and the
// thinking parts another family signed left out (a signature only its own
// family can verify, and reasoning no other model should read as text).
func translated(req *llm.ChatRequest, model, family string) *llm.ChatRequest {
	r := *req
	r.Model = model
	copied := false
	for i, m := range req.Messages {
		if !hasForeignThinking(m.Content, family) {
			continue
		}
		if !copied {
			r.Messages, copied = append([]llm.Message(nil), req.Messages...), true
		}
		parts := make([]llm.Part, 0, len(m.Content))
		for _, p := range m.Content {
			if !foreignThinking(p, family) {
				parts = append(parts, p)
			}
		}
		r.Messages[i].Content = parts
	}
	return &r
}

func hasForeignThinking(parts []llm.Part, family string) bool {
	for _, p := range parts {
		if foreignThinking(p, family) {
			return true
		}
	}
	return false
}

func foreignThinking(p llm.Part, family string) bool {
	return (p.Type == llm.PartThinking || p.Type == llm.PartRedactedThinking) && p.Family != family
}

// openStream starts a stream and reads its first chunk, so that a failure
// up to then is the attempt's and may be retried.
func openStream(ctx context.Context, pv llm.Provider, r *llm.ChatRequest) (llm.Stream, llm.Chunk, error) {
	r.Stream = true
	st, err := pv.ChatStream(ctx, r)
	if err != nil {
		return nil, llm.Chunk{}, err
	}
	ch, err := st.Recv()
	if err != nil {
		st.Close()
		if errors.Is(err, io.EOF) {
			return nil, llm.Chunk{}, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream ended the stream without an answer"}
		}
		return nil, llm.Chunk{}, err
	}
	return st, ch, nil
}

// settleChat settles a finished non-streaming call: usage (counted when
// upstream reported none), cost, limits and budget, record.
func (g *Gateway) settleChat(ctx context.Context, c *Call, rec *llmservice.UsageRecord, plan *Plan, d *hostpick.Deployment, adm *admission,
	req *llm.ChatRequest, resp *llm.ChatResponse) (llm.Usage, llmservice.Nanos) {
	u := resp.Usage
	if !resp.HasUsage {
		u = countChat(d.Model, req.Messages, resp)
	}
	cost := g.cost(plan, d, u)
	adm.finish(ctx, u, cost, true)
	g.keepBodies(rec, g.logMode(c), req.Messages, responseText(resp))
	g.record(rec, u, cost, 0, nil)
	return u, cost
}

// meteredRaw settles a pass-through answer once its body has been read to
// the end or closed, with the usage the provider's scanner saw pass, or a
// local count when the upstream reported none (an aborted stream).
type meteredRaw struct {
	settlement
	body llm.RawBody
	tee  *rawTee // keeps the answer for the response cache
}

func (g *Gateway) newMeteredRaw(ctx context.Context, c *Call, rec *llmservice.UsageRecord, plan *Plan, d *hostpick.Deployment,
	adm *admission, req *llm.ChatRequest, cancel context.CancelFunc, ttft time.Duration, body llm.RawBody) *meteredRaw {
	m := &meteredRaw{settlement: g.newSettlement(ctx, c, rec, plan, d, adm, req, cancel, ttft), body: body}
	m.tally = m
	return m
}

func (m *meteredRaw) Read(p []byte) (int, error) {
	n, err := m.body.Read(p)
	if m.tee != nil && n > 0 {
		m.tee.write(p[:n])
	}
	if err != nil {
		if fr, ok := m.body.(llm.FinishReporter); ok && errors.Is(err, io.EOF) && m.g.obs != nil && !m.settled {
			for _, r := range fr.FinishReasons() {
				m.g.observeFinishReason(m.ctx, r)
			}
		}
		if u, cost, ok := m.settle(err); ok && m.tee != nil {
			m.tee.keep(m, u, cost)
		}
	}
	return n, err
}

func (m *meteredRaw) reported() (llm.Usage, bool) { return m.body.Usage() }
func (m *meteredRaw) answer() (string, int)       { return m.body.Text(), 0 }

// Close settles an answer the client abandoned before its end.
func (m *meteredRaw) Close() error { return m.close(m.body) }

// CountTokens counts the input tokens of a request without generating
// anything: a provider that forwards the client's protocol is asked (its
// own count endpoint, never a completion), and when it cannot answer, or
// the model is served by another family, the gateway counts locally.
// Access rules apply as for a call; limits and budgets do not, since the
// count costs nothing.
func (g *Gateway) CountTokens(ctx context.Context, c *Call, x *Exchange) (int, error) {
	plan, err := g.begin(c)
	if err != nil {
		return 0, err
	}
	d := plan.tiers[0][0]
	if pv, err := g.provider(ctx, c.Principal.Team.ID, d); err == nil && x.Raw != nil {
		if fw, ok := pv.(llm.Forwarder); ok && fw.Forwards(x.Raw.Protocol) {
			n, err := forwardCount(ctx, g.timeout, fw, x.Raw, d.Model)
			if err == nil {
				return n, nil
			}
			g.log.Warn("upstream token count failed; counting locally", "provider", d.Instance, "model", d.Model, "err", err)
		}
	}
	return CountLocally(d.Model, x.Chat), nil
}

func forwardCount(ctx context.Context, timeout time.Duration, fw llm.Forwarder, raw *llm.RawRequest, model string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := fw.Forward(ctx, raw, model)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	u, ok := resp.Body.Usage()
	if !ok {
		return 0, errors.New("no count in the answer")
	}
	return u.PromptTokens, nil
}

// CountLocally counts a request's input tokens with the gateway's
// tokenizer: messages (system included) and tool definitions.
func CountLocally(model string, req *llm.ChatRequest) int {
	n := tokens.CountMessages(model, req.Messages)
	for _, t := range req.Tools {
		n += tokens.Count(model, t.Name) + tokens.Count(model, t.Description) + tokens.Count(model, string(t.Parameters))
	}
	return n
}
