package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/sqlite"
)

const adminKey = "sk-admin-for-tests"

// now is the servers' clock in these tests.
var now = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// nopProvider is an instance's host that no admin test calls.
type nopProvider struct{}

func (nopProvider) Chat(context.Context, *llm.ChatRequest) (*llm.ChatResponse, error) {
	return nil, llmservice.Errorf(llmservice.Internal, "not called in admin tests")
}

func (nopProvider) ChatStream(context.Context, *llm.ChatRequest) (llm.Stream, error) {
	return nil, llmservice.Errorf(llmservice.Internal, "not called in admin tests")
}

// flusher is the meter as the usage reads see it: a flush that works or
// fails as the test says, counted.
type flusher struct {
	mu    sync.Mutex
	err   error
	calls int
}

func (f *flusher) Flush(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.err
}

func (f *flusher) Record(llmservice.UsageRecord) {}

var (
	template     []byte
	templateErr  error
	templateOnce sync.Once
)

// migrated returns the bytes of a freshly migrated, empty database: the
// migrations run once for the package (they take seconds under -race),
// and each test opens a copy.
func migrated(t *testing.T) []byte {
	t.Helper()
	templateOnce.Do(func() {
		dir, err := os.MkdirTemp("", "server-test-db")
		if err != nil {
			templateErr = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "template.db")
		db, err := sqlite.Open(context.Background(), path)
		if err != nil {
			templateErr = err
			return
		}
		if templateErr = db.Migrate(context.Background()); templateErr != nil {
			db.Close()
			return
		}
		if templateErr = db.Close(); templateErr != nil {
			return
		}
		template, templateErr = os.ReadFile(path)
	})
	if templateErr != nil {
		t.Fatal(templateErr)
	}
	return template
}

// fixture is a server over a SQLite database of its own.
type fixture struct {
	srv   *Server
	db    *sqlite.DB
	gw    *gateway.Gateway
	meter *flusher
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "llmservice.db")
	if err := os.WriteFile(path, migrated(t), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, meter: &flusher{}}
	clock := func() time.Time { return now }
	f.gw, err = gateway.New(ctx, gateway.Config{
		Instances: []gateway.Instance{{Name: "mock", Family: "mock", Hosts: []llm.Provider{nopProvider{}}}, {Name: "other", Family: "mock"}},
		Stores:    gateway.Stores{Keys: db, Teams: db, Catalog: db, Groups: db},
		Meter:     f.meter,
		Logger:    slog.New(slog.DiscardHandler),
		Spend: func(context.Context, string, string, time.Time) (llmservice.Nanos, error) {
			return 100_000_000, nil // every scope spent $0.10
		},
		Now: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = New(Config{
		Gateway:      f.gw,
		Stores:       Stores{Teams: db, Keys: db, Catalog: db, Usage: db, Groups: db, Credits: db, Stats: db, Jobs: db},
		Meter:        f.meter,
		AdminKeyHash: llmservice.HashSecret(adminKey),
		Logger:       slog.New(slog.DiscardHandler),
		Now:          clock,
	})
	return f
}

// reply is a decoded answer.
type reply struct {
	status int
	body   map[string]any
	raw    string
}

// errParam and errMessage read an OpenAI-shaped error body.
func (r reply) errParam() string {
	e, _ := r.body["error"].(map[string]any)
	p, _ := e["param"].(string)
	return p
}

func (r reply) errMessage() string {
	e, _ := r.body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func (r reply) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// list returns the data array of a list answer.
func (r reply) list() []map[string]any {
	var out []map[string]any
	for _, v := range r.body["data"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// do sends a request with the given bearer key; body is sent as JSON
// unless it is a string, sent as is.
func (f *fixture) do(t *testing.T, method, path, key string, body any) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = "192.0.2.1:1234"
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	r := reply{status: w.Code, raw: w.Body.String()}
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(w.Body.Bytes(), &r.body); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, w.Body.String(), err)
		}
	}
	return r
}

func (f *fixture) admin(t *testing.T, method, path string, body any) reply {
	t.Helper()
	return f.do(t, method, path, adminKey, body)
}

// must fails the test unless the answer has the status.
func (r reply) must(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, body %s; want %d", r.status, r.raw, status)
	}
	return r
}

// badRequest is one request the admin API must refuse with 400 naming
// param.
type badRequest struct {
	name   string
	method string
	path   string
	body   any
	param  string
	status int // 400 when zero
}

func (f *fixture) refuses(t *testing.T, tests []badRequest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.status
			if want == 0 {
				want = http.StatusBadRequest
			}
			r := f.admin(t, tt.method, tt.path, tt.body)
			if r.status != want || r.errParam() != tt.param {
				t.Errorf("%s %s: %d, param %q (%s); want %d naming %q", tt.method, tt.path, r.status, r.errParam(), r.raw, want, tt.param)
			}
			if want == http.StatusBadRequest && tt.param != "" && !strings.Contains(r.errMessage(), tt.param) {
				t.Errorf("message %q does not name %q", r.errMessage(), tt.param)
			}
		})
	}
}

