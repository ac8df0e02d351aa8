package gateway

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/budget"
	"github.com/llmservice/llmservice/internal/limit"
	"github.com/llmservice/llmservice/internal/llm"
)

func TestEstimatePrompt(t *testing.T) {
	tests := []struct {
		name string
		msgs []llm.Message
		want int64
	}{
		{"none", nil, 0},
		{"one word", []llm.Message{llm.TextMessage(llm.RoleUser, "hello")}, 3 + 1 + 4},
		{"empty message", []llm.Message{llm.TextMessage(llm.RoleUser, "")}, 3 + 0 + 4},
		{"two messages", []llm.Message{llm.TextMessage(llm.RoleSystem, "be brief"), llm.TextMessage(llm.RoleUser, "hello")}, 3 + 2 + 4 + 1 + 4},
		{"two parts", []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: "hello"}, {Type: llm.PartText, Text: "there"}}}}, 3 + 2 + 4},
	}
	for _, tt := range tests {
		if got := estimatePrompt(tt.msgs); got != tt.want {
			t.Errorf("%s: estimatePrompt = %d; want %d", tt.name, got, tt.want)
		}
	}
}

// ruleView is a rule and its cost, for comparisons.
type ruleView struct {
	Key   string
	Limit int64
	Cost  int64
}

func TestRulesOfACall(t *testing.T) {
	tests := []struct {
		name     string
		team     llmservice.Limits
		key      llmservice.Limits
		keyModel map[string]llmservice.ModelLimit
		defaults Defaults
		model    string
		want     []ruleView
	}{
		{name: "no limits anywhere", model: "house"},
		{name: "key and team", model: "house",
			key: llmservice.Limits{RPM: 5, TPM: 500}, team: llmservice.Limits{RPM: 50, TPM: 5000},
			want: []ruleView{{"key:k1:rpm", 5, 1}, {"key:k1:tpm", 500, 30}, {"team:t1:rpm", 50, 1}, {"team:t1:tpm", 5000, 30}}},
		{name: "defaults fill what is unset", model: "house",
			key: llmservice.Limits{TPM: 500}, defaults: Defaults{Key: llmservice.Limits{RPM: 7, TPM: 9}, Team: llmservice.Limits{RPM: 70}},
			want: []ruleView{{"key:k1:rpm", 7, 1}, {"key:k1:tpm", 500, 30}, {"team:t1:rpm", 70, 1}}},
		{name: "catalog model limits apply per key", model: "limited",
			want: []ruleView{{"keymodel:k1:limited:rpm", 3, 1}, {"keymodel:k1:limited:tpm", 300, 30}}},
		{name: "the key's model_limits override the catalog's", model: "limited",
			keyModel: map[string]llmservice.ModelLimit{"limited": {RPM: 1}},
			want:     []ruleView{{"keymodel:k1:limited:rpm", 1, 1}}},
		{name: "a group does not take its first model's limits", model: "grp"},
		{name: "model_limits of a group", model: "grp",
			keyModel: map[string]llmservice.ModelLimit{"grp": {TPM: 40}},
			want:     []ruleView{{"keymodel:k1:grp:tpm", 40, 30}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, env{
				instances: []Instance{one("mock", "mock", &fakeProvider{})},
				models:    []*llmservice.Model{{Name: "house", Provider: "mock"}, {Name: "limited", Provider: "mock", RPM: 3, TPM: 300}},
				groups:    []*llmservice.ModelGroup{{Name: "grp", Models: []string{"limited", "house"}}},
				team:      &llmservice.Team{ID: "t1", Limits: tt.team},
				key:       &llmservice.Key{ID: "k1", TeamID: "t1", Limits: tt.key, ModelLimits: tt.keyModel},
				defaults:  tt.defaults,
			})
			plan, err := h.g.Resolve(tt.model)
			if err != nil {
				t.Fatal(err)
			}
			a := &admission{g: h.g, estimate: 30}
			h.g.rules(a, h.p, plan)
			var got []ruleView
			for i, r := range a.rules {
				if r.Window != time.Minute {
					t.Errorf("rule %s: window %v; want a minute", r.Key, r.Window)
				}
				got = append(got, ruleView{r.Key, r.Limit, a.costs[i]})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("rules = %v\nwant %v", got, tt.want)
			}
		})
	}
}

// okProvider answers every chat with 10 prompt and 7 completion tokens.
func okProvider() *fakeProvider {
	return &fakeProvider{chat: answer("fine", &llm.Usage{PromptTokens: 10, CompletionTokens: 7})}
}

