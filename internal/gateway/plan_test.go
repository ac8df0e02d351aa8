package gateway

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/llm"
)

// planHarness is a gateway with a catalog, groups, and instances of one
// and two hosts, for resolution tests.
func planHarness(t *testing.T) *harness {
	t.Helper()
	return newHarness(t, env{
		instances: []Instance{
			one("mock", "mock", &fakeProvider{}),
			{Name: "pool", Family: "ollama", Hosts: []llm.Provider{&fakeProvider{}, &fakeProvider{}}},
			one("openai", "openai", &fakeProvider{}),
			one("gemini", "gemini", &fakeProvider{}),
		},
		models: []*llmservice.Model{
			{Name: "house", Provider: "mock", UpstreamModel: "echo", InputPerMTok: f64(1), OutputPerMTok: f64(2)},
			{Name: "plain", Provider: "mock"},
			{Name: "spread", Provider: "mock", Strategy: "least-outstanding", Deployments: []llmservice.Deployment{
				{Provider: "mock", UpstreamModel: "a", Weight: 3},
				{Provider: "pool", Weight: 1, Priority: 1},
			}},
			{Name: "dear", Provider: "mock", InputPerMTok: f64(10), OutputPerMTok: f64(30)},
			{Name: "orphan", Provider: "nowhere"},
		},
		groups: []*llmservice.ModelGroup{
			{Name: "fast", Models: []string{"house", "dear", "pool/llama"}, Strategy: "lowest-latency"},
			{Name: "broken", Models: []string{"house", "no-such-model"}},
			// A group shadows a catalog model of the same name.
			{Name: "plain", Models: []string{"dear"}},
		},
	})
}

type depView struct{ ID, Instance, Model string }

func deps(ds []*hostpick.Deployment) []depView {
	var out []depView
	for _, d := range ds {
		out = append(out, depView{d.ID, d.Instance, d.Model})
	}
	return out
}