// Every admin route wants the admin key: none is a 401 saying how to send
// it, another key a 401, a virtual key too.
func TestAdminKeyRequired(t *testing.T) {
	f := newFixture(t)
	f.admin(t, "POST", "/admin/teams", map[string]any{"id": "acme"}).must(t, 201)
	vk := f.admin(t, "POST", "/admin/keys", map[string]any{"team_id": "acme"}).must(t, 201).body["key"].(string)
	routes := [][2]string{
		{"GET", "/admin/teams"}, {"POST", "/admin/teams"}, {"GET", "/admin/teams/acme"}, {"PATCH", "/admin/teams/acme"},
		{"DELETE", "/admin/teams/acme"}, {"POST", "/admin/teams/acme/credits"}, {"GET", "/admin/teams/acme/credits"},
		{"GET", "/admin/teams/acme/budget"}, {"DELETE", "/admin/teams/acme/cache"}, {"DELETE", "/admin/cache"},
		{"POST", "/admin/keys"}, {"GET", "/admin/keys"}, {"GET", "/admin/keys/x"}, {"PATCH", "/admin/keys/x"}, {"DELETE", "/admin/keys/x"},
		{"POST", "/admin/models"}, {"GET", "/admin/models"}, {"DELETE", "/admin/models/x"},
		{"POST", "/admin/model-groups"}, {"GET", "/admin/model-groups"}, {"GET", "/admin/model-groups/x"},
		{"PUT", "/admin/model-groups/x"}, {"DELETE", "/admin/model-groups/x"},
		{"GET", "/admin/usage"}, {"GET", "/admin/usage/series"}, {"GET", "/admin/logs"}, {"GET", "/admin/deployments"},
		{"GET", "/admin/batches"}, {"GET", "/admin/batches/x"}, {"POST", "/admin/batches/x/cancel"},
		{"GET", "/admin/qcompletions"}, {"POST", "/admin/qcompletions/x/cancel"},
	}
	for _, rt := range routes {
		for _, c := range []struct{ key, msg string }{
			{"", "admin API requires 'Authorization: Bearer <admin key>'"},
			{"sk-wrong", "invalid admin key"},
			{vk, "invalid admin key"},
		} {
			r := f.do(t, rt[0], rt[1], c.key, `{}`)
			if r.status != http.StatusUnauthorized || r.errMessage() != c.msg {
				t.Errorf("%s %s with key %.8q: %d %q; want 401 %q", rt[0], rt[1], c.key, r.status, r.errMessage(), c.msg)
			}
		}
	}
	// Nothing changed.
	if got := f.admin(t, "GET", "/admin/teams", nil).must(t, 200).list(); len(got) != 1 {
		t.Errorf("%d teams after refused writes; want 1", len(got))
	}
}

func TestTeams(t *testing.T) {
	f := newFixture(t)
	r := f.admin(t, "POST", "/admin/teams", map[string]any{"id": "acme", "rpm": 60, "tpm": 1000, "max_budget_usd": 5,
		"budget_period": "monthly", "models": []string{"house"}, "log_bodies": "redacted", "cache": map[string]any{"ttl": "1h"}, "credits": 25}).must(t, 201)
	want := map[string]any{"id": "acme", "name": "acme", "rpm": 60.0, "tpm": 1000.0, "max_budget_usd": 5.0, "budget_period": "monthly",
		"models": []any{"house"}, "log_bodies": "redacted", "cache": map[string]any{"ttl": "1h"}, "credits": 25.0, "created_at": "2026-05-06T07:08:09Z"}
	if a, b := mustJSON(t, r.body), mustJSON(t, want); a != b {
		t.Errorf("created\n%s\nwant\n%s", a, b)
	}
	gen := f.admin(t, "POST", "/admin/teams", map[string]any{}).must(t, 201)
	if id := gen.body["id"].(string); !strings.HasPrefix(id, "team_") || gen.body["name"] != id {
		t.Errorf("generated team %v", gen.body)
	}
	f.admin(t, "POST", "/admin/teams", map[string]any{"id": "acme"}).must(t, 409)

	got := f.admin(t, "GET", "/admin/teams/acme", nil).must(t, 200)
	if got.body["credits"] != 25.0 || got.body["rpm"] != 60.0 {
		t.Errorf("read back %v", got.body)
	}
	if n := len(f.admin(t, "GET", "/admin/teams", nil).must(t, 200).list()); n != 2 {
		t.Errorf("%d teams; want 2", n)
	}
	f.admin(t, "GET", "/admin/teams/nobody", nil).must(t, 404)

	// PATCH changes what it names; null clears.
	p := f.admin(t, "PATCH", "/admin/teams/acme", map[string]any{"name": "Acme Inc", "max_budget_usd": nil, "cache": nil, "rpm": 0}).must(t, 200)
	if p.body["name"] != "Acme Inc" || p.body["max_budget_usd"] != nil || p.body["cache"] != nil || p.body["rpm"] != nil || p.body["tpm"] != 1000.0 {
		t.Errorf("patched %v", p.body)
	}
	f.admin(t, "PATCH", "/admin/teams/nobody", map[string]any{"name": "x"}).must(t, 404)

	f.refuses(t, []badRequest{
		{"bad id", "POST", "/admin/teams", map[string]any{"id": "-acme"}, "id", 0},
		{"id too long", "POST", "/admin/teams", map[string]any{"id": strings.Repeat("a", 65)}, "id", 0},
		{"negative credits", "POST", "/admin/teams", map[string]any{"id": "x", "credits": -1}, "credits", 0},
		{"unknown field", "POST", "/admin/teams", map[string]any{"id": "x", "rmp": 5}, "rmp", 0},
		{"rpm negative", "POST", "/admin/teams", map[string]any{"id": "x", "rpm": -1}, "rpm", 0},
		{"tpm too large", "PATCH", "/admin/teams/acme", map[string]any{"tpm": 1_000_000_001}, "tpm", 0},
		{"negative budget", "PATCH", "/admin/teams/acme", map[string]any{"max_budget_usd": -0.5}, "max_budget_usd", 0},
		{"bad period", "PATCH", "/admin/teams/acme", map[string]any{"budget_period": "hourly"}, "budget_period", 0},
		{"bad log mode", "PATCH", "/admin/teams/acme", map[string]any{"log_bodies": "some"}, "log_bodies", 0},
		{"empty name", "PATCH", "/admin/teams/acme", map[string]any{"name": ""}, "name", 0},
		{"bad cache ttl", "PATCH", "/admin/teams/acme", map[string]any{"cache": map[string]any{"ttl": "-1h"}}, "cache.ttl", 0},
		{"cache ttl not a duration", "PATCH", "/admin/teams/acme", map[string]any{"cache": map[string]any{"ttl": "forever"}}, "cache.ttl", 0},
		{"empty body", "PATCH", "/admin/teams/acme", "", "", 0},
		{"not JSON", "POST", "/admin/teams", "{id:", "", 0},
		{"two values", "POST", "/admin/teams", `{"id":"y"} {}`, "", 0},
	})
	// The refused PATCHes changed nothing.
	if got := f.admin(t, "GET", "/admin/teams/acme", nil).must(t, 200).body; got["name"] != "Acme Inc" || got["log_bodies"] != "redacted" || got["tpm"] != 1000.0 {
		t.Errorf("after refused patches %v", got)
	}

	f.admin(t, "DELETE", "/admin/teams/acme", nil).must(t, 200)
	f.admin(t, "GET", "/admin/teams/acme", nil).must(t, 404)
	f.admin(t, "DELETE", "/admin/teams/acme", nil).must(t, 404)
}