func TestRequestsPerMinute(t *testing.T) {
	pv := okProvider()
	h := newHarness(t, env{
		instances: []Instance{one("mock", "mock", pv)},
		key:       &llmservice.Key{ID: "k1", TeamID: "t1", Limits: llmservice.Limits{RPM: 2}},
	})
	ctx := context.Background()
	for i := range 2 {
		res, err := h.g.Chat(ctx, h.call("mock/echo"), userSays("hello"))
		if err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		if r := res.Rate.Requests; r == nil || r.Remaining != int64(1-i) || r.Rule.Limit != 2 {
			t.Errorf("call %d: requests status %+v; want limit 2, %d remaining", i+1, r, 1-i)
		}
	}
	_, err := h.g.Chat(ctx, h.call("mock/echo"), userSays("hello"))
	if k, code := kindOf(err); k != llmservice.RateLimited || code != "rate_limit_exceeded" {
		t.Fatalf("third call: %v; want rate_limited / rate_limit_exceeded", err)
	}
	var re *RateError
	if !errors.As(err, &re) {
		t.Fatalf("third call: %T; want a *RateError carrying the limits", err)
	}
	hdr := map[string]string{}
	for _, kv := range re.ResponseHeaders() {
		hdr[kv[0]] = kv[1]
	}
	if hdr["X-Ratelimit-Limit-Requests"] != "2" || hdr["X-Ratelimit-Remaining-Requests"] != "0" {
		t.Errorf("headers %v; want limit 2, remaining 0", hdr)
	}
	// The limiter counts in buckets of 1/60 of the window: both calls
	// leave the window a minute and one bucket after they were taken.
	if e := llmservice.AsError(err); e.RetryAfter != 61*time.Second {
		t.Errorf("Retry-After %v; want 1m1s", e.RetryAfter)
	}
	if want := "Rate limit reached for requests per minute of key k1: limit 2. Please try again in " + llmservice.AsError(err).RetryAfter.Round(time.Millisecond).String() + "."; llmservice.AsError(err).Message != want {
		t.Errorf("message %q; want %q", llmservice.AsError(err).Message, want)
	}
	if n := pv.Calls(); n != 2 {
		t.Errorf("upstream called %d times; want 2", n)
	}
	recs := h.meter.Records()
	if len(recs) != 3 || recs[2].Status != 429 || recs[2].ErrorType != "rate_limit_exceeded" || recs[2].Attempts != 0 {
		t.Errorf("records %+v; want the third a 429 rate_limit_exceeded without attempts", recs)
	}
	// Just before the Retry-After the limit still holds; at it, it admits.
	h.clk.Add(61*time.Second - time.Millisecond)
	if _, err := h.g.Chat(ctx, h.call("mock/echo"), userSays("hello")); llmservice.ErrorKind(err) != llmservice.RateLimited {
		t.Errorf("1ms before the Retry-After: %v; want still limited", err)
	}
	h.clk.Add(time.Millisecond)
	if _, err := h.g.Chat(ctx, h.call("mock/echo"), userSays("hello")); err != nil {
		t.Errorf("at the Retry-After: %v", err)
	}
}

func TestTokensPerMinute(t *testing.T) {
	tests := []struct {
		name      string
		tpm       int64
		maxTokens int
		wantErr   string // the refusal's message, "" when admitted
	}{
		{"fits", 100, 50, ""},
		{"exactly the limit", 58, 50, ""}, // 8 prompt tokens + 50
		{"one over: never fits", 57, 50, "Request too large for the tokens per minute of key k1: limit 57, this request needs more. Reduce the prompt or max_tokens."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, env{
				instances: []Instance{one("mock", "mock", okProvider())},
				key:       &llmservice.Key{ID: "k1", TeamID: "t1", Limits: llmservice.Limits{TPM: tt.tpm}},
			})
			req := userSays("hello")
			req.MaxTokens = intp(tt.maxTokens)
			_, err := h.g.Chat(context.Background(), h.call("mock/echo"), req)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e := llmservice.AsError(err)
			if e.Kind != llmservice.RateLimited || e.Message != tt.wantErr || e.RetryAfter != 0 {
				t.Errorf("err %v (retry after %v); want %q without Retry-After", err, e.RetryAfter, tt.wantErr)
			}
		})
	}
}

