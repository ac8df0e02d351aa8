package gateway

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/cache"
	"github.com/llmservice/llmservice/internal/limit"
	"github.com/llmservice/llmservice/internal/llm"
)

// Values of Served.Cache (the x-llmservice-cache header).
const (
	CacheHit    = "hit"
	CacheMiss   = "miss"
	CacheBypass = "bypass"
)

// CacheAsk is what a client asked of the response cache for one call.
type CacheAsk struct {
	NoCache bool          // Cache-Control: no-cache: do not answer from the cache
	NoStore bool          // Cache-Control: no-store: do not keep the answer
	TTL     time.Duration // x-llmservice-cache-ttl: keep the answer this long
}

// ParseCacheAsk reads the client's cache directives through header (an
// http.Header's Get): Cache-Control's no-cache and no-store, and
// x-llmservice-cache-ttl in seconds or as a Go duration ("10m").
func ParseCacheAsk(header func(string) string) (*CacheAsk, error) {
	a := &CacheAsk{}
	if cc := header("Cache-Control"); cc != "" { // most calls send none: no split
		for _, d := range strings.Split(cc, ",") {
			switch strings.ToLower(strings.TrimSpace(d)) {
			case "no-cache":
				a.NoCache = true
			case "no-store":
				a.NoStore = true
			}
		}
	}
	if v := strings.TrimSpace(header("X-Llmservice-Cache-Ttl")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			n, nerr := strconv.ParseInt(v, 10, 64)
			if nerr != nil || n < 0 || n > int64(365*24*time.Hour/time.Second) {
				return nil, llmservice.InvalidParam("x-llmservice-cache-ttl", "x-llmservice-cache-ttl must be seconds or a duration such as \"10m\"")
			}
			d = time.Duration(n) * time.Second
		}
		if d < 0 {
			return nil, llmservice.InvalidParam("x-llmservice-cache-ttl", "x-llmservice-cache-ttl must not be negative")
		}
		a.TTL = d
	}
	return a, nil
}

// cacheEntry is a kept answer and what it cost when it was served.
type cacheEntry struct {
	Chat  *llm.ChatResponse  `json:"chat,omitempty"`
	Embed *llm.EmbedResponse `json:"embed,omitempty"`
	// Raw is a pass-through answer in the client's protocol as relayed
	// (a stream's frames when RawStream), see RawCache.
	Raw       []byte           `json:"raw,omitempty"`
	RawStream bool             `json:"raw_stream,omitempty"`
	Usage     llm.Usage        `json:"usage"`
	Cost      llmservice.Nanos `json:"cost"`
	Instance  string           `json:"instance,omitempty"`
	Model     string           `json:"model,omitempty"`
	Public    string           `json:"public,omitempty"`
}

// cacheCall is one call's use of the cache: its key, whether the cache may
// answer it and keep its answer, and for how long.
type cacheCall struct {
	g     *Gateway
	key   string
	read  bool
	write bool
	ttl   time.Duration
	state string
}

// cacheFor returns the cache use of a call, or nil when the cache is off
// for it (no store, a dialect that does not offer it, or no policy on the
// key, the team or the catalog model). what identifies the answer; nil
// when it must not be cached.
func (g *Gateway) cacheFor(c *Call, plan *Plan, what func() any) *cacheCall {
	return g.cacheKeyed(c, plan, func() (string, bool) {
		w := what()
		if w == nil {
			return "", false
		}
		k, err := cache.Key(c.Principal.Team.ID, c.Endpoint, plan.Public, w)
		return k, err == nil
	})
}

// cacheKeyed is cacheFor with the key built by key, called only when the
// cache applies to the call (false: the answer must not be cached).
func (g *Gateway) cacheKeyed(c *Call, plan *Plan, key func() (string, bool)) *cacheCall {
	if g.cache == nil || c.Cache == nil || g.cacheDown.Load() {
		return nil
	}
	ttl := policyTTL(c.Principal, plan)
	if ttl <= 0 {
		return nil
	}
	if c.Cache.TTL > 0 {
		ttl = c.Cache.TTL
	}
	cc := &cacheCall{g: g, read: !c.Cache.NoCache, write: !c.Cache.NoStore, ttl: ttl, state: CacheMiss}
	if cc.read || cc.write {
		k, ok := key()
		if !ok {
			cc.read, cc.write = false, false
		}
		cc.key = k
	}
	if !cc.read {
		cc.state = CacheBypass
	}
	return cc
}