func TestTeamBodyLimit(t *testing.T) {
	f := newFixture(t)
	f.srv.cfg.BodyLimit = 64
	r := f.admin(t, "POST", "/admin/teams", map[string]any{"id": "x", "models": []string{strings.Repeat("m", 100)}})
	if r.status != http.StatusRequestEntityTooLarge || r.errMessage() != "request body is larger than the limit of 64 bytes" {
		t.Errorf("%d %q; want 413", r.status, r.errMessage())
	}
}

func TestCredits(t *testing.T) {
	f := newFixture(t)
	f.admin(t, "POST", "/admin/teams", map[string]any{"id": "acme", "credits": 10}).must(t, 201)
	f.refuses(t, []badRequest{
		{"no amount", "POST", "/admin/teams/acme/credits", map[string]any{"reason": "x"}, "amount", 0},
		{"zero", "POST", "/admin/teams/acme/credits", map[string]any{"amount": 0}, "amount", 0},
		{"fraction", "POST", "/admin/teams/acme/credits", map[string]any{"amount": 1.5}, "amount", 0},
		{"unknown field", "POST", "/admin/teams/acme/credits", map[string]any{"amount": 1, "note": "x"}, "note", 0},
		{"more than the balance", "POST", "/admin/teams/acme/credits", map[string]any{"amount": -11}, "", http.StatusPaymentRequired},
	})
	r := f.admin(t, "POST", "/admin/teams/acme/credits", map[string]any{"amount": 5, "reason": "top-up"}).must(t, 200)
	if r.body["credits"] != 15.0 || r.body["team_id"] != "acme" {
		t.Errorf("after +5: %v", r.body)
	}
	r = f.admin(t, "POST", "/admin/teams/acme/credits", map[string]any{"amount": -15}).must(t, 200)
	if r.body["credits"] != 0.0 {
		t.Errorf("after -15: %v", r.body)
	}
	ms := f.admin(t, "GET", "/admin/teams/acme/credits", nil).must(t, 200).list()
	var moves []string
	for _, m := range ms {
		moves = append(moves, mustJSON(t, []any{m["amount"], m["reason"]}))
	}
	if want := []string{`[-15,"admin"]`, `[5,"top-up"]`, `[10,"initial grant"]`}; !slices.Equal(moves, want) {
		t.Errorf("movements %v; want %v", moves, want)
	}
	f.admin(t, "GET", "/admin/teams/nobody/credits", nil).must(t, 404)
	if got := f.admin(t, "GET", "/admin/teams/acme", nil).must(t, 200).body["credits"]; got != 0.0 {
		t.Errorf("team credits %v; want 0", got)
	}
}

func TestTeamBudgetView(t *testing.T) {
	f := newFixture(t)
	f.admin(t, "POST", "/admin/teams", map[string]any{"id": "acme", "max_budget_usd": 1, "budget_period": "daily"}).must(t, 201)
	f.admin(t, "POST", "/admin/teams", map[string]any{"id": "free"}).must(t, 201)
	r := f.admin(t, "GET", "/admin/teams/acme/budget", nil).must(t, 200)
	want := map[string]any{"max_budget_usd": 1.0, "budget_period": "daily", "period_start": "2026-05-06T00:00:00Z",
		"resets_at": "2026-05-07T00:00:00Z", "spent_usd": 0.1, "reserved_usd": 0.0, "remaining_usd": 0.9}
	if a, b := mustJSON(t, r.body), mustJSON(t, want); a != b {
		t.Errorf("budget\n%s\nwant\n%s", a, b)
	}
	r = f.admin(t, "GET", "/admin/teams/free/budget", nil).must(t, 200)
	if r.body["max_budget_usd"] != nil || r.body["remaining_usd"] != nil {
		t.Errorf("no budget: %v", r.body)
	}
	f.admin(t, "GET", "/admin/teams/nobody/budget", nil).must(t, 404)
}

