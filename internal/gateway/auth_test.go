package gateway

import (
	"context"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/budget"
	"github.com/llmservice/llmservice/internal/httpx"
)

// authHarness is a gateway over fake stores holding keys by secret, one
// team, and counting key reads.
type authHarness struct {
	g      *Gateway
	clk    *clock
	reads  atomic.Int32
	teams  atomic.Int32
	keys   map[string]*llmservice.Key // by hash
	tokens map[string]string          // JWT -> key ID
	bud    *fakeBudgets
}

func newAuthHarness(t *testing.T, keys ...*llmservice.Key) *authHarness {
	t.Helper()
	a := &authHarness{clk: &clock{now: t0}, keys: map[string]*llmservice.Key{}, tokens: map[string]string{}}
	for _, k := range keys {
		a.keys[k.KeyHash] = k
	}
	st := &fakeStores{
		keyByHash: func(_ context.Context, hash string) (*llmservice.Key, error) {
			a.reads.Add(1)
			if k, ok := a.keys[hash]; ok {
				c := *k
				return &c, nil
			}
			return nil, llmservice.Errorf(llmservice.NotFound, "no such key")
		},
		keyByID: func(_ context.Context, id string) (*llmservice.Key, error) {
			a.reads.Add(1)
			for _, k := range a.keys {
				if k.ID == id {
					c := *k
					return &c, nil
				}
			}
			return nil, llmservice.Errorf(llmservice.NotFound, "no such key")
		},
		team: func(_ context.Context, id string) (*llmservice.Team, error) {
			a.teams.Add(1)
			if id == "gone" {
				return nil, llmservice.Errorf(llmservice.NotFound, "no such team")
			}
			return &llmservice.Team{ID: id, Name: "team " + id}, nil
		},
	}
	a.bud = &fakeBudgets{Accountant: budget.New(zeroSpend(), a.clk.Now)}
	g, err := New(context.Background(), Config{
		Stores:  Stores{Keys: st, Teams: st, Catalog: st},
		Meter:   &fakeMeter{},
		Now:     a.clk.Now,
		Budgets: a.bud,
		Refresh: time.Minute,
		Tokens: verifierFunc(func(_ context.Context, tok string) (string, error) {
			if id, ok := a.tokens[tok]; ok {
				return id, nil
			}
			return "", &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "token_not_valid", Message: "Given token not valid for any token type"}
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	a.g = g
	return a
}

type verifierFunc func(ctx context.Context, tok string) (string, error)

func (f verifierFunc) Verify(ctx context.Context, tok string) (string, error) { return f(ctx, tok) }

func keyOf(id, secret string, edit func(k *llmservice.Key)) *llmservice.Key {
	k := &llmservice.Key{ID: id, TeamID: "t1", KeyHash: llmservice.HashSecret(secret)}
	if edit != nil {
		edit(k)
	}
	return k
}

func TestAuthenticate(t *testing.T) {
	past, future := t0.Add(-time.Hour), t0.Add(time.Hour)
	a := newAuthHarness(t,
		keyOf("ok", "sk-ok", nil),
		keyOf("revoked", "sk-revoked", func(k *llmservice.Key) { k.RevokedAt = &past }),
		keyOf("expired", "sk-expired", func(k *llmservice.Key) { k.ExpiresAt = &past }),
		keyOf("expiring", "sk-expiring", func(k *llmservice.Key) { k.ExpiresAt = &future }),
		keyOf("orphan", "sk-orphan", func(k *llmservice.Key) { k.TeamID = "gone" }),
		keyOf("fenced", "sk-fenced", func(k *llmservice.Key) { k.IPAllowlist = []string{"10.0.0.0/8"} }),
	)
	tests := []struct {
		key     string
		wantID  string
		message string
	}{
		{"sk-ok", "ok", ""},
		{"sk-expiring", "expiring", ""},
		{"", "", "missing API key"},
		{"sk-unknown", "", "Incorrect API key provided"},
		{"sk-revoked", "", "API key has been revoked"},
		{"sk-expired", "", "API key has expired"},
		{"sk-orphan", "", "Incorrect API key provided"},
		{"sk-fenced", "", "Unauthorized IP address"}, // from no known address
	}
	for _, tt := range tests {
		p, err := a.g.Authenticate(context.Background(), tt.key)
		if tt.message != "" {
			if e := llmservice.AsError(err); e.Kind != llmservice.Unauthenticated || e.Message != tt.message {
				t.Errorf("%q: %v; want unauthenticated %q", tt.key, err, tt.message)
			}
			continue
		}
		if err != nil || p.Key.ID != tt.wantID || p.Team.ID != p.Key.TeamID || p.Team.Name != "team "+p.Key.TeamID {
			t.Errorf("%q: %+v, %v; want key %s with its team", tt.key, p, err, tt.wantID)
		}
	}
	// The allowlist is checked against the client address in ctx.
	for _, c := range []struct {
		ip string
		ok bool
	}{{"10.1.2.3", true}, {"192.0.2.1", false}} {
		ctx := httpx.WithClientIP(context.Background(), netip.MustParseAddr(c.ip))
		p, err := a.g.Authenticate(ctx, "sk-fenced")
		if c.ok && (err != nil || p.Key.ID != "fenced") {
			t.Errorf("fenced key from %s: %+v, %v; want it admitted", c.ip, p, err)
		}
		if k, code := kindOf(err); !c.ok && (k != llmservice.Unauthenticated || code != "ip_not_allowed") {
			t.Errorf("fenced key from %s: %v; want ip_not_allowed", c.ip, err)
		}
	}
}

// A known key is read once per refresh; its expiry bites on the cached
// copy as soon as it passes.
func TestAuthenticateCachesAndExpires(t *testing.T) {
	exp := t0.Add(90 * time.Second)
	a := newAuthHarness(t, keyOf("k", "sk-k", func(k *llmservice.Key) { k.ExpiresAt = &exp }))
	ctx := context.Background()
	for range 5 {
		if _, err := a.g.Authenticate(ctx, "sk-k"); err != nil {
			t.Fatal(err)
		}
	}
	if n := a.reads.Load(); n != 1 {
		t.Errorf("%d key reads for 5 calls; want 1", n)
	}
	a.clk.Add(time.Minute + time.Second) // past the refresh
	if _, err := a.g.Authenticate(ctx, "sk-k"); err != nil {
		t.Fatal(err)
	}
	if n := a.reads.Load(); n != 2 {
		t.Errorf("%d key reads after the refresh; want 2", n)
	}
	a.clk.Add(29 * time.Second) // at the expiry
	if _, err := a.g.Authenticate(ctx, "sk-k"); llmservice.AsError(err).Message != "API key has expired" {
		t.Errorf("at the expiry: %v; want expired", err)
	}
	if n := a.reads.Load(); n != 2 {
		t.Errorf("%d key reads; want the expiry checked on the cached copy", n)
	}
}

// A JWT access token stands for its key: the key is read by ID once, and
// later tokens of the same key use the bearer keys' cache.
func TestAuthenticateToken(t *testing.T) {
	past := t0.Add(-time.Hour)
	a := newAuthHarness(t,
		keyOf("k", "sk-k", nil),
		keyOf("dead", "sk-dead", func(k *llmservice.Key) { k.RevokedAt = &past }))
	a.tokens["aaa.bbb.ccc"] = "k"
	a.tokens["ddd.eee.fff"] = "k"
	a.tokens["ggg.hhh.iii"] = "dead"
	a.tokens["jjj.kkk.lll"] = "missing"
	ctx := context.Background()
	for _, tok := range []string{"aaa.bbb.ccc", "ddd.eee.fff", "aaa.bbb.ccc"} {
		p, err := a.g.Authenticate(ctx, tok)
		if err != nil || p.Key.ID != "k" {
			t.Fatalf("%s: %+v, %v", tok, p, err)
		}
	}
	if n := a.reads.Load(); n != 1 {
		t.Errorf("%d key reads for three tokens of one key; want 1", n)
	}
	if _, err := a.g.Authenticate(ctx, "sk-k"); err != nil || a.reads.Load() != 1 {
		t.Errorf("the bearer key after its token: %v, %d reads; want the cached principal", err, a.reads.Load())
	}
	tests := []struct{ tok, code, msg string }{
		{"ggg.hhh.iii", "invalid_api_key", "token's key is no longer valid"},
		{"jjj.kkk.lll", "invalid_api_key", "Incorrect API key provided"},
		{"xxx.yyy.zzz", "token_not_valid", "Given token not valid for any token type"},
	}
	for _, tt := range tests {
		_, err := a.g.Authenticate(ctx, tt.tok)
		if e := llmservice.AsError(err); e.Kind != llmservice.Unauthenticated || e.Code != tt.code || e.Message != tt.msg {
			t.Errorf("%s: %v; want %s %q", tt.tok, err, tt.code, tt.msg)
		}
	}
	// A key that looks like a token is a key when it starts with sk-.
	if _, err := a.g.Authenticate(ctx, "sk-a.b.c"); llmservice.AsError(err).Message != "Incorrect API key provided" {
		t.Errorf("sk-a.b.c: %v; want a bearer key lookup", err)
	}
}

func TestAuthenticateSecret(t *testing.T) {
	a := newAuthHarness(t,
		keyOf("k", "sk-k", func(k *llmservice.Key) { k.SecretHash = llmservice.HashSecret("sks-right") }),
		keyOf("nosecret", "sk-n", nil))
	tests := []struct {
		key, secret string
		ok          bool
	}{
		{"sk-k", "sks-right", true},
		{"sk-k", "sks-wrong", false},
		{"sk-k", "", false},
		{"sk-n", "", false},
		{"sk-n", "anything", false},
		{"sk-unknown", "sks-right", false},
	}
	for _, tt := range tests {
		p, err := a.g.AuthenticateSecret(context.Background(), tt.key, tt.secret)
		if tt.ok != (err == nil) {
			t.Errorf("%s/%s: %+v, %v; want ok %v", tt.key, tt.secret, p, err, tt.ok)
		}
		if err != nil && llmservice.ErrorKind(err) != llmservice.Unauthenticated {
			t.Errorf("%s/%s: kind %v", tt.key, tt.secret, llmservice.ErrorKind(err))
		}
	}
}

// Invalidating a key or a team drops its cached principals and makes the
// budgets reload their spend.
func TestInvalidateDropsKeysAndBudgets(t *testing.T) {
	a := newAuthHarness(t, keyOf("k1", "sk-1", nil), keyOf("k2", "sk-2", nil),
		keyOf("k3", "sk-3", func(k *llmservice.Key) { k.TeamID = "t2" }))
	ctx := context.Background()
	auth := func(keys ...string) {
		for _, k := range keys {
			if _, err := a.g.Authenticate(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
	}
	auth("sk-1", "sk-2", "sk-3")
	a.g.InvalidateKey(llmservice.HashSecret("sk-1"))
	auth("sk-1", "sk-2", "sk-3")
	if n := a.reads.Load(); n != 4 {
		t.Errorf("%d reads; want 4 (sk-1 read again)", n)
	}
	a.g.InvalidateTeam("t1")
	auth("sk-1", "sk-2", "sk-3")
	if n := a.reads.Load(); n != 6 {
		t.Errorf("%d reads; want 6 (t1's two keys read again)", n)
	}
	if want := []string{"key:k1", "team:t1"}; !slices.Equal(a.bud.forgot, want) {
		t.Errorf("budgets forgot %q; want %q", a.bud.forgot, want)
	}
}