func TestResolve(t *testing.T) {
	h := planHarness(t)
	tests := []struct {
		name     string
		model    string
		group    string
		publics  []string    // the targets' public names
		tiers    [][]depView // deployments per tier
		strategy hostpick.Strategy
		maxIn    float64
		maxOut   float64
	}{
		{name: "catalog entry", model: "house", publics: []string{"house"},
			tiers: [][]depView{{{"mock", "mock", "echo"}}}, maxIn: 1000, maxOut: 2000},
		{name: "catalog entry without an upstream name", model: "dear", publics: []string{"dear"},
			tiers: [][]depView{{{"mock", "mock", "dear"}}}, maxIn: 10000, maxOut: 30000},
		{name: "catalog deployments over hosts", model: "spread", publics: []string{"spread"}, strategy: hostpick.LeastOutstanding,
			tiers: [][]depView{{{"mock", "mock", "a"}, {"pool#1", "pool", "spread"}, {"pool#2", "pool", "spread"}}}},
		{name: "a group: its models in order, the dearest prices", model: "fast", group: "fast", publics: []string{"house", "dear", "pool/llama"},
			strategy: hostpick.LowestLatency,
			tiers:    [][]depView{{{"mock", "mock", "echo"}}, {{"mock", "mock", "dear"}}, {{"pool#1", "pool", "llama"}, {"pool#2", "pool", "llama"}}},
			maxIn:    10000, maxOut: 30000},
		{name: "a group before a model of its name", model: "plain", group: "plain", publics: []string{"dear"},
			tiers: [][]depView{{{"mock", "mock", "dear"}}}, maxIn: 10000, maxOut: 30000},
		{name: "instance/model", model: "mock/anything-at-all", publics: []string{"mock/anything-at-all"},
			tiers: [][]depView{{{"mock", "mock", "anything-at-all"}}}},
		{name: "instance/model keeps further slashes", model: "pool/org/model", publics: []string{"pool/org/model"},
			tiers: [][]depView{{{"pool#1", "pool", "org/model"}, {"pool#2", "pool", "org/model"}}}},
		{name: "well-known prefix", model: "gpt-4o", publics: []string{"gpt-4o"},
			tiers: [][]depView{{{"openai", "openai", "gpt-4o"}}}, maxIn: 2500, maxOut: 10000},
		{name: "the longest well-known prefix wins", model: "text-embedding-004", publics: []string{"text-embedding-004"},
			tiers: [][]depView{{{"gemini", "gemini", "text-embedding-004"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := h.g.Resolve(tt.model)
			if err != nil {
				t.Fatal(err)
			}
			if p.Public != tt.model {
				t.Errorf("public %q; want %q", p.Public, tt.model)
			}
			if (p.Group == nil) != (tt.group == "") || p.Group != nil && p.Group.Name != tt.group {
				t.Errorf("group %+v; want %q", p.Group, tt.group)
			}
			var publics []string
			for _, tg := range p.Targets {
				publics = append(publics, tg.Public)
			}
			if !slices.Equal(publics, tt.publics) {
				t.Errorf("targets %q; want %q", publics, tt.publics)
			}
			if len(p.tiers) != len(tt.tiers) {
				t.Fatalf("%d tiers; want %d", len(p.tiers), len(tt.tiers))
			}
			for i := range tt.tiers {
				if got := deps(p.tiers[i]); !slices.Equal(got, tt.tiers[i]) {
					t.Errorf("tier %d: %v; want %v", i, got, tt.tiers[i])
				}
			}
			if p.strategy != tt.strategy {
				t.Errorf("strategy %q; want %q", p.strategy, tt.strategy)
			}
			if p.MaxInputPerTok != tt.maxIn || p.MaxOutputPerTok != tt.maxOut {
				t.Errorf("max prices %v/%v per token; want %v/%v", p.MaxInputPerTok, p.MaxOutputPerTok, tt.maxIn, tt.maxOut)
			}
		})
	}
}

func TestResolveWeightsAndPriorities(t *testing.T) {
	h := planHarness(t)
	p, err := h.g.Resolve("spread")
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]int
	for _, d := range p.tiers[0] {
		got = append(got, [2]int{d.Weight, d.Priority})
	}
	if want := [][2]int{{3, 0}, {1, 1}, {1, 1}}; !slices.Equal(got, want) {
		t.Errorf("weight/priority %v; want %v", got, want)
	}
}

func TestResolveRefuses(t *testing.T) {
	h := planHarness(t)
	tests := []struct {
		model   string
		kind    llmservice.Kind
		code    string
		param   string
		message string
	}{
		{"", llmservice.Invalid, "", "model", "model is required"},
		{strings.Repeat("m", MaxModelBytes+1), llmservice.Invalid, "string_above_max_length", "model", "'model' is too long: 257 bytes, at most 256 are allowed"},
		{"no-such-model", llmservice.NotFound, "model_not_found", "model", "The model 'no-such-model' does not exist or you do not have access to it."},
		{"nowhere/x", llmservice.NotFound, "model_not_found", "model", "The model 'nowhere/x' does not exist or you do not have access to it."},
		{"mock/", llmservice.NotFound, "model_not_found", "model", "The model 'mock/' does not exist or you do not have access to it."},
		{"claude-3-haiku", llmservice.NotFound, "model_not_found", "model", "The model 'claude-3-haiku' is served by provider 'anthropic', which is not configured on this gateway."},
		{"orphan", llmservice.Unavailable, "provider_not_configured", "", "model 'orphan' is mapped to provider 'nowhere', which is not configured"},
		{"broken", llmservice.Unavailable, "model_group_misconfigured", "", "model group 'broken' lists 'no-such-model', which cannot be served: The model 'no-such-model' does not exist or you do not have access to it."},
	}
	for _, tt := range tests {
		_, err := h.g.Resolve(tt.model)
		e := llmservice.AsError(err)
		if e.Kind != tt.kind || e.Code != tt.code || e.Param != tt.param || e.Message != tt.message {
			t.Errorf("Resolve(%.20q) = %+v\nwant %v %q %q %q", tt.model, e, tt.kind, tt.code, tt.param, tt.message)
		}
	}
}

// Plans are built once per catalog: a reload builds them again from the
// new catalog.
func TestPlansCachedUntilReload(t *testing.T) {
	models := []*llmservice.Model{{Name: "house", Provider: "mock", UpstreamModel: "v1"}}
	h := newHarness(t, env{instances: []Instance{one("mock", "mock", &fakeProvider{})}, models: models})
	p1, _ := h.g.Resolve("house")
	p2, _ := h.g.Resolve("house")
	a1, _ := h.g.Resolve("mock/x")
	a2, _ := h.g.Resolve("mock/x")
	if p1 != p2 || a1 != a2 {
		t.Error("a second Resolve built a new plan")
	}
	models[0] = &llmservice.Model{Name: "house", Provider: "mock", UpstreamModel: "v2"}
	if p, _ := h.g.Resolve("house"); p.tiers[0][0].Model != "v1" {
		t.Errorf("before the reload: upstream %q; want the cached v1", p.tiers[0][0].Model)
	}
	if err := h.g.ReloadCatalog(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p, _ := h.g.Resolve("house"); p.tiers[0][0].Model != "v2" {
		t.Errorf("after the reload: upstream %q; want v2", p.tiers[0][0].Model)
	}
	if a3, _ := h.g.Resolve("mock/x"); a3 == a1 {
		t.Error("an ad hoc plan survived the reload")
	}
}

func TestBoundedCache(t *testing.T) {
	var c boundedCache[int]
	if _, ok := c.load("a"); ok {
		t.Error("empty cache loaded a")
	}
	c.store("a", 0, 3)
	c.store("b", 1, 3)
	c.store("a", 99, 3) // already there: kept, not counted again
	if v, ok := c.load("a"); !ok || v != 0 || c.len() != 2 {
		t.Errorf("a = %d, %v, len %d; want 0, true, 2", v, ok, c.len())
	}
	c.store("c", 2, 3)
	if v, ok := c.load("c"); !ok || v != 2 || c.len() != 3 {
		t.Errorf("c = %d, %v, len %d; want 2, true, 3", v, ok, c.len())
	}
	c.store("d", 3, 3) // full: starts over
	for _, k := range []string{"a", "b", "c"} {
		if _, ok := c.load(k); ok {
			t.Errorf("%s survived the cache filling up", k)
		}
	}
	if v, ok := c.load("d"); !ok || v != 3 || c.len() != 1 {
		t.Errorf("d = %d, %v, len %d; want 3, true, 1", v, ok, c.len())
	}
}

// Names outside the catalog do not grow the plan cache past its bound.
func TestAdhocPlansBounded(t *testing.T) {
	h := newHarness(t, env{instances: []Instance{one("mock", "mock", &fakeProvider{})}})
	for i := range maxAdhocPlans + 10 {
		if _, err := h.g.Resolve("mock/m" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26%26))); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.g.catalog.p.Load().adhoc.len(); n > maxAdhocPlans {
		t.Errorf("%d ad hoc plans; want at most %d", n, maxAdhocPlans)
	}
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		list  []string
		model string
		want  bool
	}{
		{nil, "anything", true},
		{[]string{"house"}, "house", true},
		{[]string{"house"}, "houses", false},
		{[]string{"*"}, "anything", true},
		{[]string{"mock/*"}, "mock/echo", true},
		{[]string{"mock/*"}, "mock", false},
		{[]string{"mock/*"}, "mockery/echo", false},
		{[]string{"a", "b"}, "b", true},
		{[]string{"a", "b"}, "c", false},
	}
	for _, tt := range tests {
		if got := allowed(tt.list, tt.model); got != tt.want {
			t.Errorf("allowed(%q, %q) = %v; want %v", tt.list, tt.model, got, tt.want)
		}
	}
}

