package gateway

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/llm"
)

var (
	errUpstream503 = &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream unavailable", Status: 503}
	errUpstream400 = &llmservice.Error{Kind: llmservice.Invalid, Message: "bad request upstream", Status: 400}
)

// failFirst answers like ok after failing its first n calls with err.
func failFirst(n int, err error, ok func(context.Context, *llm.ChatRequest) (*llm.ChatResponse, error)) func(context.Context, *llm.ChatRequest) (*llm.ChatResponse, error) {
	var calls atomic.Int32
	return func(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
		if int(calls.Add(1)) <= n {
			return nil, err
		}
		return ok(ctx, req)
	}
}

func TestRetries(t *testing.T) {
	usage := &llm.Usage{PromptTokens: 10, CompletionTokens: 7}
	tests := []struct {
		name       string
		chat       func(context.Context, *llm.ChatRequest) (*llm.ChatResponse, error)
		policy     hostpick.Policy
		wantCalls  int
		wantKind   llmservice.Kind
		wantCode   string
		wantStatus int
		wantLog    string
		wantWaits  int
	}{
		{name: "first try", chat: answer("ok", usage), policy: routePolicy(4), wantCalls: 1, wantStatus: 200},
		{name: "a retryable failure is retried", chat: failFirst(1, errUpstream503, answer("ok", usage)), policy: routePolicy(4),
			wantCalls: 2, wantStatus: 200, wantLog: "mock/echo=upstream mock/echo=ok", wantWaits: 1},
		{name: "a 4xx is not retried", chat: failWith(errUpstream400), policy: routePolicy(4),
			wantCalls: 1, wantKind: llmservice.Invalid, wantStatus: 400},
		{name: "exhausted: 503 no_available_hosts", chat: failWith(errUpstream503), policy: routePolicy(4),
			wantCalls: 2, wantKind: llmservice.Unavailable, wantCode: "no_available_hosts", wantStatus: 503,
			wantLog: "mock/echo=upstream mock/echo=upstream", wantWaits: 1},
		{name: "no retries per deployment", chat: failWith(errUpstream503), policy: hostpick.Policy{MaxAttempts: 4, RetriesPerDeployment: -1, FailuresToOpen: 100},
			wantCalls: 1, wantKind: llmservice.Unavailable, wantCode: "no_available_hosts", wantStatus: 503},
		{name: "an adapter's timeout is retried, then a 504", chat: failWith(&llmservice.Error{Kind: llmservice.UpstreamTimeout, Message: "slow"}), policy: routePolicy(4),
			wantCalls: 2, wantKind: llmservice.UpstreamTimeout, wantCode: "upstream_timeout", wantStatus: 504,
			wantLog: "mock/echo=upstream_timeout mock/echo=upstream_timeout", wantWaits: 1},
		{name: "an unreadable answer is a 502", chat: failWith(&llmservice.Error{Kind: llmservice.Upstream, Code: "upstream_unreadable", Message: "garbage"}), policy: routePolicy(4),
			wantCalls: 2, wantKind: llmservice.Upstream, wantCode: "upstream_unreadable", wantStatus: 502,
			wantLog: "mock/echo=upstream mock/echo=upstream", wantWaits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv := &fakeProvider{chat: tt.chat}
			h := newHarness(t, env{instances: []Instance{one("mock", "mock", pv)}, policy: tt.policy})
			res, err := h.g.Chat(context.Background(), h.call("mock/echo"), userSays("hello"))
			if k, code := kindOf(err); k != tt.wantKind || code != tt.wantCode {
				t.Fatalf("err %v; want %v %q", err, tt.wantKind, tt.wantCode)
			}
			if pv.Calls() != tt.wantCalls {
				t.Errorf("%d upstream calls; want %d", pv.Calls(), tt.wantCalls)
			}
			rec := h.meter.only(t)
			if rec.Status != tt.wantStatus || rec.AttemptLog != tt.wantLog || rec.Attempts != tt.wantCalls || rec.Provider != "mock" || rec.UpstreamModel != "echo" {
				t.Errorf("record status %d, log %q, %d attempts, %s/%s; want %d, %q, %d, mock/echo",
					rec.Status, rec.AttemptLog, rec.Attempts, rec.Provider, rec.UpstreamModel, tt.wantStatus, tt.wantLog, tt.wantCalls)
			}
			if w := h.waits.All(); len(w) != tt.wantWaits {
				t.Errorf("waits %v; want %d", w, tt.wantWaits)
			}
			if err == nil && (res.Attempts != tt.wantCalls || res.Instance != "mock" || res.Model != "echo" || res.Public != "mock/echo") {
				t.Errorf("served %+v", res.Served)
			}
		})
	}
}

