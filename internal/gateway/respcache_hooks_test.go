package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/cache"
	"github.com/llmservice/llmservice/internal/llm"
)

// fakeCache is a cache.Store over a map whose failures a test can set.
type fakeCache struct {
	get func(ctx context.Context, key string) ([]byte, bool, error)
	set func(ctx context.Context, key string, val []byte, ttl time.Duration) error

	mu   sync.Mutex
	m    map[string][]byte
	ttls []time.Duration
	gets int
}

func newFakeCache() *fakeCache { return &fakeCache{m: map[string][]byte{}} }

func (c *fakeCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	c.gets++
	c.mu.Unlock()
	if c.get != nil {
		return c.get(ctx, key)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok, nil
}

func (c *fakeCache) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if c.set != nil {
		return c.set(ctx, key, val, ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = val
	c.ttls = append(c.ttls, ttl)
	return nil
}

func (c *fakeCache) Purge(context.Context, string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.m)
	clear(c.m)
	return n, nil
}

func (c *fakeCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func (c *fakeCache) TTLs() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.ttls...)
}

var _ cache.Store = (*fakeCache)(nil)

func TestCacheFor(t *testing.T) {
	hour := &llmservice.CachePolicy{TTL: "1h"}
	tests := []struct {
		name      string
		store     bool
		ask       *CacheAsk
		team, key *llmservice.CachePolicy
		what      any
		want      *cacheCall // nil: the cache is off
	}{
		{name: "no store", ask: &CacheAsk{}, team: hour, what: 1},
		{name: "the dialect does not offer it", store: true, team: hour, what: 1},
		{name: "no policy", store: true, ask: &CacheAsk{}, what: 1},
		{name: "the team's policy", store: true, ask: &CacheAsk{}, team: hour, what: 1,
			want: &cacheCall{read: true, write: true, ttl: time.Hour, state: CacheMiss}},
		{name: "the key's policy first", store: true, ask: &CacheAsk{}, team: hour, key: &llmservice.CachePolicy{TTL: "5m"}, what: 1,
			want: &cacheCall{read: true, write: true, ttl: 5 * time.Minute, state: CacheMiss}},
		{name: "a key's bad TTL turns it off", store: true, ask: &CacheAsk{}, team: hour, key: &llmservice.CachePolicy{TTL: "soon"}, what: 1},
		{name: "the client's TTL", store: true, ask: &CacheAsk{TTL: time.Minute}, team: hour, what: 1,
			want: &cacheCall{read: true, write: true, ttl: time.Minute, state: CacheMiss}},
		{name: "no-cache", store: true, ask: &CacheAsk{NoCache: true}, team: hour, what: 1,
			want: &cacheCall{read: false, write: true, ttl: time.Hour, state: CacheBypass}},
		{name: "no-store", store: true, ask: &CacheAsk{NoStore: true}, team: hour, what: 1,
			want: &cacheCall{read: true, write: false, ttl: time.Hour, state: CacheMiss}},
		{name: "an answer that must not be cached", store: true, ask: &CacheAsk{}, team: hour, what: nil,
			want: &cacheCall{ttl: time.Hour, state: CacheBypass}},
		{name: "a request that cannot be keyed", store: true, ask: &CacheAsk{}, team: hour, what: func() {},
			want: &cacheCall{ttl: time.Hour, state: CacheBypass}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := env{team: &llmservice.Team{ID: "t1", Cache: tt.team}, key: &llmservice.Key{ID: "k1", TeamID: "t1", Cache: tt.key}}
			if tt.store {
				e.cache = newFakeCache()
			}
			h := newHarness(t, e)
			c := h.call("mock/echo")
			c.Cache = tt.ask
			cc := h.g.cacheFor(c, &Plan{Public: "mock/echo"}, func() any { return tt.what })
			if tt.want == nil {
				if cc != nil {
					t.Errorf("cache use %+v; want none", cc)
				}
				if got := cc.header(); got != "" {
					t.Errorf("header %q; want none", got)
				}
				return
			}
			if cc == nil {
				t.Fatal("no cache use")
			}
			if cc.read != tt.want.read || cc.write != tt.want.write || cc.ttl != tt.want.ttl || cc.header() != tt.want.state {
				t.Errorf("cache use read %v write %v ttl %v state %q; want %+v", cc.read, cc.write, cc.ttl, cc.state, tt.want)
			}
			if (cc.read || cc.write) && cc.key == "" {
				t.Error("no key")
			}
		})
	}
}