// After a call, the token limits hold what it really used: the admission
// charged its estimate (prompt estimate + max_tokens) and the settlement
// gives back, or takes, the difference on every TPM rule and no other.
func TestTokenTrueUp(t *testing.T) {
	tests := []struct {
		name      string
		maxTokens *int
		usage     *llm.Usage // nil: upstream reports none
		wantDelta int64
	}{
		{"used less than max_tokens", intp(100), &llm.Usage{PromptTokens: 10, CompletionTokens: 7}, 17 - (8 + 100)},
		{"used more than estimated", intp(1), &llm.Usage{PromptTokens: 30, CompletionTokens: 40}, 70 - (8 + 1)},
		{"exactly the estimate", intp(2), &llm.Usage{PromptTokens: 8, CompletionTokens: 2}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv := &fakeProvider{chat: answer("fine", tt.usage)}
			h := newHarness(t, env{
				instances: []Instance{one("mock", "mock", pv)},
				team:      &llmservice.Team{ID: "t1", Limits: llmservice.Limits{RPM: 100, TPM: 10000}},
				key:       &llmservice.Key{ID: "k1", TeamID: "t1", Limits: llmservice.Limits{TPM: 1000}},
			})
			req := userSays("hello")
			req.MaxTokens = tt.maxTokens
			res, err := h.g.Chat(context.Background(), h.call("mock/echo"), req)
			if err != nil {
				t.Fatal(err)
			}
			var want []adjustCall
			if tt.wantDelta != 0 {
				want = []adjustCall{{"key:k1:tpm", tt.wantDelta}, {"team:t1:tpm", tt.wantDelta}}
			}
			if got := h.lim.Adjusts(); !slices.Equal(got, want) {
				t.Errorf("adjusts %v; want %v", got, want)
			}
			if got, want := res.Rate.Tokens.Rule.Key, "key:k1:tpm"; got != want {
				t.Errorf("tightest token rule %q; want %q", got, want)
			}
			// What the window holds now is what the call used.
			st, _, err := h.lim.Limiter.Take(context.Background(), []limit.Rule{{Key: "key:k1:tpm", Limit: 1000, Window: time.Minute}}, []int64{0})
			if err != nil {
				t.Fatal(err)
			}
			if used := 1000 - st[0].Remaining; used != int64(res.Usage.Total()) {
				t.Errorf("the key's TPM window holds %d tokens; want the %d used", used, res.Usage.Total())
			}
		})
	}
}

// A call that fails upstream gives its whole token estimate back, and
// keeps its request counted.
func TestFailedCallGivesTokensBack(t *testing.T) {
	pv := &fakeProvider{chat: failWith(&llmservice.Error{Kind: llmservice.Invalid, Message: "upstream says no", Status: 400})}
	h := newHarness(t, env{
		instances: []Instance{one("mock", "mock", pv)},
		key:       &llmservice.Key{ID: "k1", TeamID: "t1", Limits: llmservice.Limits{RPM: 10, TPM: 1000}},
	})
	req := userSays("hello")
	req.MaxTokens = intp(20)
	if _, err := h.g.Chat(context.Background(), h.call("mock/echo"), req); llmservice.ErrorKind(err) != llmservice.Invalid {
		t.Fatalf("err %v; want the upstream's invalid", err)
	}
	if got, want := h.lim.Adjusts(), []adjustCall{{"key:k1:tpm", -28}}; !slices.Equal(got, want) {
		t.Errorf("adjusts %v; want %v", got, want)
	}
}

// A limiter that cannot answer admits the call rather than failing it.
func TestLimiterFailureAdmits(t *testing.T) {
	pv := okProvider()
	h := newHarness(t, env{
		instances: []Instance{one("mock", "mock", pv)},
		key:       &llmservice.Key{ID: "k1", TeamID: "t1", Limits: llmservice.Limits{RPM: 1}},
	})
	h.lim.take = func(context.Context, []limit.Rule, []int64) ([]limit.Status, bool, error) {
		return nil, false, errors.New("redis: connection refused")
	}
	for range 3 {
		res, err := h.g.Chat(context.Background(), h.call("mock/echo"), userSays("hello"))
		if err != nil {
			t.Fatalf("with a failing limiter: %v; want the call admitted", err)
		}
		if res.Rate.Requests != nil || res.Rate.Tokens != nil {
			t.Errorf("rate info %+v; want none when the limiter failed", res.Rate)
		}
	}
	if got := h.lim.Adjusts(); len(got) != 0 {
		t.Errorf("adjusts %v; want none (nothing was taken)", got)
	}
}

