package gateway

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/budget"
	"github.com/llmservice/llmservice/internal/cache"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/limit"
	"github.com/llmservice/llmservice/internal/llm"
)

// The fakes of this file are built from function fields: a test sets the
// behaviour it needs and leaves the rest, which then fails loudly.

// fakeProvider is an llm.Provider and llm.Embedder whose methods call its
// fields. It counts calls and notes the upstream models it was asked for.
type fakeProvider struct {
	chat   func(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error)
	stream func(ctx context.Context, req *llm.ChatRequest) (llm.Stream, error)
	embed  func(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error)

	mu     sync.Mutex
	calls  int
	models []string
}

var errNotFaked = &llmservice.Error{Kind: llmservice.Internal, Message: "not faked"}

func (f *fakeProvider) note(model string) {
	f.mu.Lock()
	f.calls++
	f.models = append(f.models, model)
	f.mu.Unlock()
}

func (f *fakeProvider) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeProvider) Models() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.models...)
}

func (f *fakeProvider) Chat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	f.note(req.Model)
	if f.chat == nil {
		return nil, errNotFaked
	}
	return f.chat(ctx, req)
}

func (f *fakeProvider) ChatStream(ctx context.Context, req *llm.ChatRequest) (llm.Stream, error) {
	f.note(req.Model)
	if f.stream == nil {
		return nil, errNotFaked
	}
	return f.stream(ctx, req)
}

func (f *fakeProvider) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	f.note(req.Model)
	if f.embed == nil {
		return nil, errNotFaked
	}
	return f.embed(ctx, req)
}

// chatOnly hides a provider's Embed, for a provider without embeddings.
type chatOnly struct{ llm.Provider }

// fakeForwarder is a fakeProvider that also forwards protocols.
type fakeForwarder struct {
	*fakeProvider
	forwards func(p llm.Protocol) bool
	forward  func(ctx context.Context, req *llm.RawRequest, model string) (*llm.RawResponse, error)
	nfwd     atomic.Int32
}

func (f *fakeForwarder) Forwards(p llm.Protocol) bool { return f.forwards != nil && f.forwards(p) }

func (f *fakeForwarder) Forward(ctx context.Context, req *llm.RawRequest, model string) (*llm.RawResponse, error) {
	f.nfwd.Add(1)
	if f.forward == nil {
		return nil, errNotFaked
	}
	return f.forward(ctx, req, model)
}

// answer is a provider chat func that answers text with the given usage
// (none when u is nil).
func answer(text string, u *llm.Usage) func(context.Context, *llm.ChatRequest) (*llm.ChatResponse, error) {
	return func(_ context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
		r := &llm.ChatResponse{ID: "chatcmpl-1", Model: req.Model, Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, text), FinishReason: llm.FinishStop}}}
		if u != nil {
			r.Usage, r.HasUsage = *u, true
		}
		return r, nil
	}
}

// failWith is a provider chat func that always fails with err.
func failWith(err error) func(context.Context, *llm.ChatRequest) (*llm.ChatResponse, error) {
	return func(context.Context, *llm.ChatRequest) (*llm.ChatResponse, error) { return nil, err }
}

// fakeStream yields chunks, then end (io.EOF when nil). It counts Close.
type fakeStream struct {
	chunks []llm.Chunk
	end    error
	// recv, when set, is called before each Recv (to block, or cancel).
	recv   func(i int)
	i      int
	closes atomic.Int32
}

func (s *fakeStream) Recv() (llm.Chunk, error) {
	if s.recv != nil {
		s.recv(s.i)
	}
	if s.i < len(s.chunks) {
		s.i++
		return s.chunks[s.i-1], nil
	}
	if s.end != nil {
		return llm.Chunk{}, s.end
	}
	return llm.Chunk{}, io.EOF
}

func (s *fakeStream) Close() error { s.closes.Add(1); return nil }

// streamOf is a provider stream func handing out s.
func streamOf(s *fakeStream) func(context.Context, *llm.ChatRequest) (llm.Stream, error) {
	return func(context.Context, *llm.ChatRequest) (llm.Stream, error) { return s, nil }
}

// fakeRawBody is an llm.RawBody over fixed bytes, with the usage its
// scanner "saw" once the body was read to its end.
type fakeRawBody struct {
	data   []byte
	usage  *llm.Usage
	text   string
	end    error // returned instead of io.EOF at the end
	read   bool  // read to its end
	closes atomic.Int32
}

func (b *fakeRawBody) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		b.read = true
		if b.end != nil {
			return 0, b.end
		}
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func (b *fakeRawBody) Close() error { b.closes.Add(1); return nil }