// cacheHarness is a gateway whose team caches answers for an hour.
func cacheHarness(t *testing.T, pv llm.Provider, limits llmservice.Limits) (*harness, *fakeCache) {
	t.Helper()
	fc := newFakeCache()
	h := newHarness(t, env{
		instances: []Instance{one("mock", "mock", pv)},
		models:    pricedModels(),
		team:      &llmservice.Team{ID: "t1", Cache: &llmservice.CachePolicy{TTL: "1h"}},
		key:       &llmservice.Key{ID: "k1", TeamID: "t1", Limits: limits},
		cache:     fc,
	})
	return h, fc
}

func (h *harness) cachedCall(model string) *Call {
	c := h.call(model)
	c.Cache = &CacheAsk{}
	return c
}

// A kept entry that cannot answer the call (here one without an answer,
// as a store shared with another version could hold) is a miss, whichever
// entry point the call came by: the call goes upstream and says so.
func TestCacheEntryThatCannotAnswer(t *testing.T) {
	tests := []struct {
		name string
		run  func(h *harness) (Served, error)
	}{
		{"Chat", func(h *harness) (Served, error) {
			res, err := h.g.Chat(context.Background(), h.cachedCall("mock/echo"), userSays("hello"))
			if err != nil {
				return Served{}, err
			}
			return res.Served, nil
		}},
		{"ChatStream", func(h *harness) (Served, error) {
			s, err := h.g.ChatStream(context.Background(), h.cachedCall("mock/echo"), userSays("hello"))
			if err != nil {
				return Served{}, err
			}
			s.Close()
			return s.Served, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv := okProvider()
			pv.stream = streamOf(&fakeStream{chunks: helloChunks(nil)})
			h, fc := cacheHarness(t, pv, llmservice.Limits{})
			fc.get = func(context.Context, string) ([]byte, bool, error) { return []byte(`{"usage":{}}`), true, nil }
			s, err := tt.run(h)
			if err != nil {
				t.Fatal(err)
			}
			if s.Cache != CacheMiss || pv.Calls() != 1 {
				t.Errorf("cache %q after %d upstream calls; want a miss that went upstream", s.Cache, pv.Calls())
			}
			if rec := h.meter.only(t); rec.CacheHit {
				t.Error("recorded as a hit")
			}
		})
	}
}