// pricedModels are a model at $1/$2 per million tokens (1000 and 2000
// nano-dollars a token) and one with no price at all.
func pricedModels() []*llmservice.Model {
	return []*llmservice.Model{
		{Name: "priced", Provider: "mock", UpstreamModel: "echo", InputPerMTok: f64(1), OutputPerMTok: f64(2)},
		{Name: "dear", Provider: "mock", UpstreamModel: "echo", InputPerMTok: f64(10), OutputPerMTok: f64(30)},
		{Name: "free", Provider: "mock", UpstreamModel: "echo"},
	}
}

func TestBudgetReservation(t *testing.T) {
	tests := []struct {
		name         string
		model        string
		teamBudget   *float64
		keyBudget    *float64
		spent        llmservice.Nanos // what the ledger says each scope spent
		maxTokens    *int
		wantReserved []llmservice.Nanos
		wantMax      *int // the max_tokens upstream saw
		wantKind     llmservice.Kind
		wantCode     string
		wantSpent    llmservice.Nanos // the team's spend after the call
	}{
		{name: "max_tokens set: prompt and max_tokens at the dearest price", model: "priced", teamBudget: f64(1), maxTokens: intp(100),
			wantReserved: []llmservice.Nanos{8*1000 + 100*2000}, wantMax: intp(100), wantSpent: 10*1000 + 7*2000},
		{name: "no max_tokens: capped at the default reserve", model: "priced", teamBudget: f64(1),
			wantReserved: []llmservice.Nanos{8*1000 + defaultReserveTokens*2000}, wantMax: intp(defaultReserveTokens), wantSpent: 24000},
		{name: "no max_tokens: capped to what the budget covers", model: "priced", teamBudget: f64(0.0001),
			wantReserved: []llmservice.Nanos{8*1000 + 46*2000}, wantMax: intp(46), wantSpent: 24000},
		{name: "the key's budget is the tighter", model: "priced", teamBudget: f64(1), keyBudget: f64(0.0001),
			wantReserved: []llmservice.Nanos{8*1000 + 46*2000}, wantMax: intp(46), wantSpent: 24000},
		{name: "unpriced models hold nothing", model: "free", teamBudget: f64(0.0001), wantMax: nil},
		{name: "spent budget refuses", model: "priced", teamBudget: f64(0.0001), spent: 100_000, maxTokens: intp(1),
			wantReserved: []llmservice.Nanos{8*1000 + 2000}, wantMax: nil, wantKind: llmservice.BudgetExceeded, wantCode: "budget_exceeded", wantSpent: 100_000},
		{name: "max_tokens above what is left refuses", model: "priced", teamBudget: f64(0.0001), maxTokens: intp(1000),
			wantReserved: []llmservice.Nanos{8*1000 + 1000*2000}, wantKind: llmservice.BudgetExceeded, wantCode: "budget_exceeded"},
		{name: "no budget: nothing held", model: "priced", maxTokens: intp(5), wantMax: intp(5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var upstreamMax *int
			pv := &fakeProvider{chat: func(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
				upstreamMax = req.MaxTokens
				return answer("fine", &llm.Usage{PromptTokens: 10, CompletionTokens: 7})(ctx, req)
			}}
			h := newHarness(t, env{
				instances: []Instance{one("mock", "mock", pv)},
				models:    pricedModels(),
				team:      &llmservice.Team{ID: "t1", Limits: llmservice.Limits{MaxBudgetUSD: tt.teamBudget}},
				key:       &llmservice.Key{ID: "k1", TeamID: "t1", Limits: llmservice.Limits{MaxBudgetUSD: tt.keyBudget}},
				spend: func(context.Context, string, string, time.Time) (llmservice.Nanos, error) {
					return tt.spent, nil
				},
			})
			req := userSays("hello")
			req.MaxTokens = tt.maxTokens
			_, err := h.g.Chat(context.Background(), h.call(tt.model), req)
			if k, code := kindOf(err); k != tt.wantKind || code != tt.wantCode {
				t.Fatalf("err %v; want kind %v code %q", err, tt.wantKind, tt.wantCode)
			}
			if got := h.budgets.Reserved(); !slices.Equal(got, tt.wantReserved) {
				t.Errorf("reserved %v; want %v", got, tt.wantReserved)
			}
			switch {
			case (upstreamMax == nil) != (tt.wantMax == nil):
				t.Errorf("upstream max_tokens %v; want %v", upstreamMax, tt.wantMax)
			case upstreamMax != nil && *upstreamMax != *tt.wantMax:
				t.Errorf("upstream max_tokens %d; want %d", *upstreamMax, *tt.wantMax)
			}
			if tt.teamBudget != nil {
				spent, reserved := h.budgets.status(t, "team:t1")
				if spent != tt.wantSpent || reserved != 0 {
					t.Errorf("team spent %d, reserved %d after the call; want %d and 0", spent, reserved, tt.wantSpent)
				}
			}
			if tt.wantKind != 0 {
				rec := h.meter.only(t)
				if rec.Status != 429 || rec.ErrorType != tt.wantCode || pv.Calls() != 0 {
					t.Errorf("record %d %q, %d upstream calls; want 429 %q and none", rec.Status, rec.ErrorType, pv.Calls(), tt.wantCode)
				}
			}
		})
	}
}