func TestKeys(t *testing.T) {
	f := newFixture(t)
	f.admin(t, "POST", "/admin/teams", map[string]any{"id": "acme"}).must(t, 201)
	f.admin(t, "POST", "/admin/teams", map[string]any{"id": "beta"}).must(t, 201)
	exp := now.Add(24 * time.Hour).Format(time.RFC3339)
	r := f.admin(t, "POST", "/admin/keys", map[string]any{"team_id": "acme", "name": "ci", "models": []string{"house"}, "rpm": 5,
		"expires_at": exp, "ip_allowlist": []string{"10.0.0.0/8", "192.0.2.7"}, "model_limits": map[string]any{"house": map[string]any{"rpm": 2}}}).must(t, 201)
	key, secret, id := r.body["key"].(string), r.body["secret"].(string), r.body["id"].(string)
	if !strings.HasPrefix(key, "sk-") || !strings.HasPrefix(secret, "sks-") || !strings.HasPrefix(id, "key_") || r.body["prefix"] != key[:7] {
		t.Errorf("created key %v", r.body)
	}
	if r.body["team_id"] != "acme" || r.body["name"] != "ci" || r.body["rpm"] != 5.0 || r.body["expires_at"] != exp {
		t.Errorf("created key %v", r.body)
	}
	// The key works from its allowlist, and its secret is never shown again.
	inside := httpx.WithClientIP(context.Background(), netip.MustParseAddr("10.1.1.1"))
	if _, err := f.gw.Authenticate(context.Background(), key); llmservice.AsError(err).Code != "ip_not_allowed" {
		t.Errorf("the new key from no known address: %v; want ip_not_allowed", err)
	}
	p, err := f.gw.Authenticate(inside, key)
	if err != nil || p.Key.ID != id || p.Team.ID != "acme" {
		t.Fatalf("authenticate the new key: %+v, %v", p, err)
	}
	if _, err := f.gw.AuthenticateSecret(inside, key, secret); err != nil {
		t.Errorf("key and secret: %v", err)
	}
	g := f.admin(t, "GET", "/admin/keys/"+id, nil).must(t, 200)
	if _, ok := g.body["key"]; ok || strings.Contains(g.raw, key) || strings.Contains(g.raw, secret) {
		t.Errorf("a read shows the key or its secret: %s", g.raw)
	}
	f.admin(t, "POST", "/admin/keys", map[string]any{"team_id": "beta"}).must(t, 201)
	if n := len(f.admin(t, "GET", "/admin/keys?team_id=acme", nil).must(t, 200).list()); n != 1 {
		t.Errorf("%d keys of acme; want 1", n)
	}
	if n := len(f.admin(t, "GET", "/admin/keys", nil).must(t, 200).list()); n != 2 {
		t.Errorf("%d keys in all; want 2", n)
	}
	f.admin(t, "GET", "/admin/keys/key_nope", nil).must(t, 404)

	f.refuses(t, []badRequest{
		{"no team", "POST", "/admin/keys", map[string]any{"name": "x"}, "team_id", 0},
		{"unknown team", "POST", "/admin/keys", map[string]any{"team_id": "nobody"}, "", http.StatusNotFound},
		{"expiry in the past", "POST", "/admin/keys", map[string]any{"team_id": "acme", "expires_at": now.Add(-time.Second).Format(time.RFC3339)}, "expires_at", 0},
		{"expiry now", "PATCH", "/admin/keys/" + id, map[string]any{"expires_at": now.Format(time.RFC3339)}, "expires_at", 0},
		{"bad address", "PATCH", "/admin/keys/" + id, map[string]any{"ip_allowlist": []string{"10.0.0.0/8", "10.0.0.300"}}, "ip_allowlist", 0},
		{"bad CIDR", "POST", "/admin/keys", map[string]any{"team_id": "acme", "ip_allowlist": []string{"10.0.0.0/33"}}, "ip_allowlist", 0},
		{"bad model limit", "PATCH", "/admin/keys/" + id, map[string]any{"model_limits": map[string]any{"house": map[string]any{"tpm": -1}}}, "model_limits", 0},
		{"unknown field", "PATCH", "/admin/keys/" + id, map[string]any{"team": "beta"}, "team", 0},
		{"key of an unknown id", "PATCH", "/admin/keys/key_nope", map[string]any{"name": "x"}, "", http.StatusNotFound},
	})
	if r := f.admin(t, "PATCH", "/admin/keys/"+id, map[string]any{"ip_allowlist": []string{"10.0.0.300"}}); !strings.Contains(r.errMessage(), "ip_allowlist[0]") {
		t.Errorf("message %q; want the entry's index", r.errMessage())
	}

	// PATCH applies at once: the cached principal is dropped.
	u := f.admin(t, "PATCH", "/admin/keys/"+id, map[string]any{"models": []string{"house", "mock/*"}, "expires_at": nil, "ip_allowlist": nil}).must(t, 200)
	if u.body["expires_at"] != nil || u.body["ip_allowlist"] != nil || mustJSON(t, u.body["models"]) != `["house","mock/*"]` {
		t.Errorf("patched %v", u.body)
	}
	if p, err := f.gw.Authenticate(context.Background(), key); err != nil || len(p.Key.Models) != 2 || p.Key.ExpiresAt != nil {
		t.Errorf("after the patch the gateway sees %+v, %v", p, err)
	}

	f.admin(t, "DELETE", "/admin/keys/"+id, nil).must(t, 200)
	if _, err := f.gw.Authenticate(context.Background(), key); llmservice.ErrorKind(err) != llmservice.Unauthenticated {
		t.Errorf("revoked key: %v; want refused at once", err)
	}
	if g := f.admin(t, "GET", "/admin/keys/"+id, nil).must(t, 200); g.body["revoked_at"] != "2026-05-06T07:08:09Z" {
		t.Errorf("revoked_at %v", g.body["revoked_at"])
	}
	f.admin(t, "DELETE", "/admin/keys/key_nope", nil).must(t, 404)
}