// An upstream 429 is waited out for as long as its Retry-After says, when
// that is within the router's bound; otherwise, or when it persists, the
// caller gets 429 with the upstream's Retry-After (README's row).
func TestUpstreamRateLimit(t *testing.T) {
	limited := func(ra time.Duration) error {
		return &llmservice.Error{Kind: llmservice.RateLimited, Code: "rate_limit_exceeded", Message: "slow down", Status: 429, RetryAfter: ra}
	}
	tests := []struct {
		name      string
		chat      func(context.Context, *llm.ChatRequest) (*llm.ChatResponse, error)
		wantErr   bool
		wantRA    time.Duration
		wantWaits []time.Duration
	}{
		{"waited out", failFirst(1, limited(2*time.Second), answer("ok", nil)), false, 0, []time.Duration{2 * time.Second}},
		{"persists", failWith(limited(3 * time.Second)), true, 3 * time.Second, []time.Duration{3 * time.Second}},
		{"longer than the router waits", failWith(limited(time.Minute)), true, time.Minute, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, env{instances: []Instance{one("mock", "mock", &fakeProvider{chat: tt.chat})}, policy: routePolicy(4)})
			_, err := h.g.Chat(context.Background(), h.call("mock/echo"), userSays("hello"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v; want an error %v", err, tt.wantErr)
			}
			if err != nil {
				e := llmservice.AsError(err)
				if e.Kind != llmservice.RateLimited || e.RetryAfter != tt.wantRA || e.Kind.HTTPStatus() != 429 {
					t.Errorf("err %+v; want rate_limited after %v", e, tt.wantRA)
				}
				if rec := h.meter.only(t); rec.Status != 429 {
					t.Errorf("recorded status %d; want 429", rec.Status)
				}
			}
			if got := h.waits.All(); !slices.Equal(got, tt.wantWaits) {
				t.Errorf("waits %v; want %v", got, tt.wantWaits)
			}
		})
	}
}

// The gateway's timeout bounds a call: a deadline that passed before any
// attempt is a 504, not a 503.
func TestTimeoutIs504(t *testing.T) {
	pv := okProvider()
	h := newHarness(t, env{instances: []Instance{one("mock", "mock", pv)}, timeout: time.Nanosecond})
	_, err := h.g.Chat(context.Background(), h.call("mock/echo"), userSays("hello"))
	if k, code := kindOf(err); k != llmservice.UpstreamTimeout || code != "upstream_timeout" {
		t.Fatalf("err %v; want upstream_timeout", err)
	}
	if rec := h.meter.only(t); rec.Status != 504 || rec.ErrorType != "upstream_timeout" {
		t.Errorf("record %d %q; want 504 upstream_timeout", rec.Status, rec.ErrorType)
	}
}

// A client that hangs up mid-call is a 499 in the ledger, not an upstream
// failure, and the error still matches context.Canceled.
func TestClientHangUpIs499(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pv := &fakeProvider{chat: func(actx context.Context, _ *llm.ChatRequest) (*llm.ChatResponse, error) {
		cancel()
		<-actx.Done()
		return nil, &llmservice.Error{Kind: llmservice.Upstream, Code: "cancelled", Message: "request cancelled", Err: actx.Err()}
	}}
	h := newHarness(t, env{
		instances: []Instance{one("mock", "mock", pv)},
		policy:    routePolicy(4),
		key:       &llmservice.Key{ID: "k1", TeamID: "t1", Limits: llmservice.Limits{TPM: 1000}},
	})
	_, err := h.g.Chat(ctx, h.call("mock/echo"), userSays("hello"))
	if k, code := kindOf(err); k != llmservice.ClientClosed || code != "client_closed" || !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v; want client_closed matching context.Canceled", err)
	}
	if pv.Calls() != 1 || len(h.waits.All()) != 0 {
		t.Errorf("%d calls, waits %v; want one call, no retry", pv.Calls(), h.waits.All())
	}
	if rec := h.meter.only(t); rec.Status != 499 || rec.ErrorType != "client_closed" {
		t.Errorf("record %d %q; want 499 client_closed", rec.Status, rec.ErrorType)
	}
	if got, want := h.lim.Adjusts(), []adjustCall{{"key:k1:tpm", -8}}; !slices.Equal(got, want) {
		t.Errorf("adjusts %v; want the estimate given back %v", got, want)
	}
}

