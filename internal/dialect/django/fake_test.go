package django

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/llm"
)

// fakeGateway authenticates tokens with the handler's Tokens and the key
// "sk-good", and answers chats by echoing the last message. It records the
// last call so tests can see what the dialect resolved.
type fakeGateway struct {
	tokens *Tokens

	mu       sync.Mutex
	lastCall *gateway.Call
	lastReq  *llm.ChatRequest
	err      error // returned by Chat and ChatStream when set
	models   []gateway.ModelInfo
	catalog  map[string]*llmservice.Model
}

var _ Gateway = (*fakeGateway)(nil)

func (g *fakeGateway) Authenticate(ctx context.Context, tok string) (*gateway.Principal, error) {
	keyID := ""
	if tok == "sk-good" {
		keyID = "key-good"
	} else if strings.Count(tok, ".") == 2 {
		id, err := g.tokens.Verify(ctx, tok)
		if err != nil {
			return nil, err
		}
		keyID = id
	} else {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Message: "Incorrect API key provided"}
	}
	return &gateway.Principal{Key: &llmservice.Key{ID: keyID}, Team: &llmservice.Team{ID: "team"}}, nil
}

func (g *fakeGateway) record(c *gateway.Call, req *llm.ChatRequest) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastCall, g.lastReq = c, req
	return g.err
}

func (g *fakeGateway) last() (*gateway.Call, *llm.ChatRequest) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lastCall, g.lastReq
}

func lastText(req *llm.ChatRequest) string {
	if n := len(req.Messages); n > 0 {
		return req.Messages[n-1].Text()
	}
	return ""
}

func (g *fakeGateway) Chat(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.Result, error) {
	if err := g.record(c, req); err != nil {
		return nil, err
	}
	u := llm.Usage{PromptTokens: 14, CompletionTokens: 123}
	resp := &llm.ChatResponse{ID: "chatcmpl-up", Model: "gpt-3.5-turbo-0125", Created: 1746211182,
		Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "echo: "+lastText(req)), FinishReason: llm.FinishStop}},
		Usage:   u, HasUsage: true}
	return &gateway.Result{Served: gateway.Served{Instance: "openai", Model: req.Model}, Response: resp, Usage: u}, nil
}

type sliceStream struct {
	chunks []llm.Chunk
	err    error // after the chunks, instead of io.EOF
}

func (s *sliceStream) Recv() (llm.Chunk, error) {
	if len(s.chunks) == 0 {
		if s.err != nil {
			return llm.Chunk{}, s.err
		}
		return llm.Chunk{}, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}

func (s *sliceStream) Close() error { return nil }

func (g *fakeGateway) ChatStream(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.StreamResult, error) {
	if err := g.record(c, req); err != nil {
		return nil, err
	}
	cs := []llm.Chunk{{Role: llm.RoleAssistant}}
	for _, w := range strings.SplitAfter("echo: "+lastText(req), " ") {
		cs = append(cs, llm.Chunk{Text: w})
	}
	cs = append(cs, llm.Chunk{FinishReason: llm.FinishStop}, llm.Chunk{Usage: &llm.Usage{PromptTokens: 3, CompletionTokens: 4}})
	var tail error
	if lastText(req) == "fail midway" {
		tail = &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream broke"}
	}
	return &gateway.StreamResult{Stream: &sliceStream{chunks: cs, err: tail}, Served: gateway.Served{Instance: "openai"}}, nil
}

func (g *fakeGateway) Models(p *gateway.Principal) []gateway.ModelInfo { return g.models }

func (g *fakeGateway) CatalogEntries() map[string]*llmservice.Model { return g.catalog }

// fakeStore keeps users and keys in memory.
type fakeStore struct {
	mu    sync.Mutex
	users []*llmservice.DjangoUser
	keys  map[string]*llmservice.Key
	teams map[string]bool
}

func newFakeStore() *fakeStore {
	return &fakeStore{keys: map[string]*llmservice.Key{}, teams: map[string]bool{}}
}

func (s *fakeStore) CreateDjangoUser(ctx context.Context, u *llmservice.DjangoUser, t *llmservice.Team, k *llmservice.Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.users {
		if x.Username == u.Username {
			return &llmservice.Error{Kind: llmservice.Conflict, Param: "username", Message: "A user with that username already exists."}
		}
	}
	if s.teams[t.ID] {
		return &llmservice.Error{Kind: llmservice.Conflict, Param: "team_id", Message: "team already exists"}
	}
	s.teams[t.ID] = true
	k.TeamID, u.TeamID, u.KeyID = t.ID, t.ID, k.ID
	s.keys[k.ID] = k
	u.ID = int64(len(s.users) + 1)
	c := *u
	s.users = append(s.users, &c)
	return nil
}

func (s *fakeStore) FindDjangoUserByUsername(ctx context.Context, name string) (*llmservice.DjangoUser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Username == name {
			c := *u
			return &c, nil
		}
	}
	return nil, llmservice.Errorf(llmservice.NotFound, "user not found")
}

func (s *fakeStore) FindDjangoUserByID(ctx context.Context, id int64) (*llmservice.DjangoUser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.ID == id {
			c := *u
			return &c, nil
		}
	}
	return nil, llmservice.Errorf(llmservice.NotFound, "user not found")
}

func (s *fakeStore) FindKeyByID(ctx context.Context, id string) (*llmservice.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keys[id]; ok {
		c := *k
		return &c, nil
	}
	return nil, llmservice.Errorf(llmservice.NotFound, "key not found")
}

func (s *fakeStore) revoke(keyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.keys[keyID].RevokedAt = &now
}

var testSecret = []byte("test secret, long enough to be a real one")

// testEnv is a handler on a mux with fakes behind it.
type testEnv struct {
	h     *Handler
	gw    *fakeGateway
	store *fakeStore
	mux   *http.ServeMux
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	tok := &Tokens{Secret: testSecret}
	st := newFakeStore()
	gw := &fakeGateway{tokens: tok}
	h := &Handler{GW: gw, Users: st, Keys: st, Tokens: tok, BodyLimit: 1 << 20, Log: slog.New(slog.DiscardHandler),
		Providers: MapProviders([]Instance{{"openai", "openai"}, {"ollama", "ollama"}, {"mock", "mock"}})}
	mux := http.NewServeMux()
	h.Register(mux)
	mux.Handle("/", http.NotFoundHandler())
	return &testEnv{h: h, gw: gw, store: st, mux: mux}
}

// send runs one request through the mux.
func (e *testEnv) send(method, target, body string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	return w
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// login signs a user up and returns its access and refresh tokens.
func (e *testEnv) login(t testing.TB, name string) (access, refresh string) {
	t.Helper()
	body := `{"username":"` + name + `","password":"Tr0ubadour-` + name + `-horse"}`
	if w := e.send("POST", "/api/signup/", body, nil); w.Code != http.StatusCreated {
		t.Fatalf("signup: %d %s", w.Code, w.Body)
	}
	w := e.send("POST", "/api/token/", body, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	var out struct{ Access, Refresh string }
	mustJSON(t, w.Body.Bytes(), &out)
	return out.Access, out.Refresh
}