func TestModels(t *testing.T) {
	f := newFixture(t)
	f.refuses(t, []badRequest{
		{"no name", "POST", "/admin/models", map[string]any{"provider": "mock"}, "name", 0},
		{"no provider", "POST", "/admin/models", map[string]any{"name": "m"}, "provider", 0},
		{"unknown provider", "POST", "/admin/models", map[string]any{"name": "m", "provider": "nowhere"}, "provider", 0},
		{"negative input price", "POST", "/admin/models", map[string]any{"name": "m", "provider": "mock", "input_per_mtok": -1}, "input_per_mtok", 0},
		{"negative output price", "POST", "/admin/models", map[string]any{"name": "m", "provider": "mock", "output_per_mtok": -1}, "output_per_mtok", 0},
		{"negative cache read price", "POST", "/admin/models", map[string]any{"name": "m", "provider": "mock", "cache_read_per_mtok": -1}, "cache_read_per_mtok", 0},
		{"negative cache write price", "POST", "/admin/models", map[string]any{"name": "m", "provider": "mock", "cache_write_per_mtok": -1}, "cache_write_per_mtok", 0},
		{"negative context window", "POST", "/admin/models", map[string]any{"name": "m", "provider": "mock", "context_window": -1}, "context_window", 0},
		{"rpm too large", "POST", "/admin/models", map[string]any{"name": "m", "provider": "mock", "rpm": 2_000_000_000}, "rpm", 0},
		{"tpm negative", "POST", "/admin/models", map[string]any{"name": "m", "provider": "mock", "tpm": -5}, "tpm", 0},
		{"unknown field", "POST", "/admin/models", map[string]any{"name": "m", "provider": "mock", "price": 1}, "price", 0},
	})
	if r := f.admin(t, "POST", "/admin/models", map[string]any{"name": "m", "provider": "nowhere"}); r.errMessage() != "provider 'nowhere' is not configured; configured providers: [mock other]" {
		t.Errorf("message %q", r.errMessage())
	}
	r := f.admin(t, "POST", "/admin/models", map[string]any{"name": "house", "provider": "mock", "upstream_model": "echo", "input_per_mtok": 1.5}).must(t, 201)
	if r.body["name"] != "house" || r.body["input_per_mtok"] != 1.5 || r.body["created_at"] != "2026-05-06T07:08:09Z" {
		t.Errorf("created %v", r.body)
	}
	// The gateway serves it at once.
	p, err := f.gw.Resolve("house")
	if err != nil || p.Targets[0].Entry == nil || p.MaxInputPerTok != 1500 {
		t.Fatalf("resolve after the upsert: %+v, %v", p, err)
	}
	f.admin(t, "POST", "/admin/models", map[string]any{"name": "house", "provider": "other", "upstream_model": "echo2"}).must(t, 201)
	if ms := f.admin(t, "GET", "/admin/models", nil).must(t, 200).list(); len(ms) != 1 || ms[0]["provider"] != "other" {
		t.Errorf("models after a replace: %v", ms)
	}
	f.admin(t, "POST", "/admin/models", map[string]any{"name": "org/model", "provider": "mock"}).must(t, 201)
	f.admin(t, "DELETE", "/admin/models/org/model", nil).must(t, 200)
	f.admin(t, "DELETE", "/admin/models/house", nil).must(t, 200)
	if _, err := f.gw.Resolve("house"); llmservice.ErrorKind(err) != llmservice.NotFound {
		t.Errorf("resolve after the delete: %v; want not found", err)
	}
	f.admin(t, "DELETE", "/admin/models/house", nil).must(t, 404)
	if ms := f.admin(t, "GET", "/admin/models", nil).must(t, 200); len(ms.list()) != 0 || ms.body["object"] != "list" {
		t.Errorf("models at the end: %s", ms.raw)
	}
}

func TestModelGroups(t *testing.T) {
	f := newFixture(t)
	f.admin(t, "POST", "/admin/models", map[string]any{"name": "house", "provider": "mock"}).must(t, 201)
	f.refuses(t, []badRequest{
		{"no models", "POST", "/admin/model-groups", map[string]any{"name": "g"}, "models", 0},
		{"an empty model", "POST", "/admin/model-groups", map[string]any{"name": "g", "models": []string{"house", ""}}, "models", 0},
		{"bad strategy", "POST", "/admin/model-groups", map[string]any{"name": "g", "models": []string{"house"}, "strategy": "random"}, "strategy", 0},
		{"bad name", "POST", "/admin/model-groups", map[string]any{"name": "g/h", "models": []string{"house"}}, "name", 0},
		{"no name", "POST", "/admin/model-groups", map[string]any{"models": []string{"house"}}, "name", 0},
		{"unknown field", "POST", "/admin/model-groups", map[string]any{"name": "g", "models": []string{"house"}, "fallbacks": []string{}}, "fallbacks", 0},
		{"names differ", "PUT", "/admin/model-groups/g", map[string]any{"name": "h", "models": []string{"house"}}, "name", 0},
	})
	r := f.admin(t, "POST", "/admin/model-groups", map[string]any{"name": "fast", "models": []string{"house", "mock/echo"}, "strategy": "lowest-latency"}).must(t, 201)
	if r.body["name"] != "fast" || mustJSON(t, r.body["models"]) != `["house","mock/echo"]` {
		t.Errorf("created %v", r.body)
	}
	if p, err := f.gw.Resolve("fast"); err != nil || p.Group == nil || len(p.Targets) != 2 {
		t.Fatalf("resolve the group: %+v, %v", p, err)
	}
	c := f.admin(t, "POST", "/admin/model-groups", map[string]any{"name": "fast", "models": []string{"house"}})
	if c.status != http.StatusConflict || c.errParam() != "name" {
		t.Errorf("duplicate: %d %s; want 409 naming name", c.status, c.raw)
	}
	f.admin(t, "PUT", "/admin/model-groups/fast", map[string]any{"models": []string{"mock/echo"}}).must(t, 200)
	if g := f.admin(t, "GET", "/admin/model-groups/fast", nil).must(t, 200); mustJSON(t, g.body["models"]) != `["mock/echo"]` || g.body["strategy"] != nil {
		t.Errorf("after PUT %v", g.body)
	}
	if p, _ := f.gw.Resolve("fast"); len(p.Targets) != 1 {
		t.Errorf("the gateway still has %d targets for the replaced group", len(p.Targets))
	}
	f.admin(t, "PUT", "/admin/model-groups/slow", map[string]any{"name": "slow", "models": []string{"house"}}).must(t, 200)
	if n := len(f.admin(t, "GET", "/admin/model-groups", nil).must(t, 200).list()); n != 2 {
		t.Errorf("%d groups; want 2", n)
	}
	f.admin(t, "DELETE", "/admin/model-groups/fast", nil).must(t, 200)
	f.admin(t, "GET", "/admin/model-groups/fast", nil).must(t, 404)
	f.admin(t, "DELETE", "/admin/model-groups/fast", nil).must(t, 404)
	if _, err := f.gw.Resolve("fast"); err == nil {
		t.Error("the deleted group still resolves")
	}
}