// Teams and keys are confined to their models, model groups and
// providers (through "instance/*"); a refusal is a 403 naming the model,
// recorded, and nothing reaches upstream.
func TestAccessConfinement(t *testing.T) {
	tests := []struct {
		name    string
		team    llmservice.Team
		key     llmservice.Key
		model   string
		code    string // "" when allowed
		message string
	}{
		{name: "no lists", model: "house"},
		{name: "team model list", team: llmservice.Team{Models: []string{"house"}}, model: "house"},
		{name: "team model list refuses", team: llmservice.Team{Models: []string{"house"}}, model: "dear",
			code: "model_not_allowed", message: "Team 't1' does not have access to model 'dear'"},
		{name: "team confined to a provider", team: llmservice.Team{Models: []string{"mock/*"}}, model: "mock/echo"},
		{name: "team confined to a provider refuses another", team: llmservice.Team{Models: []string{"mock/*"}}, model: "other/echo",
			code: "model_not_allowed", message: "Team 't1' does not have access to model 'other/echo'"},
		{name: "team groups", team: llmservice.Team{ModelGroups: []string{"fast"}}, model: "fast"},
		{name: "team groups refuse another group", team: llmservice.Team{ModelGroups: []string{"fast"}}, model: "slow",
			code: "model_group_not_allowed", message: "Team 't1' does not have access to model group 'slow'"},
		{name: "team groups refuse a model named directly", team: llmservice.Team{ModelGroups: []string{"fast"}}, model: "house",
			code: "model_not_allowed", message: "Team 't1' may only use its model groups: fast"},
		{name: "team groups and models", team: llmservice.Team{ModelGroups: []string{"fast"}, Models: []string{"house"}}, model: "house"},
		{name: "a team's model list does not bind its groups", team: llmservice.Team{Models: []string{"house"}}, model: "slow"},
		{name: "key list", key: llmservice.Key{Models: []string{"fast"}}, model: "fast"},
		{name: "key list refuses a group", key: llmservice.Key{Models: []string{"house"}}, model: "fast",
			code: "model_not_allowed", message: "This API key does not have access to model 'fast'"},
		{name: "key list refuses within the team's", team: llmservice.Team{Models: []string{"house", "dear"}}, key: llmservice.Key{Models: []string{"house"}},
			model: "dear", code: "model_not_allowed", message: "This API key does not have access to model 'dear'"},
		{name: "key confined to a provider", key: llmservice.Key{Models: []string{"other/*"}}, model: "other/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv := okProvider()
			tt.team.ID = "t1"
			tt.key.ID, tt.key.TeamID = "k1", "t1"
			h := newHarness(t, env{
				instances: []Instance{one("mock", "mock", pv), one("other", "mock", pv)},
				models:    []*llmservice.Model{{Name: "house", Provider: "mock"}, {Name: "dear", Provider: "other"}},
				groups:    []*llmservice.ModelGroup{{Name: "fast", Models: []string{"house"}}, {Name: "slow", Models: []string{"dear"}}},
				team:      &tt.team, key: &tt.key,
			})
			_, err := h.g.Chat(context.Background(), h.call(tt.model), userSays("hi"))
			if tt.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e := llmservice.AsError(err)
			if e.Kind != llmservice.Forbidden || e.Code != tt.code || e.Param != "model" || e.Message != tt.message {
				t.Errorf("err %+v; want forbidden %q %q", e, tt.code, tt.message)
			}
			if pv.Calls() != 0 {
				t.Errorf("upstream called %d times", pv.Calls())
			}
			if rec := h.meter.only(t); rec.Status != 403 || rec.ErrorType != tt.code || rec.RequestedModel != tt.model {
				t.Errorf("record %d %q %q; want 403 %q %q", rec.Status, rec.ErrorType, rec.RequestedModel, tt.code, tt.model)
			}
		})
	}
}