// policyTTL returns how long a call's answers are kept, 0 when the cache
// is off for it. The most specific policy that is set wins: the key's,
// then the team's, then the catalog model's (a model group's primary
// model); a TTL of 0 on a key or team keeps the cache off whatever the
// model says. The client's x-llmservice-cache-ttl overrides the TTL of a
// policy that is on.
func policyTTL(p *Principal, plan *Plan) time.Duration {
	switch {
	case p.Key.Cache != nil:
		return p.Key.Cache.Duration()
	case p.Team.Cache != nil:
		return p.Team.Cache.Duration()
	case len(plan.Targets) > 0 && plan.Targets[0].Entry != nil:
		return plan.Targets[0].Entry.Cache.Duration()
	}
	return 0
}

// lookup returns the kept answer, or nil. A store that cannot answer
// turns the cache off for this call.
func (cc *cacheCall) lookup(ctx context.Context) *cacheEntry {
	if cc == nil || !cc.read {
		return nil
	}
	if vs, ok := cc.g.cache.(valueStore); ok {
		v, ok := vs.GetValue(cc.key)
		if !ok {
			return nil
		}
		cc.state = CacheHit
		return v.(*cacheEntry)
	}
	b, ok, err := cc.g.cache.Get(ctx, cc.key)
	if err != nil {
		cc.g.cacheFailed(err)
		cc.read, cc.write, cc.state = false, false, CacheBypass
		return nil
	}
	if !ok {
		return nil
	}
	var e cacheEntry
	if json.Unmarshal(b, &e) != nil {
		return nil
	}
	cc.state = CacheHit
	return &e
}

// valueStore is a store in this process that keeps entries as they are
// (cache.Memory): no encoding on a miss, no decoding on a hit. What is
// kept is never changed afterwards: kept answers are only read, by the
// dialects' encoders and by replays.
type valueStore interface {
	GetValue(key string) (any, bool)
	SetValue(key string, v any, size int64, ttl time.Duration)
}

// size estimates what an entry holds in memory, for the store's bound.
func (e *cacheEntry) size() int64 {
	n := int64(512 + len(e.Raw))
	if e.Chat != nil {
		for _, c := range e.Chat.Choices {
			n += 128
			for _, p := range c.Message.Content {
				n += int64(64 + len(p.Text) + len(p.Signature) + len(p.Data))
			}
			for _, tc := range c.Message.ToolCalls {
				n += int64(64 + len(tc.ID) + len(tc.Name) + len(tc.Arguments))
			}
		}
	}
	if e.Embed != nil {
		for _, v := range e.Embed.Vectors {
			n += int64(24 + 4*len(v))
		}
	}
	return n
}