// A call the budget refuses takes nothing from the rate limits: the
// request the limiter counted is given back, and the tokens.
func TestBudgetRefusalRefundsLimits(t *testing.T) {
	h := newHarness(t, env{
		instances: []Instance{one("mock", "mock", okProvider())},
		models:    pricedModels(),
		team:      &llmservice.Team{ID: "t1", Limits: llmservice.Limits{MaxBudgetUSD: f64(0.00001)}},
		key:       &llmservice.Key{ID: "k1", TeamID: "t1", Limits: llmservice.Limits{RPM: 1, TPM: 1000}},
		spend:     zeroSpend(),
	})
	req := userSays("hello")
	req.MaxTokens = intp(100)
	_, err := h.g.Chat(context.Background(), h.call("priced"), req)
	if llmservice.ErrorKind(err) != llmservice.BudgetExceeded {
		t.Fatalf("err %v; want budget_exceeded", err)
	}
	want := []adjustCall{{"key:k1:rpm", -1}, {"key:k1:tpm", -108}}
	if got := h.lim.Adjusts(); !slices.Equal(got, want) {
		t.Errorf("adjusts %v; want %v", got, want)
	}
	// The one request a minute is still there for a call that fits.
	req.MaxTokens = intp(1)
	if _, err := h.g.Chat(context.Background(), h.call("priced"), req); err != nil {
		t.Errorf("a call within the budget after the refusal: %v", err)
	}
}

// The reservation of a call that fails upstream is released, nothing spent.
func TestBudgetReleasedOnFailure(t *testing.T) {
	pv := &fakeProvider{chat: failWith(&llmservice.Error{Kind: llmservice.Upstream, Message: "bad gateway", Status: 502})}
	h := newHarness(t, env{
		instances: []Instance{one("mock", "mock", pv)},
		models:    pricedModels(),
		team:      &llmservice.Team{ID: "t1", Limits: llmservice.Limits{MaxBudgetUSD: f64(1)}},
		spend:     zeroSpend(),
		policy:    routePolicy(2),
	})
	req := userSays("hello")
	req.MaxTokens = intp(10)
	if _, err := h.g.Chat(context.Background(), h.call("priced"), req); err == nil {
		t.Fatal("want the upstream failure")
	}
	if spent, reserved := h.budgets.status(t, "team:t1"); spent != 0 || reserved != 0 {
		t.Errorf("spent %d, reserved %d; want both 0", spent, reserved)
	}
}

func TestBudgetScopes(t *testing.T) {
	p := &Principal{
		Team: &llmservice.Team{ID: "acme", Limits: llmservice.Limits{MaxBudgetUSD: f64(2.5), BudgetPeriod: "monthly"}},
		Key:  &llmservice.Key{ID: "k9", Limits: llmservice.Limits{MaxBudgetUSD: f64(0.25), BudgetPeriod: "daily"}},
	}
	want := []budget.Scope{
		{Key: "team:acme", Label: "team 'acme'", Limit: 2_500_000_000, Period: "monthly", TeamID: "acme"},
		{Key: "key:k9", Label: "key k9", Limit: 250_000_000, Period: "daily", TeamID: "acme", KeyID: "k9"},
	}
	if got := budgetScopes(p); !slices.Equal(got, want) {
		t.Errorf("scopes %+v\nwant %+v", got, want)
	}
	p.Team.MaxBudgetUSD, p.Key.MaxBudgetUSD = nil, nil
	if got := budgetScopes(p); len(got) != 0 {
		t.Errorf("scopes without budgets %+v; want none", got)
	}
}