func TestIPAllowlist(t *testing.T) {
	tests := []struct {
		list []string
		ip   string
		ok   bool
	}{
		{nil, "203.0.113.9", true},
		{nil, "", true},
		{[]string{"10.0.0.0/8"}, "10.1.2.3", true},
		{[]string{"10.0.0.0/8"}, "11.1.2.3", false},
		{[]string{"10.0.0.0/8"}, "", false}, // unknown address: refused
		{[]string{"192.0.2.7"}, "192.0.2.7", true},
		{[]string{"192.0.2.7"}, "::ffff:192.0.2.7", true}, // IPv4-mapped
		{[]string{"192.0.2.7"}, "192.0.2.8", false},
		{[]string{"2001:db8::/32"}, "2001:db8::1", true},
		{[]string{"not an address"}, "192.0.2.7", false}, // a list of nothing is not "anywhere"
		{[]string{"not an address", "192.0.2.7"}, "192.0.2.7", true},
	}
	for _, tt := range tests {
		p := &Principal{allow: parseAllowlist(tt.list)}
		var ip netip.Addr
		if tt.ip != "" {
			ip = netip.MustParseAddr(tt.ip)
		}
		err := p.CheckIP(ip)
		if tt.ok != (err == nil) {
			t.Errorf("%q from %q: %v; want allowed %v", tt.list, tt.ip, err, tt.ok)
		}
		if err != nil {
			if k, code := kindOf(err); k != llmservice.Unauthenticated || code != "ip_not_allowed" {
				t.Errorf("%q from %q: %v; want unauthenticated ip_not_allowed", tt.list, tt.ip, err)
			}
		}
	}
}

// A call from outside the key's allowlist is refused before anything
// upstream, and recorded as a 401.
func TestCallFromOutsideTheAllowlist(t *testing.T) {
	pv := okProvider()
	h := newHarness(t, env{
		instances: []Instance{one("mock", "mock", pv)},
		key:       &llmservice.Key{ID: "k1", TeamID: "t1", IPAllowlist: []string{"10.0.0.0/8"}},
	})
	c := h.call("mock/echo")
	c.ClientIP = netip.MustParseAddr("192.0.2.1")
	if _, err := h.g.Chat(context.Background(), c, userSays("hi")); llmservice.ErrorKind(err) != llmservice.Unauthenticated {
		t.Fatalf("err %v; want unauthenticated", err)
	}
	c.ClientIP = netip.MustParseAddr("10.9.9.9")
	if _, err := h.g.Chat(context.Background(), c, userSays("hi")); err != nil {
		t.Fatalf("from inside: %v", err)
	}
	recs := h.meter.Records()
	if len(recs) != 2 || recs[0].Status != 401 || recs[0].ErrorType != "ip_not_allowed" || recs[1].Status != 200 || pv.Calls() != 1 {
		t.Errorf("records %+v, %d upstream calls", recs, pv.Calls())
	}
}