func (b *fakeRawBody) Usage() (llm.Usage, bool) {
	if b.usage == nil || !b.read {
		return llm.Usage{}, false
	}
	return *b.usage, true
}

func (b *fakeRawBody) Text() string { return b.text }

// fakeMeter keeps the usage records the gateway hands it.
type fakeMeter struct {
	mu   sync.Mutex
	recs []llmservice.UsageRecord
	full atomic.Bool // reported through Full (LedgerGate)
}

func (m *fakeMeter) Record(r llmservice.UsageRecord) {
	m.mu.Lock()
	m.recs = append(m.recs, r)
	m.mu.Unlock()
}

func (m *fakeMeter) Full() bool { return m.full.Load() }

func (m *fakeMeter) Records() []llmservice.UsageRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]llmservice.UsageRecord(nil), m.recs...)
}

// only returns the one record written, failing the test unless there is
// exactly one.
func (m *fakeMeter) only(t *testing.T) llmservice.UsageRecord {
	t.Helper()
	rs := m.Records()
	if len(rs) != 1 {
		t.Fatalf("%d usage records; want 1: %+v", len(rs), rs)
	}
	return rs[0]
}

// fakeLimiter wraps a real limiter and notes every Adjust; take, when
// set, replaces Take.
type fakeLimiter struct {
	limit.Limiter
	take func(ctx context.Context, rules []limit.Rule, costs []int64) ([]limit.Status, bool, error)

	mu      sync.Mutex
	takes   [][]limit.Rule
	adjusts []adjustCall
}

type adjustCall struct {
	Key   string
	Delta int64
}

func (l *fakeLimiter) Take(ctx context.Context, rules []limit.Rule, costs []int64) ([]limit.Status, bool, error) {
	l.mu.Lock()
	l.takes = append(l.takes, append([]limit.Rule(nil), rules...))
	l.mu.Unlock()
	if l.take != nil {
		return l.take(ctx, rules, costs)
	}
	return l.Limiter.Take(ctx, rules, costs)
}

func (l *fakeLimiter) Adjust(ctx context.Context, st limit.Status, delta int64) error {
	l.mu.Lock()
	l.adjusts = append(l.adjusts, adjustCall{st.Rule.Key, delta})
	l.mu.Unlock()
	return l.Limiter.Adjust(ctx, st, delta)
}

func (l *fakeLimiter) Adjusts() []adjustCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]adjustCall(nil), l.adjusts...)
}

// fakeBudgets wraps a real accountant and notes every reservation's amount.
type fakeBudgets struct {
	*budget.Accountant
	available func(ctx context.Context, s budget.Scope) (llmservice.Nanos, error)

	mu       sync.Mutex
	reserved []llmservice.Nanos
	forgot   []string
}

func (b *fakeBudgets) Reserve(ctx context.Context, scopes []budget.Scope, amount llmservice.Nanos) (*budget.Reservation, error) {
	b.mu.Lock()
	b.reserved = append(b.reserved, amount)
	b.mu.Unlock()
	return b.Accountant.Reserve(ctx, scopes, amount)
}

func (b *fakeBudgets) Available(ctx context.Context, s budget.Scope) (llmservice.Nanos, error) {
	if b.available != nil {
		return b.available(ctx, s)
	}
	return b.Accountant.Available(ctx, s)
}

func (b *fakeBudgets) Forget(key string) {
	b.mu.Lock()
	b.forgot = append(b.forgot, key)
	b.mu.Unlock()
	b.Accountant.Forget(key)
}

func (b *fakeBudgets) Reserved() []llmservice.Nanos {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]llmservice.Nanos(nil), b.reserved...)
}

