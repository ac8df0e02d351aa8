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
// ChatStream: all three are served by exchange.
func (g *Gateway) Exchange(ctx context.Context, c *Call, x *Exchange) (*Answer, error) {
	stream := x.Raw != nil && x.Raw.Stream
	if x.Chat == nil {
		if err := c.check(); err != nil {
			return nil, err // not recorded: nothing unbounded reaches the ledger
		}
		if !g.mayForward(c, x) {
			return g.translateAll(ctx, c, x)
		}
	} else {
		stream = x.Chat.Stream
	}
	return g.exchange(ctx, c, x, stream, nil)
}

// exchange serves a chat call, whichever way it came in: Chat and
// ChatStream (x.Raw nil, so every attempt translates), and Exchange. It is
// the one place that bounds, records, looks up the response cache, admits,
// attempts (through route) and starts the settlement of a chat call, so
// that the entry points and the lanes cannot drift apart. stream says
// whether the answer is streamed.
//
// The response cache keys a call without x.Raw by its canonical request
// (chatKey), as the translation lane keeps it, and a call with x.Raw by its
// raw body (laneCacheFor).
//
// The answer is written to ans when the call goes upstream or a kept
// canonical answer serves it, and to a new Answer when ans is nil; a raw
// hit returns the lane cache's own. Chat and ChatStream, which hand out
// only a part of the answer, pass one on their stack: no allocation.
func (g *Gateway) exchange(ctx context.Context, c *Call, x *Exchange, stream bool, ans *Answer) (*Answer, error) {
	rec, plan, err := g.open(ctx, c, stream)
	if err != nil {
		return nil, err
	}
	var cc *cacheCall
	if x.Raw == nil {
		req := x.Chat
		cc = g.cacheFor(c, plan, func() any { return chatKey(req) })
	} else {
		cc = g.laneCacheFor(c, plan, x)
	}
	if e := cc.lookup(ctx); e != nil {
		if a, ok, err := g.hit(ctx, c, plan, rec, x, stream, e, ans); ok {
			return a, err
		}
		cc.state = CacheMiss // the entry cannot answer this call
	}
	prompt, maxTokens := x.Prompt, &x.MaxTokens
	if x.Chat != nil {
		prompt, maxTokens = estimatePrompt(x.Chat.Messages), &x.Chat.MaxTokens
	}
	asked := *maxTokens
	adm, err := g.admit(ctx, c, plan, prompt, maxTokens)
	if err != nil {
		return nil, g.failRate(rec, adm, err)
	}
	if x.Raw != nil && *maxTokens != asked {
		x.Raw.MaxTokens = *maxTokens // a budget capped the answer
	}
	f := &flight{g: g, c: c, w: g.waitFor(ctx, stream), once: (*flight).chatOnce, x: *x, stream: stream, start: rec.Time}
	out, err := g.route(ctx, f, plan, rec, adm)
	if err != nil {
		return nil, err
	}
	req := f.x.Chat // decoded by an attempt that translated, if any did
	d := out.Deployment
	if ans == nil {
		ans = new(Answer)
	}
	*ans = Answer{Served: served(plan, out, adm)}
	ans.Cache = cc.header()
	ttft := max(f.ttft, time.Nanosecond)
	switch {
	case f.raw != nil:
		// A forwarded stream's rest is bounded by the client's
		// connection, a whole body's by the wait's deadline.
		f.w.started()
		mr := g.newMeteredRaw(ctx, c, rec, plan, d, adm, req, f.w.cancel, ttft, f.raw.Body)
		mr.decode = f.x.Decode // the request, decoded only for a local count or the body log
		if !stream {
			mr.ttft = 0
		}
		if cc != nil && cc.write {
			mr.tee = &rawTee{cc: cc, codec: f.x.Cache, stream: stream}
		}
		ans.Raw = &RawAnswer{Status: f.raw.Status, Header: f.raw.Header, Body: mr}
	case f.resp != nil:
		f.w.end()
		g.observeFinish(ctx, f.resp)
		u, cost := g.settleChat(ctx, c, rec, plan, d, adm, req, f.resp)
		if cacheable(f.resp) {
			cc.keep(ctx, &cacheEntry{Chat: f.resp, Usage: u, Cost: cost, Instance: ans.Instance, Model: ans.Model, Public: ans.Public})
		}
		ans.Result = &Result{Served: ans.Served, Response: f.resp, Usage: u, Cost: cost, Latency: g.now().Sub(rec.Time)}
	default:
		f.w.started()
		ms := g.newMeteredStream(ctx, c, rec, plan, d, adm, req, f.w.cancel, ttft, f.s, f.first)
		if cc != nil && cc.write {
			ms.tee = &assembler{cc: cc}
		}
		ms.observe(*f.first)
		ans.Stream = &StreamResult{Stream: ms, Served: ans.Served}
	}
	return ans, nil
}

// chatOnce is one attempt of a chat call: forwarded when the provider
// forwards the client's protocol, translated otherwise.
func (f *flight) chatOnce(ctx context.Context, pv llm.Provider, d *hostpick.Deployment) error {
	g, x := f.g, &f.x
	if fw, ok := pv.(llm.Forwarder); ok && x.Raw != nil && fw.Forwards(x.Raw.Protocol) {
		r, err := fw.Forward(ctx, x.Raw, d.Model)
		if err != nil {
			return err
		}
		f.raw, f.ttft = r, g.now().Sub(f.start)
		// The answer stays in flight after this returns;
		// least-outstanding must count it until it settles.
		g.router.Hold(d)
		return nil
	}
	req, err := x.chat()
	if err != nil {
		return err
	}
	r := translated(req, d.Model, g.instances[d.Instance].Family)
	if !f.stream {
		f.resp, err = pv.Chat(ctx, r)
		return err
	}
	st, ch, err := openStream(ctx, pv, r)
	if err != nil {
		return err
	}
	f.s, f.first, f.ttft = st, &ch, g.now().Sub(f.start)
	g.router.Hold(d)
	return nil
}

// hit answers a call from a kept entry, into ans as exchange does; ok is
// false when the entry cannot answer the call, which then goes upstream.
// A call with x.Raw is the lane cache's (laneHit). One without is answered
// from a kept canonical answer, replayed as a stream when stream asks.
func (g *Gateway) hit(ctx context.Context, c *Call, plan *Plan, rec *llmservice.UsageRecord, x *Exchange, stream bool,
	e *cacheEntry, ans *Answer) (*Answer, bool, error) {
	if x.Raw != nil {
		return g.laneHit(ctx, c, plan, rec, x, e)
	}
	if e.Chat == nil || len(e.Chat.Choices) != 1 {
		return nil, false, nil
	}
	s, err := g.serveHit(ctx, c, plan, rec, e, x.Chat.Messages)
	if err != nil {
		return nil, true, err
	}
	if ans == nil {
		ans = new(Answer)
	}
	*ans = Answer{Served: s}
	if stream {
		ans.Stream = &StreamResult{Stream: newReplay(e.Chat, e.Usage), Served: s}
	} else {
		ans.Result = &Result{Served: s, Response: e.Chat, Usage: e.Usage, Latency: g.now().Sub(rec.Time)}
	}
	return ans, true, nil
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

// translateAll serves an undecoded exchange as Chat and ChatStream serve
// a call: decoded, translated by every attempt, keyed in the response
// cache by its canonical request.
func (g *Gateway) translateAll(ctx context.Context, c *Call, x *Exchange) (*Answer, error) {
	req, err := x.chat()
	if err != nil {
		return nil, err
	}
	return g.exchange(ctx, c, &Exchange{Chat: req}, req.Stream, nil)
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