// keep stores a complete answer.
func (cc *cacheCall) keep(ctx context.Context, e *cacheEntry) {
	if cc == nil || !cc.write {
		return
	}
	if vs, ok := cc.g.cache.(valueStore); ok {
		vs.SetValue(cc.key, e, e.size(), cc.ttl)
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	if err := cc.g.cache.Set(ctx, cc.key, b, cc.ttl); err != nil {
		cc.g.cacheFailed(err)
	}
}

func (cc *cacheCall) header() string {
	if cc == nil {
		return ""
	}
	return cc.state
}

// cacheFailed logs a store failure (once per outage) and turns the cache
// off for a few seconds, so that an unreachable Redis costs one timeout per
// period, not one per call.
func (g *Gateway) cacheFailed(err error) {
	if g.cacheDown.Swap(true) {
		return
	}
	g.log.Warn("response cache unavailable; calls go upstream", "err", err)
	time.AfterFunc(cacheRetry, func() { g.cacheDown.Store(false) })
}

// cacheRetry is how long the cache stays off after its store failed.
var cacheRetry = 5 * time.Second

// PurgeCache drops the response cache's entries of one team, or all of
// them when team is "".
func (g *Gateway) PurgeCache(ctx context.Context, team string) (int, error) {
	if g.cache == nil {
		return 0, nil
	}
	return g.cache.Purge(ctx, team)
}

// CacheEnabled reports whether the gateway has a response cache store.
func (g *Gateway) CacheEnabled() bool { return g.cache != nil }

// chatKey returns what identifies a chat call's answer: the request
// without its model (the plan's public name is keyed apart), user label,
// metadata and stream flags, with JSON schemas and extra fields in
// canonical form. nil when the answer must not be cached (n > 1).
func chatKey(req *llm.ChatRequest) any {
	if req.N != nil && *req.N > 1 {
		return nil
	}
	k := *req
	k.Model, k.User, k.Stream, k.IncludeUsage = "", "", false, false
	if len(req.Tools) > 0 {
		k.Tools = make([]llm.Tool, len(req.Tools))
		for i, t := range req.Tools {
			t.Parameters = cache.Canonical(t.Parameters)
			k.Tools[i] = t
		}
	}
	if req.ResponseFormat != nil {
		rf := *req.ResponseFormat
		rf.Schema = cache.Canonical(rf.Schema)
		k.ResponseFormat = &rf
	}
	if len(req.Extra) > 0 {
		k.Extra = make(map[string]json.RawMessage, len(req.Extra))
		for name, v := range req.Extra {
			switch name {
			case "user", "metadata", "stream", "stream_options", "store":
				continue
			}
			k.Extra[name] = cache.Canonical(v)
		}
		if len(k.Extra) == 0 {
			k.Extra = nil // only ignored fields: the key of a request without any
		}
	}
	for _, m := range req.Messages {
		for _, p := range m.Content {
			if p.CacheControl != nil {
				k.Messages = withoutCacheControl(req.Messages)
				return &k
			}
		}
	}
	return &k
}

// withoutCacheControl copies msgs without prompt-caching breakpoints,
// which change what the provider charges, not what it answers.
func withoutCacheControl(msgs []llm.Message) []llm.Message {
	out := make([]llm.Message, len(msgs))
	for i, m := range msgs {
		m.Content = append([]llm.Part(nil), m.Content...)
		for j := range m.Content {
			m.Content[j].CacheControl = nil
		}
		out[i] = m
	}
	return out
}

// embedKey returns what identifies an embeddings call's answer.
func embedKey(req *llm.EmbedRequest) any {
	k := *req
	k.Model, k.User = "", ""
	return &k
}

// cacheable reports whether a chat answer is complete enough to keep.
func cacheable(resp *llm.ChatResponse) bool {
	if resp == nil || len(resp.Choices) != 1 {
		return false
	}
	switch resp.Choices[0].FinishReason {
	case llm.FinishStop, llm.FinishLength, llm.FinishToolCalls:
		return true
	}
	return false
}

// admitHit admits a call the cache answers: it counts against the request
// limits only (it uses no tokens and costs nothing).
func (g *Gateway) admitHit(ctx context.Context, c *Call, plan *Plan) (*admission, error) {
	a := &admission{g: g}
	g.rules(a, c.Principal, plan)
	var rules []limit.Rule
	var costs []int64
	for i, r := range a.rules {
		if !isTPM(r) {
			rules, costs = append(rules, r), append(costs, a.costs[i])
		}
	}
	a.rules, a.costs = rules, costs
	if len(rules) == 0 {
		return a, nil
	}
	st, ok, err := g.limiter.Take(ctx, rules, costs)
	if err != nil {
		g.log.Error("rate limiter failed; admitting the call", "err", err)
		return a, nil
	}
	a.Rate = tightest(st)
	if !ok {
		return a, refusal(st)
	}
	a.taken = st
	return a, nil
}

// serveHit settles a call the cache answered: a usage record with the
// tokens as first counted, no cost, and the cost saved; the prompt (msgs)
// and a kept chat answer go to the body log as for any call, so the
// request log shows what a hit answered.
func (g *Gateway) serveHit(ctx context.Context, c *Call, plan *Plan, rec *llmservice.UsageRecord, e *cacheEntry, msgs []llm.Message) (Served, error) {
	adm, err := g.admitHit(ctx, c, plan)
	if err != nil {
		return Served{}, g.failRate(rec, adm, err)
	}
	rec.CacheHit, rec.SavedCost = true, e.Cost
	rec.Provider, rec.UpstreamModel = e.Instance, e.Model
	if mode := g.logMode(c); mode != llmservice.LogBodiesOff && (msgs != nil || e.Chat != nil) {
		answer := ""
		if e.Chat != nil {
			answer = responseText(e.Chat)
		}
		g.keepBodies(rec, mode, msgs, answer)
	}
	g.record(rec, e.Usage, 0, 0, nil)
	return Served{Instance: e.Instance, Model: e.Model, Public: e.Public, Rate: adm.Rate, Cache: CacheHit}, nil
}

// replay is a kept chat answer played back as a stream: the role, the
// thinking, the text, the tool calls, the finish reason and the usage.
type replay struct {
	chunks []llm.Chunk
	usage  llm.Usage
}

func newReplay(resp *llm.ChatResponse, u llm.Usage) *replay {
	r := &replay{usage: u}
	ch := resp.Choices[0]
	r.chunks = append(r.chunks, llm.Chunk{ID: resp.ID, Model: resp.Model, Role: llm.RoleAssistant})
	for _, p := range ch.Message.Content {
		switch p.Type {
		case llm.PartThinking:
			r.chunks = append(r.chunks, llm.Chunk{Model: resp.Model, Thinking: p.Text, Signature: p.Signature, ThinkingFamily: p.Family})
		case llm.PartRedactedThinking:
			r.chunks = append(r.chunks, llm.Chunk{Model: resp.Model, RedactedThinking: p.Data, ThinkingFamily: p.Family})
		case llm.PartText:
			if p.Text != "" {
				r.chunks = append(r.chunks, llm.Chunk{Model: resp.Model, Text: p.Text})
			}
		}
	}
	for i, tc := range ch.Message.ToolCalls {
		r.chunks = append(r.chunks, llm.Chunk{Model: resp.Model, ToolCalls: []llm.ToolCallDelta{{Index: i, ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments}}})
	}
	r.chunks = append(r.chunks, llm.Chunk{Model: resp.Model, FinishReason: ch.FinishReason})
	r.chunks = append(r.chunks, llm.Chunk{Model: resp.Model, Usage: &r.usage})
	return r
}

func (r *replay) Recv() (llm.Chunk, error) {
	if len(r.chunks) == 0 {
		return llm.Chunk{}, io.EOF
	}
	ch := r.chunks[0]
	r.chunks = r.chunks[1:]
	return ch, nil
}

func (r *replay) Close() error     { return nil }
func (r *replay) Usage() llm.Usage { return r.usage }

// assembler rebuilds a complete chat answer from a stream's chunks as they
// pass, so that a streamed answer can be kept.
type assembler struct {
	cc       *cacheCall
	resp     llm.ChatResponse
	text     strings.Builder
	parts    []llm.Part
	calls    []llm.ToolCall
	finish   string
	multiple bool
}

func (a *assembler) add(ch *llm.Chunk) {
	if ch.Index != 0 {
		a.multiple = true
	}
	if a.resp.ID == "" {
		a.resp.ID = ch.ID
	}
	if a.resp.Model == "" {
		a.resp.Model = ch.Model
	}
	if ch.Thinking != "" || ch.Signature != "" {
		a.flushText()
		if n := len(a.parts); n > 0 && a.parts[n-1].Type == llm.PartThinking && a.parts[n-1].Signature == "" {
			a.parts[n-1].Text += ch.Thinking
			a.parts[n-1].Signature = ch.Signature
		} else {
			a.parts = append(a.parts, llm.Part{Type: llm.PartThinking, Text: ch.Thinking, Signature: ch.Signature, Family: ch.ThinkingFamily})
		}
	}
	if ch.RedactedThinking != "" {
		a.flushText()
		a.parts = append(a.parts, llm.Part{Type: llm.PartRedactedThinking, Data: ch.RedactedThinking, Family: ch.ThinkingFamily})
	}
	a.text.WriteString(ch.Text)
	for _, d := range ch.ToolCalls {
		for len(a.calls) <= d.Index {
			a.calls = append(a.calls, llm.ToolCall{})
		}
		tc := &a.calls[d.Index]
		if d.ID != "" {
			tc.ID = d.ID
		}
		if d.Name != "" {
			tc.Name = d.Name
		}
		tc.Arguments += d.Arguments
	}
	if ch.FinishReason != "" {
		a.finish = ch.FinishReason
	}
}

func (a *assembler) flushText() {
	if a.text.Len() > 0 {
		a.parts = append(a.parts, llm.Part{Type: llm.PartText, Text: a.text.String()})
		a.text.Reset()
	}
}

// keep stores the assembled answer of a stream that ended well.
func (a *assembler) keep(s *meteredStream, u llm.Usage, cost llmservice.Nanos) {
	if a.multiple || a.finish == "" {
		return
	}
	a.flushText()
	a.resp.Choices = []llm.Choice{{Message: llm.Message{Role: llm.RoleAssistant, Content: a.parts, ToolCalls: a.calls}, FinishReason: a.finish}}
	a.resp.Usage, a.resp.HasUsage = u, s.usage != nil
	if !cacheable(&a.resp) {
		return
	}
	a.cc.keep(context.Background(), &cacheEntry{Chat: &a.resp, Usage: u, Cost: cost,
		Instance: s.d.Instance, Model: s.d.Model, Public: s.plan.targetOf(s.d).Public})
}

// cacheState is kept apart from Gateway's fields so that other files need
// not change: the store and whether it is down.
type cacheState struct {
	cache     cache.Store
	cacheDown atomic.Bool
}