// status returns a scope's spent and reserved figures.
func (b *fakeBudgets) status(t *testing.T, key string) (spent, reserved llmservice.Nanos) {
	t.Helper()
	st, err := b.Status(context.Background(), budget.Scope{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return st.Spent, st.Reserved
}

// fakeStores serves the gateway's reads through func fields.
type fakeStores struct {
	keyByHash func(ctx context.Context, hash string) (*llmservice.Key, error)
	keyByID   func(ctx context.Context, id string) (*llmservice.Key, error)
	team      func(ctx context.Context, id string) (*llmservice.Team, error)
	models    func(ctx context.Context) ([]*llmservice.Model, error)
	groups    func(ctx context.Context) ([]*llmservice.ModelGroup, error)
}

func (s *fakeStores) FindKeyByHash(ctx context.Context, hash string) (*llmservice.Key, error) {
	if s.keyByHash == nil {
		return nil, llmservice.Errorf(llmservice.Unauthenticated, "no such key")
	}
	return s.keyByHash(ctx, hash)
}

func (s *fakeStores) FindKeyByID(ctx context.Context, id string) (*llmservice.Key, error) {
	if s.keyByID == nil {
		return nil, llmservice.Errorf(llmservice.NotFound, "no such key")
	}
	return s.keyByID(ctx, id)
}

func (s *fakeStores) FindTeamByID(ctx context.Context, id string) (*llmservice.Team, error) {
	if s.team == nil {
		return nil, llmservice.Errorf(llmservice.NotFound, "no such team")
	}
	return s.team(ctx, id)
}

func (s *fakeStores) FindModels(ctx context.Context) ([]*llmservice.Model, error) {
	if s.models == nil {
		return nil, nil
	}
	return s.models(ctx)
}

func (s *fakeStores) FindModelGroups(ctx context.Context) ([]*llmservice.ModelGroup, error) {
	if s.groups == nil {
		return nil, nil
	}
	return s.groups(ctx)
}

// env is what a gateway under test is built from; zero fields take
// defaults (see newEnv).
type env struct {
	instances []Instance
	models    []*llmservice.Model
	groups    []*llmservice.ModelGroup
	team      *llmservice.Team
	key       *llmservice.Key
	policy    hostpick.Policy
	defaults  Defaults
	timeout   time.Duration
	// spend is what the ledger says scopes spent; nil disables budgets.
	spend budget.SpendSource
	cache cache.Store
	// cfg, when set, edits the configuration last.
	cfg func(*Config)
}

// harness is a gateway with its fakes.
type harness struct {
	g       *Gateway
	meter   *fakeMeter
	lim     *fakeLimiter
	budgets *fakeBudgets
	clk     *clock
	p       *Principal
	waits   *waits
}

// waits notes the router's backoff waits instead of sleeping them.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) All() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newHarness(t *testing.T, e env) *harness {
	t.Helper()
	h := &harness{meter: &fakeMeter{}, clk: &clock{now: t0}, waits: &waits{}}
	if e.team == nil {
		e.team = &llmservice.Team{ID: "t1"}
	}
	if e.key == nil {
		e.key = &llmservice.Key{ID: "k1", TeamID: e.team.ID}
	}
	h.p = &Principal{Key: e.key, Team: e.team, allow: parseAllowlist(e.key.IPAllowlist)}
	st := &fakeStores{
		models: func(context.Context) ([]*llmservice.Model, error) { return e.models, nil },
		groups: func(context.Context) ([]*llmservice.ModelGroup, error) { return e.groups, nil },
	}
	h.lim = &fakeLimiter{Limiter: limit.NewLocal(h.clk.Now)}
	cfg := Config{
		Instances: e.instances,
		Stores:    Stores{Keys: st, Teams: st, Catalog: st, Groups: st},
		Meter:     h.meter,
		Logger:    slog.New(slog.DiscardHandler),
		Router:    hostpick.New(e.policy, hostpick.WithSleep(h.waits.sleep), hostpick.WithRand(rand.NewPCG(1, 2))),
		Limiter:   h.lim,
		Defaults:  e.defaults,
		Timeout:   e.timeout,
		Cache:     e.cache,
		Now:       h.clk.Now,
	}
	if e.spend != nil {
		h.budgets = &fakeBudgets{Accountant: budget.New(e.spend, h.clk.Now)}
		cfg.Budgets = h.budgets
	}
	if e.cfg != nil {
		e.cfg(&cfg)
	}
	g, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.g = g
	return h
}

// call returns a chat call of model by the harness's principal.
func (h *harness) call(model string) *Call {
	return &Call{Principal: h.p, Endpoint: "chat", Model: model}
}

// one is a single instance of one host.
func one(name, family string, pv llm.Provider) Instance {
	return Instance{Name: name, Family: family, Hosts: []llm.Provider{pv}}
}

// userSays is a chat request of one user message.
func userSays(text string) *llm.ChatRequest {
	return &llm.ChatRequest{Messages: []llm.Message{llm.TextMessage(llm.RoleUser, text)}}
}

func intp(n int) *int        { return &n }
func f64(v float64) *float64 { return &v }
func zeroSpend() budget.SpendSource {
	return func(context.Context, string, string, time.Time) (llmservice.Nanos, error) { return 0, nil }
}

// kindOf is err's kind and code, for table comparisons.
func kindOf(err error) (llmservice.Kind, string) {
	if err == nil {
		return 0, ""
	}
	e := llmservice.AsError(err)
	return e.Kind, e.Code
}

// routePolicy allows n attempts in all, one retry per deployment, and
// never opens a circuit within a test.
func routePolicy(n int) hostpick.Policy {
	return hostpick.Policy{MaxAttempts: n, RetriesPerDeployment: 1, FailuresToOpen: 100}
}