// usageRecords inserts calls of two teams: acme's two keys and beta's one,
// one of acme's failed over from mock to other.
func (f *fixture) usageRecords(t *testing.T) {
	t.Helper()
	for _, id := range []string{"acme", "beta"} {
		if _, err := f.db.FindTeamByID(context.Background(), id); err != nil {
			f.admin(t, "POST", "/admin/teams", map[string]any{"id": id}).must(t, 201)
		}
	}
	base := now.Add(-2 * time.Hour)
	recs := []llmservice.UsageRecord{
		{ID: "req_1", Time: base, TeamID: "acme", KeyID: "k1", Project: "p1", Endpoint: "chat", RequestedModel: "house", Provider: "mock",
			UpstreamModel: "echo", Status: 200, PromptTokens: 10, CompletionTokens: 5, Cost: 1000, LatencyMS: 100, Attempts: 1},
		{ID: "req_2", Time: base.Add(time.Minute), TeamID: "acme", KeyID: "k2", Endpoint: "chat", RequestedModel: "house", Provider: "other",
			UpstreamModel: "echo", Status: 200, PromptTokens: 20, CompletionTokens: 10, Cost: 2000, LatencyMS: 300, Attempts: 2,
			AttemptLog: "mock/echo=upstream other/echo=ok"},
		{ID: "req_3", Time: base.Add(2 * time.Minute), TeamID: "acme", KeyID: "k1", Endpoint: "chat", RequestedModel: "mock/echo", Provider: "mock",
			UpstreamModel: "echo", Status: 429, ErrorType: "rate_limit_exceeded"},
		{ID: "req_4", Time: base.Add(3 * time.Minute), TeamID: "beta", KeyID: "k3", Endpoint: "embeddings", RequestedModel: "house", Provider: "mock",
			UpstreamModel: "echo", Status: 200, PromptTokens: 7, Cost: 700, LatencyMS: 50, Attempts: 1},
	}
	if err := f.db.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

// total is one group of a usage answer.
type total struct {
	Group                    string
	Requests, Errors, Tokens float64
}

func totals(r reply) []total {
	var out []total
	for _, d := range r.list() {
		g, _ := d["group"].(string)
		out = append(out, total{g, d["requests"].(float64), d["errors"].(float64), d["total_tokens"].(float64)})
	}
	return out
}

func TestUsage(t *testing.T) {
	f := newFixture(t)
	f.usageRecords(t)
	tests := []struct {
		query string
		want  []total
	}{
		{"", []total{{"", 4, 1, 52}}},
		{"?team_id=acme", []total{{"", 3, 1, 45}}},
		{"?group_by=team", []total{{"acme", 3, 1, 45}, {"beta", 1, 0, 7}}},
		{"?group_by=model&team_id=acme", []total{{"house", 2, 0, 45}, {"mock/echo", 1, 1, 0}}},
		{"?group_by=key&team_id=acme&model=house", []total{{"k1", 1, 0, 15}, {"k2", 1, 0, 30}}},
		{"?group_by=project&team_id=acme", []total{{"", 2, 1, 30}, {"p1", 1, 0, 15}}},
		{"?team_id=acme&key_id=k2", []total{{"", 1, 0, 30}}},
		{"?from=2026-05-06T05:09:00Z", []total{{"", 3, 1, 37}}},
		{"?to=2026-05-06", []total{{"", 0, 0, 0}}},
		// Per attempt: the failed-over call counts on both providers.
		{"?group_by=provider&team_id=acme", []total{{"mock", 3, 2, 15}, {"other", 1, 0, 30}}},
		{"?group_by=deployment", []total{{"mock", 4, 2, 22}, {"other", 1, 0, 30}}},
	}
	for _, tt := range tests {
		r := f.admin(t, "GET", "/admin/usage"+tt.query, nil).must(t, 200)
		got := totals(r)
		if len(tt.want) == 1 && tt.want[0].Requests == 0 && len(got) == 1 && got[0].Requests == 0 {
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v; want %v", tt.query, got, tt.want)
		}
		if r.body["object"] != "usage" || r.body["partial"] != false {
			t.Errorf("%s: %v", tt.query, r.body)
		}
	}
	f.refuses(t, []badRequest{
		{"bad group", "GET", "/admin/usage?group_by=colour", nil, "group_by", 0},
		{"bad from", "GET", "/admin/usage?from=yesterday", nil, "from", 0},
		{"bad to", "GET", "/admin/usage?to=2026-13-01", nil, "to", 0},
	})
	// A meter that cannot flush makes the answer partial, not an error.
	f.meter.err = errors.New("database down")
	if r := f.admin(t, "GET", "/admin/usage", nil).must(t, 200); r.body["partial"] != true {
		t.Errorf("with a failed flush: partial %v", r.body["partial"])
	}
}

func TestLogs(t *testing.T) {
	f := newFixture(t)
	f.usageRecords(t)
	ids := func(r reply) []string {
		var out []string
		for _, d := range r.list() {
			out = append(out, d["id"].(string))
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"req_4", "req_3", "req_2", "req_1"}},
		{"?team_id=acme", []string{"req_3", "req_2", "req_1"}},
		{"?status=error", []string{"req_3"}},
		{"?status=ok&team_id=acme", []string{"req_2", "req_1"}},
		{"?status=429", []string{"req_3"}},
		{"?status=5xx", nil},
		{"?key_id=k1", []string{"req_3", "req_1"}},
		{"?model=house&team_id=beta", []string{"req_4"}},
	}
	for _, tt := range tests {
		if got := ids(f.admin(t, "GET", "/admin/logs"+tt.query, nil).must(t, 200)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v; want %v", tt.query, got, tt.want)
		}
	}
	// Pages follow the cursor.
	first := f.admin(t, "GET", "/admin/logs?limit=3", nil).must(t, 200)
	cur, _ := first.body["next_cursor"].(string)
	if !slices.Equal(ids(first), []string{"req_4", "req_3", "req_2"}) || cur == "" || first.body["has_more"] != true {
		t.Fatalf("first page %s", first.raw)
	}
	if got := ids(f.admin(t, "GET", "/admin/logs?limit=3&cursor="+cur, nil).must(t, 200)); !slices.Equal(got, []string{"req_1"}) {
		t.Errorf("second page %v", got)
	}
	e := f.admin(t, "GET", "/admin/logs?team_id=acme&status=ok", nil).must(t, 200).list()[0]
	if e["attempt_log"] != "mock/echo=upstream other/echo=ok" || e["total_tokens"] != 30.0 || e["cost_usd"] != 0.000002 || e["prompt"] != nil {
		t.Errorf("entry %v", e)
	}
	f.refuses(t, []badRequest{
		{"bad status", "GET", "/admin/logs?status=teapot", nil, "status", 0},
		{"status out of range", "GET", "/admin/logs?status=1000", nil, "status", 0},
		{"limit 0", "GET", "/admin/logs?limit=0", nil, "limit", 0},
		{"limit too large", "GET", "/admin/logs?limit=201", nil, "limit", 0},
		{"bad from", "GET", "/admin/logs?from=soon", nil, "from", 0},
	})
}

