package athena

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/sqlite"
)

// Keys of the fake gateway: each belongs to its own team.
const (
	keyA = "sk-team-a"
	keyB = "sk-team-b"
)

// fakeGateway echoes the last message ("echo: <text>"), knows every model
// but "unknown", records the requests it got, and fails on demand.
type fakeGateway struct {
	mu    sync.Mutex
	reqs  []*llm.ChatRequest
	calls []*gateway.Call
	err   error
}

var _ Gateway = (*fakeGateway)(nil)

func (g *fakeGateway) Authenticate(ctx context.Context, key string) (*gateway.Principal, error) {
	switch key {
	case keyA:
		return &gateway.Principal{Key: &llmservice.Key{ID: "key-a"}, Team: &llmservice.Team{ID: "team-a"}}, nil
	case keyB:
		return &gateway.Principal{Key: &llmservice.Key{ID: "key-b"}, Team: &llmservice.Team{ID: "team-b"}}, nil
	}
	return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key", Message: "Incorrect API key provided"}
}

func (g *fakeGateway) record(c *gateway.Call, req *llm.ChatRequest) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reqs = append(g.reqs, req)
	g.calls = append(g.calls, c)
	return g.err
}

// last returns the last request the gateway got.
func (g *fakeGateway) last(t *testing.T) (*gateway.Call, *llm.ChatRequest) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.reqs) == 0 {
		t.Fatal("the gateway got no call")
	}
	return g.calls[len(g.calls)-1], g.reqs[len(g.reqs)-1]
}

func (g *fakeGateway) reply(req *llm.ChatRequest) (string, llm.Usage) {
	text := "echo: " + req.Messages[len(req.Messages)-1].Text()
	return text, llm.Usage{PromptTokens: 10 * len(req.Messages), CompletionTokens: len(strings.Fields(text))}
}

func (g *fakeGateway) Chat(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.Result, error) {
	if err := g.record(c, req); err != nil {
		return nil, err
	}
	text, u := g.reply(req)
	resp := &llm.ChatResponse{ID: "up", Model: "fake-model", Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, text), FinishReason: llm.FinishStop}}, Usage: u, HasUsage: true}
	return &gateway.Result{Served: gateway.Served{Instance: "fake", Model: "fake-model", Attempts: 1}, Response: resp, Usage: u}, nil
}

func (g *fakeGateway) ChatStream(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.StreamResult, error) {
	if err := g.record(c, req); err != nil {
		return nil, err
	}
	text, u := g.reply(req)
	cs := []llm.Chunk{{Role: llm.RoleAssistant}}
	for _, w := range strings.SplitAfter(text, " ") {
		cs = append(cs, llm.Chunk{Text: w})
	}
	cs = append(cs, llm.Chunk{FinishReason: llm.FinishStop}, llm.Chunk{Usage: &u})
	return &gateway.StreamResult{Stream: &sliceStream{chunks: cs}, Served: gateway.Served{Instance: "fake", Model: "fake-model", Attempts: 1}}, nil
}

func (g *fakeGateway) Models(p *gateway.Principal) []gateway.ModelInfo {
	return []gateway.ModelInfo{{ID: "gpt-5-mini", OwnedBy: "openai", Created: 1700000000}, {ID: "mock/echo", OwnedBy: "mock"}}
}

func (g *fakeGateway) CatalogEntries() map[string]*llmservice.Model {
	in, out := 3.0, 12.0
	return map[string]*llmservice.Model{"gpt-5-mini": {Name: "gpt-5-mini", Provider: "openai", InputPerMTok: &in, OutputPerMTok: &out, RPM: 100}}
}

func (g *fakeGateway) Resolve(name string) (*gateway.Plan, error) {
	if name == "unknown" {
		return nil, &llmservice.Error{Kind: llmservice.NotFound, Param: "model", Code: "model_not_found", Message: "The model 'unknown' does not exist"}
	}
	return &gateway.Plan{Public: name}, nil
}

func (g *fakeGateway) Instance(name string) (*gateway.Instance, bool) { return nil, false }

type sliceStream struct {
	chunks []llm.Chunk
	i      int
}

func (s *sliceStream) Recv() (llm.Chunk, error) {
	if s.i >= len(s.chunks) {
		return llm.Chunk{}, io.EOF
	}
	s.i++
	return s.chunks[s.i-1], nil
}

func (s *sliceStream) Close() error { return nil }

// fakeUsage returns fixed totals and records the filter it got.
type fakeUsage struct {
	mu   sync.Mutex
	last llmservice.UsageFilter
}

func (u *fakeUsage) SumUsage(ctx context.Context, f llmservice.UsageFilter) ([]llmservice.UsageTotal, error) {
	u.mu.Lock()
	u.last = f
	u.mu.Unlock()
	if f.GroupBy == "" {
		return []llmservice.UsageTotal{{Requests: 4, Errors: 1, PromptTokens: 30, CompletionTokens: 10, TotalTokens: 40, CostUSD: 0.5, AvgLatencyMS: 12}}, nil
	}
	return []llmservice.UsageTotal{
		{Group: "b-model", Requests: 1, Errors: 1, PromptTokens: 10, TotalTokens: 10, AvgLatencyMS: 3},
		{Group: "a-model", Requests: 3, PromptTokens: 20, CompletionTokens: 10, TotalTokens: 30, CostUSD: 0.5, AvgLatencyMS: 15},
	}, nil
}

// testEnv is a Handler on a fake gateway and an in-memory store with the
// fake gateway's two teams.
type testEnv struct {
	gw    *fakeGateway
	db    *sqlite.DB
	usage *fakeUsage
	h     *Handler
	mux   *http.ServeMux
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"team-a", "team-b"} {
		if err := db.CreateTeam(ctx, &llmservice.Team{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	e := &testEnv{gw: &fakeGateway{}, db: db, usage: &fakeUsage{}}
	clock := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	var mu sync.Mutex
	e.h = &Handler{GW: e.gw, Store: db, Usage: e.usage, BodyLimit: 1 << 16,
		Now: func() time.Time { // every call a millisecond later: pages have an order
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(time.Millisecond)
			return clock
		}}
	e.mux = http.NewServeMux()
	e.h.Register(e.mux)
	return e
}

// send makes a request with key (none when "") and returns the recorder.
func (e *testEnv) send(method, path, key, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	return w
}

// decode decodes a JSON answer, failing on a status other than want.
func decode[T any](t *testing.T, w *httptest.ResponseRecorder, want int) T {
	t.Helper()
	var v T
	if w.Code != want {
		t.Fatalf("status = %d; want %d: %s", w.Code, want, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer is not JSON (%v): %s", err, w.Body)
	}
	return v
}

// apiError is the OpenAI error body.
type apiError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func (e apiError) param() string {
	if e.Error.Param == nil {
		return ""
	}
	return *e.Error.Param
}

func (e apiError) code() string {
	if e.Error.Code == nil {
		return ""
	}
	return *e.Error.Code
}