// A model whose deployments are an instance's hosts fails over from one
// host to the other.
func TestFallbackAcrossHosts(t *testing.T) {
	var first atomic.Pointer[fakeProvider]
	mk := func() *fakeProvider {
		p := &fakeProvider{}
		p.chat = func(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
			if first.CompareAndSwap(nil, p) || first.Load() == p {
				return nil, errUpstream503
			}
			return answer("ok", nil)(ctx, req)
		}
		return p
	}
	a, b := mk(), mk()
	h := newHarness(t, env{
		instances: []Instance{{Name: "pool", Family: "ollama", Hosts: []llm.Provider{a, b}}},
		policy:    hostpick.Policy{MaxAttempts: 4, RetriesPerDeployment: -1, FailuresToOpen: 100},
	})
	res, err := h.g.Chat(context.Background(), h.call("pool/llama"), userSays("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Calls() != 1 || b.Calls() != 1 || res.Attempts != 2 || res.Instance != "pool" {
		t.Errorf("calls %d and %d, served %+v; want one each, 2 attempts", a.Calls(), b.Calls(), res.Served)
	}
	rec := h.meter.only(t)
	okHost, failedHost := "pool#1", "pool#2"
	if first.Load() == a {
		okHost, failedHost = failedHost, okHost
	}
	if want := failedHost + "/llama=upstream " + okHost + "/llama=ok"; rec.AttemptLog != want {
		t.Errorf("attempt log %q; want %q", rec.AttemptLog, want)
	}
}

// A model group falls back to its next model, on another provider or on
// the same one: the answer is the fallback's, priced at the fallback's
// price, and says which member served it.
func TestGroupFallback(t *testing.T) {
	tests := []struct {
		name       string
		fallbackOn string // instance of the fallback model
	}{
		{"another provider", "other"},
		{"the same provider", "mock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fail := func(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
				if req.Model == "primary-up" {
					return nil, errUpstream503
				}
				return answer("ok", &llm.Usage{PromptTokens: 1000, CompletionTokens: 100})(ctx, req)
			}
			mock, other := &fakeProvider{chat: fail}, &fakeProvider{chat: fail}
			h := newHarness(t, env{
				instances: []Instance{one("mock", "mock", mock), one("other", "mock", other)},
				models: []*llmservice.Model{
					{Name: "primary", Provider: "mock", UpstreamModel: "primary-up", InputPerMTok: f64(1), OutputPerMTok: f64(1)},
					{Name: "fallback", Provider: tt.fallbackOn, UpstreamModel: "fallback-up", InputPerMTok: f64(3), OutputPerMTok: f64(5)},
				},
				groups: []*llmservice.ModelGroup{{Name: "grp", Models: []string{"primary", "fallback"}}},
				policy: routePolicy(4),
			})
			res, err := h.g.Chat(context.Background(), h.call("grp"), userSays("hello"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Public != "fallback" || res.Instance != tt.fallbackOn || res.Model != "fallback-up" || res.Attempts != 3 {
				t.Errorf("served %+v; want fallback on %s after 3 attempts", res.Served, tt.fallbackOn)
			}
			if want := llmservice.Nanos(1000*3000 + 100*5000); res.Cost != want {
				t.Errorf("cost %d; want the fallback's price, %d", res.Cost, want)
			}
			rec := h.meter.only(t)
			if rec.Cost != res.Cost || rec.RequestedModel != "grp" || rec.UpstreamModel != "fallback-up" {
				t.Errorf("record %+v", rec)
			}
			wantLog := "mock/primary-up=upstream mock/primary-up=upstream " + tt.fallbackOn + "/fallback-up=ok"
			if rec.AttemptLog != wantLog {
				t.Errorf("attempt log %q; want %q", rec.AttemptLog, wantLog)
			}
		})
	}
}

// Usage the upstream does not report is counted locally and marked
// estimated; reported usage is taken as is and priced.
func TestChatSettle(t *testing.T) {
	tests := []struct {
		name      string
		usage     *llm.Usage
		wantUsage llm.Usage
		wantCost  llmservice.Nanos
	}{
		{"reported", &llm.Usage{PromptTokens: 12, CompletionTokens: 3, CachedTokens: 2}, llm.Usage{PromptTokens: 12, CompletionTokens: 3, CachedTokens: 2}, 12*1000 + 3*2000},
		{"counted", nil, llm.Usage{PromptTokens: 8, CompletionTokens: 3, Estimated: true}, 8*1000 + 3*2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, env{
				instances: []Instance{one("mock", "mock", &fakeProvider{chat: answer("one two three", tt.usage)})},
				models:    pricedModels(),
			})
			c := h.call("priced")
			c.Project, c.Purpose = "proj", "testing"
			res, err := h.g.Chat(context.Background(), c, userSays("hello"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Usage != tt.wantUsage || res.Cost != tt.wantCost {
				t.Errorf("usage %+v cost %d; want %+v %d", res.Usage, res.Cost, tt.wantUsage, tt.wantCost)
			}
			rec := h.meter.only(t)
			want := llmservice.UsageRecord{ID: rec.ID, Time: t0, TeamID: "t1", KeyID: "k1", Project: "proj", Endpoint: "chat", RequestedModel: "priced",
				Provider: "mock", UpstreamModel: "echo", Status: 200, Purpose: "testing", Attempts: 1,
				PromptTokens: tt.wantUsage.PromptTokens, CompletionTokens: tt.wantUsage.CompletionTokens, CacheReadTokens: tt.wantUsage.CachedTokens,
				TokensEstimated: tt.wantUsage.Estimated, Cost: tt.wantCost}
			if rec != want {
				t.Errorf("record\n%+v\nwant\n%+v", rec, want)
			}
			if !strings.HasPrefix(rec.ID, "req_") {
				t.Errorf("record id %q", rec.ID)
			}
		})
	}
}

// The ledger's full: calls are refused with 503 and recorded nowhere.
func TestLedgerFullRefuses(t *testing.T) {
	pv := okProvider()
	h := newHarness(t, env{instances: []Instance{one("mock", "mock", pv)}})
	h.meter.full.Store(true)
	_, err := h.g.Chat(context.Background(), h.call("mock/echo"), userSays("hello"))
	if k, code := kindOf(err); k != llmservice.Unavailable || code != "usage_ledger_unavailable" {
		t.Fatalf("err %v; want unavailable usage_ledger_unavailable", err)
	}
	if n := len(h.meter.Records()); n != 0 || pv.Calls() != 0 {
		t.Errorf("%d records, %d calls; want none", n, pv.Calls())
	}
	h.meter.full.Store(false)
	if _, err := h.g.Chat(context.Background(), h.call("mock/echo"), userSays("hello")); err != nil {
		t.Errorf("after the ledger recovered: %v", err)
	}
}

// Team providers (bring your own key) replace the gateway's for their
// family, and only for that team.
func TestTeamProviders(t *testing.T) {
	own := &fakeProvider{chat: answer("team's own", nil)}
	house := &fakeProvider{chat: answer("house", nil)}
	var asked []string
	h := newHarness(t, env{
		instances: []Instance{one("openai", "openai", house)},
		cfg: func(c *Config) {
			c.TeamProviders = teamProvidersFunc(func(_ context.Context, team, family string) (llm.Provider, bool, error) {
				asked = append(asked, team+"/"+family)
				if team == "byok" {
					return own, true, nil
				}
				if team == "broken" {
					return nil, false, &llmservice.Error{Kind: llmservice.Unavailable, Message: "cannot read credentials"}
				}
				return nil, false, nil
			})
		},
	})
	for _, tt := range []struct{ team, want string }{{"byok", "team's own"}, {"other", "house"}} {
		h.p.Team = &llmservice.Team{ID: tt.team}
		res, err := h.g.Chat(context.Background(), h.call("gpt-4o"), userSays("hi"))
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Response.Choices[0].Message.Text(); got != tt.want {
			t.Errorf("team %s: answer %q; want %q", tt.team, got, tt.want)
		}
	}
	h.p.Team = &llmservice.Team{ID: "broken"}
	if _, err := h.g.Chat(context.Background(), h.call("gpt-4o"), userSays("hi")); llmservice.ErrorKind(err) != llmservice.Unavailable {
		t.Errorf("credentials unreadable: %v; want unavailable", err)
	}
	if want := []string{"byok/openai", "other/openai", "broken/openai"}; !slices.Equal(asked, want) {
		t.Errorf("asked %q; want %q", asked, want)
	}
}

type teamProvidersFunc func(ctx context.Context, team, family string) (llm.Provider, bool, error)

func (f teamProvidersFunc) Provider(ctx context.Context, team, family string) (llm.Provider, bool, error) {
	return f(ctx, team, family)
}

func TestEmbed(t *testing.T) {
	vec := [][]float32{{1, 2}, {3, 4}}
	tests := []struct {
		name      string
		pv        llm.Provider
		wantUsage llm.Usage
		wantKind  llmservice.Kind
	}{
		{"reported usage", &fakeProvider{embed: func(_ context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
			return &llm.EmbedResponse{Model: req.Model, Vectors: vec, Usage: llm.Usage{PromptTokens: 9}, HasUsage: true}, nil
		}}, llm.Usage{PromptTokens: 9}, 0},
		{"counted usage", &fakeProvider{embed: func(_ context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
			return &llm.EmbedResponse{Model: req.Model, Vectors: vec}, nil
		}}, llm.Usage{PromptTokens: 2, Estimated: true}, 0},
		{"a provider without embeddings", chatOnly{okProvider()}, llm.Usage{}, llmservice.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, env{instances: []Instance{one("mock", "mock", tt.pv)}, models: pricedModels()})
			c := h.call("priced")
			c.Endpoint = "embeddings"
			res, err := h.g.Embed(context.Background(), c, &llm.EmbedRequest{Input: []string{"hello", "world"}})
			if llmservice.ErrorKind(err) != tt.wantKind && !(err == nil && tt.wantKind == 0) {
				t.Fatalf("err %v; want %v", err, tt.wantKind)
			}
			rec := h.meter.only(t)
			if err != nil {
				if rec.Status != 400 {
					t.Errorf("recorded %d; want 400", rec.Status)
				}
				return
			}
			if res.Usage != tt.wantUsage || len(res.Response.Vectors) != 2 || res.Public != "priced" {
				t.Errorf("usage %+v, %d vectors, public %q; want %+v", res.Usage, len(res.Response.Vectors), res.Public, tt.wantUsage)
			}
			if want := llmservice.Nanos(tt.wantUsage.PromptTokens * 1000); rec.Cost != want || rec.Endpoint != "embeddings" || rec.PromptTokens != tt.wantUsage.PromptTokens {
				t.Errorf("record cost %d, endpoint %q, prompt %d; want %d embeddings %d", rec.Cost, rec.Endpoint, rec.PromptTokens, want, tt.wantUsage.PromptTokens)
			}
		})
	}
}