func TestSeries(t *testing.T) {
	f := newFixture(t)
	f.usageRecords(t)
	r := f.admin(t, "GET", "/admin/usage/series?range=24h&breakdown=model,team", nil).must(t, 200)
	data := r.list()
	if len(data) != 24 || r.body["bucket"] != "hour" || r.body["from"] != "2026-05-05T08:00:00Z" || r.body["to"] != "2026-05-06T08:00:00Z" {
		t.Fatalf("series: %d points, bucket %v, %v to %v", len(data), r.body["bucket"], r.body["from"], r.body["to"])
	}
	var reqs []float64
	for _, p := range data {
		reqs = append(reqs, p["requests"].(float64))
	}
	if reqs[20] != 0 || reqs[21] != 4 || reqs[22] != 0 {
		t.Errorf("requests per hour %v; want the 4 calls in the hour of 05:00", reqs)
	}
	if tot := r.body["total"].(map[string]any); tot["requests"] != 4.0 {
		t.Errorf("total %v", tot)
	}
	bd := r.body["breakdowns"].(map[string]any)
	if teams := bd["team"].([]any); len(teams) != 2 || teams[0].(map[string]any)["group"] != "acme" {
		t.Errorf("team breakdown %v", teams)
	}
	r = f.admin(t, "GET", "/admin/usage/series?from=2026-05-06T05:30:00Z&to=2026-05-06T06:30:00Z&bucket=hour&team_id=acme&breakdown=key&top=1", nil).must(t, 200)
	if r.body["from"] != "2026-05-06T05:00:00Z" || r.body["to"] != "2026-05-06T07:00:00Z" || len(r.list()) != 2 {
		t.Errorf("rounded range %v to %v, %d points", r.body["from"], r.body["to"], len(r.list()))
	}
	keys := r.body["breakdowns"].(map[string]any)["key"].([]any)
	if len(keys) != 2 || keys[0].(map[string]any)["group"] != "k1" || keys[1].(map[string]any)["group"] != "(other)" {
		t.Errorf("top-1 key breakdown %v", keys)
	}
	f.refuses(t, []badRequest{
		{"bad range", "GET", "/admin/usage/series?range=1y", nil, "range", 0},
		{"bad bucket", "GET", "/admin/usage/series?range=24h&bucket=minute", nil, "bucket", 0},
		{"no range", "GET", "/admin/usage/series", nil, "from", 0},
		{"bad breakdown", "GET", "/admin/usage/series?range=24h&breakdown=colour", nil, "breakdown", 0},
		{"bad top", "GET", "/admin/usage/series?range=24h&top=0", nil, "top", 0},
	})
}

func TestCachePurge(t *testing.T) {
	f := newFixture(t)
	f.admin(t, "POST", "/admin/teams", map[string]any{"id": "acme"}).must(t, 201)
	for _, path := range []string{"/admin/cache", "/admin/teams/acme/cache"} {
		r := f.admin(t, "DELETE", path, nil).must(t, 200)
		if r.body["object"] != "cache.purge" || r.body["deleted"] != 0.0 {
			t.Errorf("%s: %v", path, r.body)
		}
	}
	f.admin(t, "DELETE", "/admin/teams/nobody/cache", nil).must(t, 404)
}

func TestJobs(t *testing.T) {
	f := newFixture(t)
	f.admin(t, "POST", "/admin/teams", map[string]any{"id": "acme"}).must(t, 201)
	for _, path := range []string{"/admin/batches", "/admin/batches?team_id=acme", "/admin/qcompletions", "/admin/qcompletions?team_id=acme&limit=100"} {
		r := f.admin(t, "GET", path, nil).must(t, 200)
		if r.body["object"] != "list" || len(r.list()) != 0 || r.body["has_more"] != false {
			t.Errorf("%s: %s", path, r.raw)
		}
	}
	f.refuses(t, []badRequest{
		{"batch without team", "GET", "/admin/batches/batch_1", nil, "team_id", 0},
		{"cancel without team", "POST", "/admin/batches/batch_1/cancel", nil, "team_id", 0},
		{"queued cancel without team", "POST", "/admin/qcompletions/q_1/cancel", nil, "team_id", 0},
		{"batches limit", "GET", "/admin/batches?limit=101", nil, "limit", 0},
		{"queued limit", "GET", "/admin/qcompletions?limit=0", nil, "limit", 0},
		{"unknown batch", "GET", "/admin/batches/batch_1?team_id=acme", nil, "", http.StatusNotFound},
		{"unknown queued", "POST", "/admin/qcompletions/q_1/cancel?team_id=acme", nil, "", http.StatusNotFound},
	})
}