func TestModelsListing(t *testing.T) {
	tests := []struct {
		name string
		team llmservice.Team
		key  llmservice.Key
		want []ModelInfo
	}{
		{name: "everything", want: []ModelInfo{
			{"fast", "model-group", 0}, {"house", "mock", 100}, {"mock/echo", "mock", 0}, {"mock/reverse", "mock", 0}, {"slow", "model-group", 0},
		}},
		{name: "team models", team: llmservice.Team{Models: []string{"house", "mock/*"}}, want: []ModelInfo{
			{"fast", "model-group", 0}, {"house", "mock", 100}, {"mock/echo", "mock", 0}, {"mock/reverse", "mock", 0}, {"slow", "model-group", 0},
		}},
		{name: "team groups", team: llmservice.Team{ModelGroups: []string{"fast"}, Models: []string{"house"}}, want: []ModelInfo{
			{"fast", "model-group", 0}, {"house", "mock", 100},
		}},
		{name: "key list", key: llmservice.Key{Models: []string{"slow", "mock/echo"}}, want: []ModelInfo{
			{"mock/echo", "mock", 0}, {"slow", "model-group", 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := one("mock", "mock", &fakeProvider{})
			in.Models = []string{"echo", "reverse"}
			h := newHarness(t, env{
				instances: []Instance{in},
				models: []*llmservice.Model{{Name: "house", Provider: "mock", CreatedAt: time.Unix(100, 0)},
					{Name: "ghost", Provider: "gone"}}, // its provider is not configured: not listed
				groups: []*llmservice.ModelGroup{{Name: "fast", Models: []string{"house"}, CreatedAt: time.Unix(0, 0)},
					{Name: "slow", Models: []string{"house"}, CreatedAt: time.Unix(0, 0)}},
			})
			got := h.g.Models(&Principal{Team: &tt.team, Key: &tt.key})
			if !slices.Equal(got, tt.want) {
				t.Errorf("models %v\nwant %v", got, tt.want)
			}
		})
	}
}

// Catalog prices override the price table's for every deployment of an
// entry, cache prices included; Anthropic deployments get their family's
// cache multipliers for what the catalog leaves out.
func TestPrice(t *testing.T) {
	h := newHarness(t, env{
		instances: []Instance{one("mock", "mock", &fakeProvider{}), one("anthropic", "anthropic", &fakeProvider{})},
		models: []*llmservice.Model{
			{Name: "a", Provider: "anthropic", UpstreamModel: "x", InputPerMTok: f64(4), OutputPerMTok: f64(8)},
			{Name: "b", Provider: "mock", UpstreamModel: "x", InputPerMTok: f64(4), CacheReadPerMTok: f64(0.5), CacheWritePerMTok: f64(6)},
			{Name: "c", Provider: "mock", UpstreamModel: "unpriced-model"},
		},
	})
	tests := []struct {
		model                  string
		in, out, cread, cwrite float64
		cwrite1h               float64
		ok                     bool
	}{
		{"a", 4, 8, 0.4, 5, 8, true},
		{"b", 4, 0, 0.5, 6, 0, true},
		{"c", 0, 0, 0, 0, 0, false},
	}
	for _, tt := range tests {
		p, err := h.g.Resolve(tt.model)
		if err != nil {
			t.Fatal(err)
		}
		d := p.tiers[0][0]
		pr, ok := p.targetOf(d).price(h.g, d)
		if ok != tt.ok || pr.InputPerMTok != tt.in || pr.OutputPerMTok != tt.out || pr.CacheReadPerMTok != tt.cread ||
			pr.CacheWritePerMTok != tt.cwrite || pr.CacheWrite1hPerMTok != tt.cwrite1h {
			t.Errorf("%s: price %+v, %v; want in %v out %v read %v write %v write1h %v, %v", tt.model, pr, ok, tt.in, tt.out, tt.cread, tt.cwrite, tt.cwrite1h, tt.ok)
		}
	}
}

// targetOf finds the group member a deployment belongs to; a deployment
// of no target counts as the primary's.
func TestTargetOf(t *testing.T) {
	h := planHarness(t)
	p, err := h.g.Resolve("fast")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"house", "dear", "pool/llama"} {
		if got := p.targetOf(p.tiers[i][len(p.tiers[i])-1]).Public; got != want {
			t.Errorf("tier %d: target %q; want %q", i, got, want)
		}
	}
	if got := p.targetOf(&hostpick.Deployment{ID: "elsewhere"}).Public; got != "house" {
		t.Errorf("unknown deployment: target %q; want the primary", got)
	}
}