// stream chunks: a role, text in two pieces, the finish, the usage.
func helloChunks(u *llm.Usage) []llm.Chunk {
	cs := []llm.Chunk{{ID: "c1", Model: "echo", Role: llm.RoleAssistant}, {Text: "Hel"}, {Text: "lo"}, {FinishReason: llm.FinishStop}}
	if u != nil {
		cs = append(cs, llm.Chunk{Usage: u})
	}
	return cs
}

// drain reads a stream to its end and returns its text.
func drain(t *testing.T, s llm.Stream) (string, error) {
	t.Helper()
	var b strings.Builder
	for {
		ch, err := s.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return b.String(), nil
			}
			return b.String(), err
		}
		b.WriteString(ch.Text)
	}
}

// inflight is how many calls the router counts in flight on a host.
func inflight(t *testing.T, g *Gateway) int64 {
	t.Helper()
	var n int64
	for _, s := range g.Router().States(g.Hosts()) {
		n += int64(s.InFlight)
	}
	return n
}

// A stream read to its end settles once with the upstream's usage, and
// closing it after, even twice, settles nothing more and closes the
// upstream once.
func TestStreamSettlesOnce(t *testing.T) {
	up := &fakeStream{chunks: helloChunks(&llm.Usage{PromptTokens: 5, CompletionTokens: 2})}
	h := newHarness(t, env{
		instances: []Instance{one("mock", "mock", &fakeProvider{stream: streamOf(up)})},
		models:    pricedModels(),
		key:       &llmservice.Key{ID: "k1", TeamID: "t1", Limits: llmservice.Limits{TPM: 10000}},
	})
	req := userSays("hello")
	req.MaxTokens = intp(50)
	s, err := h.g.ChatStream(context.Background(), h.call("priced"), req)
	if err != nil {
		t.Fatal(err)
	}
	if n := inflight(t, h.g); n != 1 {
		t.Errorf("in flight during the stream: %d; want 1", n)
	}
	if s.Public != "priced" || s.Instance != "mock" || s.Attempts != 1 {
		t.Errorf("served %+v", s.Served)
	}
	text, err := drain(t, s)
	if err != nil || text != "Hello" {
		t.Fatalf("read %q, %v", text, err)
	}
	if len(h.meter.Records()) != 1 {
		t.Fatalf("%d records after the end; want 1", len(h.meter.Records()))
	}
	for range 2 {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := up.closes.Load(); n != 1 {
		t.Errorf("upstream closed %d times; want 1", n)
	}
	if n := inflight(t, h.g); n != 0 {
		t.Errorf("in flight after close: %d; want 0", n)
	}
	rec := h.meter.only(t)
	if rec.Status != 200 || !rec.Stream || rec.PromptTokens != 5 || rec.CompletionTokens != 2 || rec.TokensEstimated || rec.Cost != 5*1000+2*2000 || rec.TTFTMS != 0 {
		t.Errorf("record %+v", rec)
	}
	if got, want := h.lim.Adjusts(), []adjustCall{{"key:k1:tpm", 7 - (8 + 50)}}; !slices.Equal(got, want) {
		t.Errorf("adjusts %v; want %v", got, want)
	}
	if got, want := StreamUsage(s), (llm.Usage{PromptTokens: 5, CompletionTokens: 2}); got != want {
		t.Errorf("StreamUsage %+v; want %+v", got, want)
	}
	if got := StreamCost(s); got != 9000 {
		t.Errorf("StreamCost %d; want 9000", got)
	}
}

// A stream the client closes before its end is a 499 with the tokens
// relayed so far, counted locally.
func TestStreamClosedEarly(t *testing.T) {
	up := &fakeStream{chunks: helloChunks(nil)}
	h := newHarness(t, env{instances: []Instance{one("mock", "mock", &fakeProvider{stream: streamOf(up)})}})
	s, err := h.g.ChatStream(context.Background(), h.call("mock/echo"), userSays("hello"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the role chunk (read while routing), then "Hel"
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s.Close()
	rec := h.meter.only(t)
	if rec.Status != 499 || rec.ErrorType != "client_closed" || !rec.TokensEstimated || rec.CompletionTokens != 1 || rec.PromptTokens == 0 {
		t.Errorf("record %+v; want 499 client_closed with 1 estimated completion token", rec)
	}
	if n := up.closes.Load(); n != 1 {
		t.Errorf("upstream closed %d times; want 1", n)
	}
}

// A stream that breaks after its first chunk reports the error to the
// reader and settles as that error.
func TestStreamBreaksMidway(t *testing.T) {
	up := &fakeStream{chunks: helloChunks(nil)[:2], end: &llmservice.Error{Kind: llmservice.Upstream, Message: "connection reset"}}
	h := newHarness(t, env{instances: []Instance{one("mock", "mock", &fakeProvider{stream: streamOf(up)})}})
	s, err := h.g.ChatStream(context.Background(), h.call("mock/echo"), userSays("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drain(t, s); llmservice.ErrorKind(err) != llmservice.Upstream {
		t.Fatalf("read error %v; want the upstream's", err)
	}
	s.Close()
	if rec := h.meter.only(t); rec.Status != 502 || rec.ErrorType != "upstream" || rec.CompletionTokens != 1 {
		t.Errorf("record %+v; want 502 upstream", rec)
	}
}

// Failures before the first chunk are the attempt's: retried, and a
// stream that ends before any chunk is an upstream error.
func TestStreamFirstChunk(t *testing.T) {
	tests := []struct {
		name      string
		streams   []*fakeStream // one per attempt
		wantKind  llmservice.Kind
		wantCalls int
	}{
		{"ended before any chunk, then fine", []*fakeStream{{}, {chunks: helloChunks(nil)}}, 0, 2},
		{"failed before any chunk, then fine", []*fakeStream{{end: errUpstream503}, {chunks: helloChunks(nil)}}, 0, 2},
		{"never any chunk", []*fakeStream{{}, {}}, llmservice.Unavailable, 2},
		{"a 4xx on the first chunk", []*fakeStream{{end: errUpstream400}}, llmservice.Invalid, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			pv := &fakeProvider{stream: func(context.Context, *llm.ChatRequest) (llm.Stream, error) {
				return tt.streams[n.Add(1)-1], nil
			}}
			h := newHarness(t, env{instances: []Instance{one("mock", "mock", pv)}, policy: routePolicy(4)})
			s, err := h.g.ChatStream(context.Background(), h.call("mock/echo"), userSays("hello"))
			if llmservice.ErrorKind(err) != tt.wantKind && !(err == nil && tt.wantKind == 0) {
				t.Fatalf("err %v; want %v", err, tt.wantKind)
			}
			if pv.Calls() != tt.wantCalls {
				t.Errorf("%d calls; want %d", pv.Calls(), tt.wantCalls)
			}
			for i := range tt.wantCalls - 1 {
				if c := tt.streams[i].closes.Load(); c != 1 {
					t.Errorf("failed stream %d closed %d times; want 1", i, c)
				}
			}
			if err != nil {
				if rec := h.meter.only(t); rec.Status != llmservice.AsError(err).Kind.HTTPStatus() {
					t.Errorf("recorded %d for %v", rec.Status, err)
				}
				return
			}
			if text, err := drain(t, s); text != "Hello" || err != nil {
				t.Errorf("read %q, %v", text, err)
			}
			s.Close()
		})
	}
}

// A stream whose first chunk does not come in time is a 504; a client
// that hangs up while waiting for it, a 499.
func TestStreamFirstChunkWait(t *testing.T) {
	blocked := func(ctx context.Context, _ *llm.ChatRequest) (llm.Stream, error) {
		<-ctx.Done()
		return nil, &llmservice.Error{Kind: llmservice.Upstream, Code: "cancelled", Message: "cancelled", Err: ctx.Err()}
	}
	t.Run("timeout", func(t *testing.T) {
		h := newHarness(t, env{instances: []Instance{one("mock", "mock", &fakeProvider{stream: blocked})}, timeout: time.Nanosecond})
		_, err := h.g.ChatStream(context.Background(), h.call("mock/echo"), userSays("hello"))
		if k, code := kindOf(err); k != llmservice.UpstreamTimeout || code != "upstream_timeout" {
			t.Fatalf("err %v; want upstream_timeout", err)
		}
		if rec := h.meter.only(t); rec.Status != 504 {
			t.Errorf("recorded %d; want 504", rec.Status)
		}
	})
	t.Run("hang-up", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		pv := &fakeProvider{stream: func(actx context.Context, req *llm.ChatRequest) (llm.Stream, error) {
			cancel()
			return blocked(actx, req)
		}}
		h := newHarness(t, env{instances: []Instance{one("mock", "mock", pv)}})
		_, err := h.g.ChatStream(ctx, h.call("mock/echo"), userSays("hello"))
		if k, _ := kindOf(err); k != llmservice.ClientClosed || !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v; want client_closed", err)
		}
		if rec := h.meter.only(t); rec.Status != 499 {
			t.Errorf("recorded %d; want 499", rec.Status)
		}
	})
}

// A stream's usage, once the stream settled, is what was settled: asking
// again (dialects ask for the usage and the cost after the end) does not
// count the answer's tokens again.
func TestStreamUsageMemoized(t *testing.T) {
	long := strings.Repeat("a few words of an answer ", 400)
	up := &fakeStream{chunks: []llm.Chunk{{Role: llm.RoleAssistant}, {Text: long}, {FinishReason: llm.FinishStop}}}
	h := newHarness(t, env{instances: []Instance{one("mock", "mock", &fakeProvider{stream: streamOf(up)})}})
	s, err := h.g.ChatStream(context.Background(), h.call("mock/echo"), userSays("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drain(t, s); err != nil {
		t.Fatal(err)
	}
	rec := h.meter.only(t)
	u := StreamUsage(s)
	if u.CompletionTokens != rec.CompletionTokens || u.PromptTokens != rec.PromptTokens || !u.Estimated {
		t.Fatalf("usage %+v; want the settled %d/%d, estimated", u, rec.PromptTokens, rec.CompletionTokens)
	}
	if allocs := testing.AllocsPerRun(20, func() { StreamUsage(s) }); allocs != 0 {
		t.Errorf("StreamUsage after the end allocates %v times a call; want 0 (the settled usage, not a new count)", allocs)
	}
	s.Close()
}

// A request's labels over their bounds are refused before anything else,
// naming the field as the caller's dialect calls it, and recorded nowhere.
func TestCallBounds(t *testing.T) {
	long := strings.Repeat("x", 257)
	tests := []struct {
		name  string
		edit  func(c *Call)
		param string
	}{
		{"model", func(c *Call) { c.Model = long }, "model"},
		{"project", func(c *Call) { c.Project = long }, "X-Project-Id"},
		{"purpose", func(c *Call) { c.Purpose = long }, "X-Purpose"},
		{"project named by the dialect", func(c *Call) { c.Project = long; c.Params.Project = "project_id" }, "project_id"},
		{"model named by the dialect", func(c *Call) { c.Model = long; c.Params.Model = "modelName" }, "modelName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv := okProvider()
			h := newHarness(t, env{instances: []Instance{one("mock", "mock", pv)}})
			for _, run := range []func(c *Call) error{
				func(c *Call) error { _, err := h.g.Chat(context.Background(), c, userSays("hi")); return err },
				func(c *Call) error { _, err := h.g.ChatStream(context.Background(), c, userSays("hi")); return err },
				func(c *Call) error {
					_, err := h.g.Embed(context.Background(), c, &llm.EmbedRequest{Input: []string{"hi"}})
					return err
				},
				func(c *Call) error { // decoded by its dialect
					_, err := h.g.Exchange(context.Background(), c, &Exchange{Raw: &llm.RawRequest{Protocol: llm.OpenAIChat}, Chat: userSays("hi")})
					return err
				},
				func(c *Call) error { // undecoded
					_, err := h.g.Exchange(context.Background(), c, &Exchange{Raw: &llm.RawRequest{Protocol: llm.OpenAIChat},
						Decode: func() (*llm.ChatRequest, error) { return userSays("hi"), nil }})
					return err
				},
			} {
				c := h.call("mock/echo")
				tt.edit(c)
				e := llmservice.AsError(run(c))
				if e.Kind != llmservice.Invalid || e.Param != tt.param || e.Code != "string_above_max_length" ||
					e.Message != "'"+tt.param+"' is too long: 257 bytes, at most 256 are allowed" {
					t.Errorf("err %+v; want invalid naming %q", e, tt.param)
				}
			}
			if n := len(h.meter.Records()); n != 0 || pv.Calls() != 0 {
				t.Errorf("%d records, %d calls; want none", n, pv.Calls())
			}
		})
	}
}

func TestCheckLen(t *testing.T) {
	if err := CheckLen("p", strings.Repeat("x", 10), 10); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	if err := CheckLen("p", "", 0); err != nil {
		t.Errorf("empty at 0: %v", err)
	}
	if err := CheckModel("m", strings.Repeat("x", MaxModelBytes)); err != nil {
		t.Errorf("model at the limit: %v", err)
	}
	e := llmservice.AsError(CheckLen("metadata", strings.Repeat("x", MaxMetadataBytes+1), MaxMetadataBytes))
	if e.Message != "'metadata' is too long: 16385 bytes, at most 16384 are allowed" {
		t.Errorf("message %q", e.Message)
	}
}

func TestHeaderModel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"gpt-4o", "gpt-4o"},
		{"org/model:tag", "org/model:tag"},
		{"with space", "with%20space"},
		{"100%", "100%25"},
		{"line\r\nbreak", "line%0D%0Abreak"},
		{"é", "%C3%A9"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := (Served{Model: tt.in}).HeaderModel(); got != tt.want {
			t.Errorf("HeaderModel(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzHeaderModel(f *testing.F) {
	f.Add("gpt-4o")
	f.Add("a b%\x00\xff")
	f.Fuzz(func(t *testing.T, s string) {
		out := headerSafe(s)
		for i := 0; i < len(out); i++ {
			if c := out[i]; c < 0x21 || c > 0x7e {
				t.Fatalf("headerSafe(%q) = %q holds byte %#x", s, out, c)
			}
		}
	})
}