func TestAddAttempts(t *testing.T) {
	tests := []struct {
		name string
		rec  llmservice.UsageRecord
		by   string
		want []total
	}{
		{"one attempt, no log", llmservice.UsageRecord{Provider: "mock", Status: 200, PromptTokens: 3}, "provider", []total{{"mock", 1, 0, 3}}},
		{"a failure, no log", llmservice.UsageRecord{Provider: "mock", Status: 502}, "provider", []total{{"mock", 1, 1, 0}}},
		{"refused before routing", llmservice.UsageRecord{Status: 403}, "provider", nil},
		{"hosts of one instance", llmservice.UsageRecord{Status: 200, PromptTokens: 4, AttemptLog: "pool#1/m=upstream pool#2/m=ok"}, "provider",
			[]total{{"pool", 2, 1, 4}}},
		{"hosts apart", llmservice.UsageRecord{Status: 200, PromptTokens: 4, AttemptLog: "pool#1/m=upstream pool#2/m=ok"}, "deployment",
			[]total{{"pool#1", 1, 1, 0}, {"pool#2", 1, 0, 4}}},
		{"a malformed entry is skipped", llmservice.UsageRecord{Status: 200, AttemptLog: "garbage a/m=ok"}, "provider", []total{{"a", 1, 0, 0}}},
	}
	for _, tt := range tests {
		acc := map[string]*attemptSum{}
		addAttempts(acc, &tt.rec, tt.by)
		var got []total
		for _, u := range attemptList(acc) {
			got = append(got, total{u.Group, float64(u.Requests), float64(u.Errors), float64(u.TotalTokens)})
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v; want %v", tt.name, got, tt.want)
		}
	}
}

// A team's key reads its own team's data under /v1, never another's.
func TestSelfService(t *testing.T) {
	f := newFixture(t)
	f.admin(t, "POST", "/admin/teams", map[string]any{"id": "acme", "max_budget_usd": 2, "credits": 3}).must(t, 201)
	f.admin(t, "POST", "/admin/teams", map[string]any{"id": "beta"}).must(t, 201)
	key := f.admin(t, "POST", "/admin/keys", map[string]any{"team_id": "acme", "name": "mine"}).must(t, 201).body["key"].(string)
	f.admin(t, "POST", "/admin/keys", map[string]any{"team_id": "beta"}).must(t, 201)
	f.usageRecords(t)

	r := f.do(t, "GET", "/v1/team", key, nil).must(t, 200)
	team := r.body["team"].(map[string]any)
	keys := r.body["keys"].([]any)
	if team["id"] != "acme" || len(keys) != 1 || keys[0].(map[string]any)["name"] != "mine" || strings.Contains(r.raw, key) {
		t.Errorf("own team %s", r.raw)
	}
	if b := r.body["budget"].(map[string]any); b["remaining_usd"] != 1.9 {
		t.Errorf("budget %v", b)
	}
	if c := r.body["credit_movements"].([]any); len(c) != 1 {
		t.Errorf("credit movements %v", c)
	}
	if got := totals(f.do(t, "GET", "/v1/usage?group_by=key", key, nil).must(t, 200)); !slices.Equal(got, []total{{"k1", 2, 1, 15}, {"k2", 1, 0, 30}}) {
		t.Errorf("own usage %v", got)
	}
	if n := len(f.do(t, "GET", "/v1/usage/logs", key, nil).must(t, 200).list()); n != 3 {
		t.Errorf("%d own log entries; want 3", n)
	}
	tests := []struct {
		path, key string
		status    int
		code      string
		param     string
	}{
		{"/v1/usage?team_id=beta", key, 403, "team_not_allowed", "team_id"},
		{"/v1/usage?team_id=nobody", key, 403, "team_not_allowed", "team_id"},
		{"/v1/usage/logs?team_id=beta", key, 403, "team_not_allowed", "team_id"},
		{"/v1/usage/series?range=24h&breakdown=team", key, 400, "", "breakdown"},
		{"/v1/team", "", 401, "invalid_api_key", ""},
		{"/v1/team", "sk-wrong", 401, "invalid_api_key", ""},
		{"/v1/team", adminKey, 401, "invalid_api_key", ""},
		{"/v1/usage?team_id=acme", key, 200, "", ""},
	}
	for _, tt := range tests {
		r := f.do(t, "GET", tt.path, tt.key, nil)
		if r.status != tt.status || r.errCode() != tt.code || r.errParam() != tt.param {
			t.Errorf("%s with %.8q: %d %q %q; want %d %q %q", tt.path, tt.key, r.status, r.errCode(), r.errParam(), tt.status, tt.code, tt.param)
		}
	}
}

func TestHealthAndUnknownPaths(t *testing.T) {
	f := newFixture(t)
	if r := f.do(t, "GET", "/healthz", "", nil).must(t, 200); r.body["status"] != "ok" {
		t.Errorf("healthz %s", r.raw)
	}
	f.do(t, "GET", "/readyz", "", nil).must(t, 200)
	f.srv.cfg.Ready = func() error { return errors.New("shutting down") }
	if r := f.do(t, "GET", "/readyz", "", nil).must(t, 503); r.body["reason"] != "shutting down" {
		t.Errorf("readyz %s", r.raw)
	}
	if r := f.do(t, "GET", "/nowhere", "", nil).must(t, 404); r.errMessage() != "Unknown request URL: GET /nowhere" {
		t.Errorf("unknown path %s", r.raw)
	}
	if r := f.do(t, "HEAD", "/", "", nil); r.status != 200 || r.raw != "" {
		t.Errorf("HEAD / %d %q", r.status, r.raw)
	}
	if r := f.admin(t, "GET", "/admin/deployments", nil).must(t, 200); len(r.list()) != 1 || r.list()[0]["id"] != "mock" {
		t.Errorf("deployments %s", r.raw)
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