func TestTeamBudget(t *testing.T) {
	h := newHarness(t, env{
		instances: []Instance{one("mock", "mock", okProvider())},
		models:    pricedModels(),
		team:      &llmservice.Team{ID: "t1", Limits: llmservice.Limits{MaxBudgetUSD: f64(1), BudgetPeriod: "daily"}},
		spend: func(_ context.Context, team, key string, from time.Time) (llmservice.Nanos, error) {
			if team != "t1" || key != "" || !from.Equal(time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("spend read for %q %q from %v", team, key, from)
			}
			return 250_000_000, nil
		},
	})
	v, err := h.g.TeamBudget(context.Background(), h.p.Team)
	if err != nil {
		t.Fatal(err)
	}
	if v.SpentUSD != 0.25 || v.ReservedUSD != 0 || *v.RemainingUSD != 0.75 || v.Period != "daily" ||
		!v.PeriodStart.Equal(time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)) || !v.ResetsAt.Equal(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("budget view %+v", v)
	}
	// Without a budget, nothing is read.
	v, err = h.g.TeamBudget(context.Background(), &llmservice.Team{ID: "t2"})
	if err != nil || v.MaxBudgetUSD != nil || v.RemainingUSD != nil {
		t.Errorf("no budget: %+v, %v", v, err)
	}
}

func TestRateInfoHeaders(t *testing.T) {
	req := &limit.Status{Rule: limit.Rule{Key: "key:k:rpm", Limit: 60}, Remaining: 59, ResetIn: 1500 * time.Microsecond}
	tok := &limit.Status{Rule: limit.Rule{Key: "key:k:tpm", Limit: 1000}, Remaining: 10, ResetIn: 30 * time.Second}
	got := RateInfo{Requests: req, Tokens: tok}.Headers()
	want := [][2]string{
		{"X-Ratelimit-Limit-Requests", "60"}, {"X-Ratelimit-Remaining-Requests", "59"}, {"X-Ratelimit-Reset-Requests", "2ms"},
		{"X-Ratelimit-Limit-Tokens", "1000"}, {"X-Ratelimit-Remaining-Tokens", "10"}, {"X-Ratelimit-Reset-Tokens", "30s"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("headers %v\nwant %v", got, want)
	}
	if got := (RateInfo{}).Headers(); len(got) != 0 {
		t.Errorf("no limits: headers %v; want none", got)
	}
}

func TestTightest(t *testing.T) {
	st := []limit.Status{
		{Rule: limit.Rule{Key: "key:k:rpm"}, Remaining: 5},
		{Rule: limit.Rule{Key: "key:k:tpm"}, Remaining: 500},
		{Rule: limit.Rule{Key: "team:t:rpm"}, Remaining: 2},
		{Rule: limit.Rule{Key: "team:t:tpm"}, Remaining: 900},
	}
	ri := tightest(st)
	if ri.Requests.Rule.Key != "team:t:rpm" || ri.Tokens.Rule.Key != "key:k:tpm" {
		t.Errorf("tightest: requests %s, tokens %s; want team:t:rpm and key:k:tpm", ri.Requests.Rule.Key, ri.Tokens.Rule.Key)
	}
}

func TestRefusal(t *testing.T) {
	tests := []struct {
		name string
		st   []limit.Status
		want string
		ra   time.Duration
	}{
		{"the first refused rule", []limit.Status{
			{Rule: limit.Rule{Name: "requests per minute of key k"}, Allowed: true},
			{Rule: limit.Rule{Name: "tokens per minute of team 't'", Limit: 100}, RetryAfter: 1234567 * time.Microsecond},
		}, "Rate limit reached for tokens per minute of team 't': limit 100. Please try again in 1.235s.", 1234567 * time.Microsecond},
		{"too large", []limit.Status{{Rule: limit.Rule{Name: "tokens per minute of key k", Limit: 10}, TooLarge: true}},
			"Request too large for the tokens per minute of key k: limit 10, this request needs more. Reduce the prompt or max_tokens.", 0},
		{"none named", []limit.Status{{Allowed: true}}, "Rate limit reached", 0},
	}
	for _, tt := range tests {
		e := llmservice.AsError(refusal(tt.st))
		if e.Kind != llmservice.RateLimited || e.Code != "rate_limit_exceeded" || e.Message != tt.want || e.RetryAfter != tt.ra {
			t.Errorf("%s: %+v; want %q after %v", tt.name, e, tt.want, tt.ra)
		}
	}
}