// A repeated question is answered from the cache: no upstream call, no
// cost, the saved cost in the ledger, and only the request limits charged.
func TestCacheHit(t *testing.T) {
	pv := okProvider()
	h, fc := cacheHarness(t, pv, llmservice.Limits{RPM: 3, TPM: 1000})
	ctx := context.Background()
	first, err := h.g.Chat(ctx, h.cachedCall("priced"), userSays("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if first.Cache != CacheMiss || fc.Len() != 1 || !slices.Equal(fc.TTLs(), []time.Duration{time.Hour}) {
		t.Fatalf("first call: cache %q, %d entries, TTLs %v; want a miss kept for an hour", first.Cache, fc.Len(), fc.TTLs())
	}
	req := userSays("hello")
	req.User = "someone else" // not part of the key
	second, err := h.g.Chat(ctx, h.cachedCall("priced"), req)
	if err != nil {
		t.Fatal(err)
	}
	if second.Cache != CacheHit || pv.Calls() != 1 || second.Response.Choices[0].Message.Text() != "fine" || second.Usage != first.Usage {
		t.Errorf("second call: cache %q, %d upstream calls, usage %+v; want a hit with the first's usage", second.Cache, pv.Calls(), second.Usage)
	}
	if second.Instance != "mock" || second.Model != "echo" || second.Public != "priced" || second.Rate.Requests == nil || second.Rate.Tokens != nil {
		t.Errorf("second call served %+v; want the first's deployment and request limits only", second.Served)
	}
	recs := h.meter.Records()
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	hit := recs[1]
	if !hit.CacheHit || hit.Cost != 0 || hit.SavedCost != recs[0].Cost || recs[0].Cost != 24000 || hit.PromptTokens != 10 || hit.Provider != "mock" || hit.Status != 200 {
		t.Errorf("hit record %+v; want no cost, %d saved", hit, recs[0].Cost)
	}
	// The hit charged a request and no tokens: the third call fits the
	// RPM, the fourth does not.
	if _, err := h.g.Chat(ctx, h.cachedCall("priced"), userSays("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.g.Chat(ctx, h.cachedCall("priced"), userSays("hello")); llmservice.ErrorKind(err) != llmservice.RateLimited {
		t.Errorf("fourth call: %v; want rate limited", err)
	}
	for _, a := range h.lim.Adjusts() {
		if a.Key != "key:k1:tpm" {
			t.Errorf("adjust %v; want TPM true-ups only", a)
		}
	}
}

func TestCacheBypassAndNoStore(t *testing.T) {
	pv := okProvider()
	h, fc := cacheHarness(t, pv, llmservice.Limits{})
	ctx := context.Background()
	c := h.cachedCall("priced")
	c.Cache.NoStore = true
	res, err := h.g.Chat(ctx, c, userSays("hello"))
	if err != nil || res.Cache != CacheMiss || fc.Len() != 0 {
		t.Fatalf("no-store: %v, cache %q, %d entries; want a miss kept nowhere", err, res.Cache, fc.Len())
	}
	if _, err := h.g.Chat(ctx, h.cachedCall("priced"), userSays("hello")); err != nil {
		t.Fatal(err)
	}
	c = h.cachedCall("priced")
	c.Cache.NoCache = true
	res, err = h.g.Chat(ctx, c, userSays("hello"))
	if err != nil || res.Cache != CacheBypass || pv.Calls() != 3 {
		t.Errorf("no-cache: %v, cache %q, %d calls; want a bypass that went upstream", err, res.Cache, pv.Calls())
	}
	// A call without the dialect's offer says nothing of the cache.
	res, err = h.g.Chat(ctx, h.call("priced"), userSays("hello"))
	if err != nil || res.Cache != "" || pv.Calls() != 4 {
		t.Errorf("no offer: %v, cache %q, %d calls", err, res.Cache, pv.Calls())
	}
}

// A store that fails turns the cache off: the call goes upstream, and the
// following ones do not try the store until it is retried.
func TestCacheStoreFailure(t *testing.T) {
	pv := okProvider()
	h, fc := cacheHarness(t, pv, llmservice.Limits{})
	fc.get = func(context.Context, string) ([]byte, bool, error) {
		return nil, false, errors.New("redis: i/o timeout")
	}
	ctx := context.Background()
	res, err := h.g.Chat(ctx, h.cachedCall("priced"), userSays("hello"))
	if err != nil || res.Cache != CacheBypass || pv.Calls() != 1 || fc.Len() != 0 {
		t.Fatalf("%v, cache %q, %d calls, %d entries; want a bypass upstream, nothing kept", err, res.Cache, pv.Calls(), fc.Len())
	}
	if !h.g.cacheDown.Load() {
		t.Fatal("the cache is still on")
	}
	res, err = h.g.Chat(ctx, h.cachedCall("priced"), userSays("hello"))
	if err != nil || res.Cache != "" || fc.gets != 1 {
		t.Errorf("while down: %v, cache %q, %d store reads; want the cache off and 1 read in all", err, res.Cache, fc.gets)
	}
	h.g.cacheDown.Store(false) // what the retry timer does
	fc.get = nil
	if res, _ := h.g.Chat(ctx, h.cachedCall("priced"), userSays("hello")); res.Cache != CacheMiss {
		t.Errorf("after the retry: cache %q; want miss", res.Cache)
	}
}

// A corrupt entry is a miss, not an error.
func TestCacheCorruptEntry(t *testing.T) {
	pv := okProvider()
	h, fc := cacheHarness(t, pv, llmservice.Limits{})
	fc.get = func(context.Context, string) ([]byte, bool, error) { return []byte("{not json"), true, nil }
	res, err := h.g.Chat(context.Background(), h.cachedCall("priced"), userSays("hello"))
	if err != nil || res.Cache != CacheMiss || pv.Calls() != 1 {
		t.Errorf("%v, cache %q, %d calls; want a miss upstream", err, res.Cache, pv.Calls())
	}
}

// A streamed answer is kept as it passes and replayed as a stream, or
// served whole to a non-streaming call.
func TestCacheStreamKeptAndReplayed(t *testing.T) {
	chunks := []llm.Chunk{
		{ID: "c1", Model: "echo", Role: llm.RoleAssistant},
		{Thinking: "let me ", ThinkingFamily: "anthropic"}, {Thinking: "think", Signature: "sig", ThinkingFamily: "anthropic"},
		{Text: "Hel"}, {Text: "lo"},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_1", Name: "lookup", Arguments: `{"q":`}}},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `"x"}`}}},
		{FinishReason: llm.FinishToolCalls},
		{Usage: &llm.Usage{PromptTokens: 5, CompletionTokens: 9}},
	}
	pv := &fakeProvider{stream: func(context.Context, *llm.ChatRequest) (llm.Stream, error) {
		return &fakeStream{chunks: chunks}, nil
	}}
	h, fc := cacheHarness(t, pv, llmservice.Limits{})
	ctx := context.Background()
	s, err := h.g.ChatStream(ctx, h.cachedCall("priced"), userSays("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Cache != CacheMiss {
		t.Errorf("first stream: cache %q", s.Cache)
	}
	if _, err := drain(t, s); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if fc.Len() != 1 {
		t.Fatalf("%d entries after the stream; want 1", fc.Len())
	}
	s, err = h.g.ChatStream(ctx, h.cachedCall("priced"), userSays("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Cache != CacheHit || pv.Calls() != 1 {
		t.Fatalf("second stream: cache %q, %d calls; want a hit", s.Cache, pv.Calls())
	}
	var got []llm.Chunk
	for {
		ch, err := s.Recv()
		if err != nil {
			break
		}
		got = append(got, ch)
	}
	s.Close()
	want := []llm.Chunk{
		{ID: "c1", Model: "echo", Role: llm.RoleAssistant},
		{Model: "echo", Thinking: "let me think", Signature: "sig", ThinkingFamily: "anthropic"},
		{Model: "echo", Text: "Hello"},
		{Model: "echo", ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_1", Name: "lookup", Arguments: `{"q":"x"}`}}},
		{Model: "echo", FinishReason: llm.FinishToolCalls},
		{Model: "echo", Usage: &llm.Usage{PromptTokens: 5, CompletionTokens: 9}},
	}
	if a, b := mustJSON(t, got), mustJSON(t, want); a != b {
		t.Errorf("replay\n%s\nwant\n%s", a, b)
	}
	if u := StreamUsage(s); u != (llm.Usage{PromptTokens: 5, CompletionTokens: 9}) {
		t.Errorf("replay usage %+v", u)
	}
	res, err := h.g.Chat(ctx, h.cachedCall("priced"), userSays("hello"))
	if err != nil || res.Cache != CacheHit {
		t.Fatalf("a whole answer from the kept stream: %v, %q", err, res.Cache)
	}
	m := res.Response.Choices[0].Message
	if m.Text() != "Hello" || len(m.ToolCalls) != 1 || m.ToolCalls[0].Arguments != `{"q":"x"}` || res.Response.Choices[0].FinishReason != llm.FinishToolCalls {
		t.Errorf("kept answer %+v", res.Response)
	}
}

// Streams that did not end well, or whose answer has several choices, are
// not kept.
func TestCacheStreamNotKept(t *testing.T) {
	tests := []struct {
		name   string
		chunks []llm.Chunk
		end    error
	}{
		{"no finish reason", []llm.Chunk{{Role: llm.RoleAssistant}, {Text: "cut"}}, nil},
		{"content filtered", []llm.Chunk{{Role: llm.RoleAssistant}, {Text: "x"}, {FinishReason: llm.FinishContentFilter}}, nil},
		{"broken", []llm.Chunk{{Role: llm.RoleAssistant}, {Text: "x"}, {FinishReason: llm.FinishStop}}, errUpstream503},
		{"two choices", []llm.Chunk{{Role: llm.RoleAssistant}, {Index: 1, Text: "x"}, {FinishReason: llm.FinishStop}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv := &fakeProvider{stream: func(context.Context, *llm.ChatRequest) (llm.Stream, error) {
				return &fakeStream{chunks: tt.chunks, end: tt.end}, nil
			}}
			h, fc := cacheHarness(t, pv, llmservice.Limits{})
			s, err := h.g.ChatStream(context.Background(), h.cachedCall("priced"), userSays("hello"))
			if err != nil {
				t.Fatal(err)
			}
			drain(t, s)
			s.Close()
			if fc.Len() != 0 {
				t.Errorf("%d entries; want none", fc.Len())
			}
		})
	}
}

func TestCacheEmbeddings(t *testing.T) {
	pv := &fakeProvider{embed: func(_ context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
		return &llm.EmbedResponse{Model: req.Model, Vectors: [][]float32{{1}, {2}}, Usage: llm.Usage{PromptTokens: 4}, HasUsage: true}, nil
	}}
	h, _ := cacheHarness(t, pv, llmservice.Limits{})
	for i, want := range []string{CacheMiss, CacheHit} {
		c := h.cachedCall("priced")
		c.Endpoint = "embeddings"
		res, err := h.g.Embed(context.Background(), c, &llm.EmbedRequest{Input: []string{"a", "b"}, User: "u" + string(rune('0'+i))})
		if err != nil || res.Cache != want || len(res.Response.Vectors) != 2 || res.Usage.PromptTokens != 4 {
			t.Errorf("call %d: %v, cache %q, %+v; want %s", i+1, err, res.Cache, res, want)
		}
	}
	if pv.Calls() != 1 {
		t.Errorf("%d upstream calls; want 1", pv.Calls())
	}
}

func TestChatKey(t *testing.T) {
	key := func(req *llm.ChatRequest) string {
		k := chatKey(req)
		if k == nil {
			return "<nil>"
		}
		return mustJSON(t, k)
	}
	base := func() *llm.ChatRequest {
		r := userSays("hello")
		r.Model = "public"
		return r
	}
	same := []func(r *llm.ChatRequest){
		func(r *llm.ChatRequest) { r.Model = "another" },
		func(r *llm.ChatRequest) { r.User = "u" },
		func(r *llm.ChatRequest) { r.Stream, r.IncludeUsage = true, true },
		func(r *llm.ChatRequest) {
			r.Extra = map[string]json.RawMessage{"metadata": []byte(`{"a":1}`), "store": []byte("true"), "user": []byte(`"x"`)}
		},
		func(r *llm.ChatRequest) {
			r.Messages[0].Content[0].CacheControl = json.RawMessage(`{"type":"ephemeral"}`)
		},
	}
	want := key(base())
	for i, edit := range same {
		r := base()
		edit(r)
		if got := key(r); got != want {
			t.Errorf("edit %d changed the key:\n%s\nwant\n%s", i, got, want)
		}
	}
	differ := []func(r *llm.ChatRequest){
		func(r *llm.ChatRequest) { r.Temperature = f64(0.5) },
		func(r *llm.ChatRequest) { r.Messages[0] = llm.TextMessage(llm.RoleUser, "hello!") },
		func(r *llm.ChatRequest) { r.Extra = map[string]json.RawMessage{"seed": []byte("1")} },
	}
	for i, edit := range differ {
		r := base()
		edit(r)
		if got := key(r); got == want {
			t.Errorf("edit %d kept the key", i)
		}
	}
	r := base()
	r.N = intp(2)
	if got := key(r); got != "<nil>" {
		t.Errorf("n=2: key %s; want none", got)
	}
	// Extra fields and schemas are keyed in canonical form.
	a, b := base(), base()
	a.Extra = map[string]json.RawMessage{"seed": []byte(`{"a":1,"b":2}`)}
	b.Extra = map[string]json.RawMessage{"seed": []byte(`{ "b":2, "a":1 }`)}
	if key(a) != key(b) {
		t.Error("the same extra field in another order changed the key")
	}
	// The caller's request keeps its cache breakpoints.
	r = base()
	r.Messages[0].Content[0].CacheControl = json.RawMessage(`{"type":"ephemeral"}`)
	chatKey(r)
	if r.Messages[0].Content[0].CacheControl == nil {
		t.Error("chatKey dropped the caller's cache_control")
	}
}

func TestCacheable(t *testing.T) {
	one := func(finish string) *llm.ChatResponse {
		return &llm.ChatResponse{Choices: []llm.Choice{{FinishReason: finish}}}
	}
	tests := []struct {
		resp *llm.ChatResponse
		want bool
	}{
		{nil, false},
		{&llm.ChatResponse{}, false},
		{one(llm.FinishStop), true},
		{one(llm.FinishLength), true},
		{one(llm.FinishToolCalls), true},
		{one(llm.FinishContentFilter), false},
		{one(""), false},
		{&llm.ChatResponse{Choices: []llm.Choice{{FinishReason: llm.FinishStop}, {FinishReason: llm.FinishStop}}}, false},
	}
	for i, tt := range tests {
		if got := cacheable(tt.resp); got != tt.want {
			t.Errorf("case %d: cacheable = %v; want %v", i, got, tt.want)
		}
	}
}

func TestPurgeCache(t *testing.T) {
	h, fc := cacheHarness(t, okProvider(), llmservice.Limits{})
	if _, err := h.g.Chat(context.Background(), h.cachedCall("priced"), userSays("hello")); err != nil {
		t.Fatal(err)
	}
	if n, err := h.g.PurgeCache(context.Background(), "t1"); n != 1 || err != nil || fc.Len() != 0 || !h.g.CacheEnabled() {
		t.Errorf("purge: %d, %v, %d left", n, err, fc.Len())
	}
	h2 := newHarness(t, env{})
	if n, err := h2.g.PurgeCache(context.Background(), ""); n != 0 || err != nil || h2.g.CacheEnabled() {
		t.Errorf("without a store: %d, %v", n, err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
