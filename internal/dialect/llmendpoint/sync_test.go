package llmendpoint_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/dialect/llmendpoint"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/llm"
)

const syncKey = "sk-llmendpoint"

// syncGateway is a one-team gateway whose in-house model echoes the last
// message word by word; err, when set, fails calls (midStream: after the
// first chunk of a stream).
type syncGateway struct {
	mu        sync.Mutex
	last      *llm.ChatRequest
	lastCall  *gateway.Call
	err       error
	midStream bool
	cache     string // Served.Cache of every answer
}

func (g *syncGateway) Authenticate(ctx context.Context, key string) (*gateway.Principal, error) {
	if key != syncKey {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Message: "Incorrect API key provided"}
	}
	return &gateway.Principal{Key: &llmservice.Key{ID: "k1"}, Team: &llmservice.Team{ID: "team"}}, nil
}

func (g *syncGateway) note(c *gateway.Call, req *llm.ChatRequest) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last, g.lastCall = req, c
	if g.midStream {
		return nil
	}
	return g.err
}

func (g *syncGateway) Chat(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.Result, error) {
	if err := g.note(c, req); err != nil {
		return nil, err
	}
	text := "echo: " + req.Messages[len(req.Messages)-1].Text()
	return &gateway.Result{Served: gateway.Served{Cache: g.cache}, Response: &llm.ChatResponse{Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, text)}}}}, nil
}

// words streams text one word at a time, then err (or io.EOF).
type words struct {
	parts []string
	err   error
}

func (s *words) Recv() (llm.Chunk, error) {
	if len(s.parts) == 0 {
		if s.err != nil {
			return llm.Chunk{}, s.err
		}
		return llm.Chunk{}, io.EOF
	}
	p := s.parts[0]
	s.parts = s.parts[1:]
	return llm.Chunk{Text: p}, nil
}

func (s *words) Close() error { return nil }

func (g *syncGateway) ChatStream(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.StreamResult, error) {
	if err := g.note(c, req); err != nil {
		return nil, err
	}
	st := &words{parts: []string{"The", " meaning", " of", " life"}}
	if g.midStream {
		st.parts, st.err = st.parts[:2], g.err
	}
	return &gateway.StreamResult{Stream: st, Served: gateway.Served{Cache: g.cache}}, nil
}

func (g *syncGateway) Resolve(name string) (*gateway.Plan, error) {
	if name == "catalogued" {
		return &gateway.Plan{Public: name}, nil
	}
	return nil, llmservice.Errorf(llmservice.NotFound, "no such model")
}

func (g *syncGateway) Instance(name string) (*gateway.Instance, bool) {
	return &gateway.Instance{Name: name}, name == "ollama"
}

// syncCredits is one team's balance and its movements.
type syncCredits struct {
	mu        sync.Mutex
	balance   int64
	movements []int64
}

func (c *syncCredits) AddCredits(ctx context.Context, team string, amount int64, reason, ref string) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.balance+amount < 0 {
		return c.balance, &llmservice.Error{Kind: llmservice.PaymentRequired, Message: "Insufficient credits"}
	}
	c.balance += amount
	c.movements = append(c.movements, amount)
	return c.balance, nil
}

func newSync(balance int64) (http.Handler, *syncGateway, *syncCredits) {
	gw, cr := &syncGateway{}, &syncCredits{balance: balance}
	mux := http.NewServeMux()
	(&llmendpoint.Handler{GW: gw, Credits: cr, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), BodyLimit: 1 << 16}).Register(mux)
	return mux, gw, cr
}

func syncPost(h http.Handler, auth, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/api/v1/completions", strings.NewReader(body))
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// seedRequest is the seed's example request: 28 user characters and
// max_tokens 100 on llama3.1 cost (28*0.01 + 100*0.02) / 0.0001 credits.
const seedRequest = `{"messages": [{"role": "user", "content": "What is the meaning of life?"}], "model": "llama3.1", "max_tokens": 100, "temperature": 0.7, "stream": false}`

const seedCredits = 22800

func TestSyncCompletion(t *testing.T) {
	for _, auth := range []string{syncKey, "Bearer " + syncKey} {
		h, gw, cr := newSync(100000)
		w := syncPost(h, auth, seedRequest)
		if w.Code != 200 || w.Body.String() != `{"response":"echo: What is the meaning of life?","success":true}`+"\n" {
			t.Fatalf("Authorization %q: %d %s", auth, w.Code, w.Body)
		}
		if cr.balance != 100000-seedCredits || len(cr.movements) != 1 {
			t.Errorf("balance %d after %v; want %d charged once", cr.balance, cr.movements, seedCredits)
		}
		if gw.lastCall.Model != "ollama/llama3.1" || gw.lastCall.Endpoint != "completions" {
			t.Errorf("call = %+v; want model ollama/llama3.1", gw.lastCall)
		}
		if *gw.last.NumCtx != 2048 || *gw.last.Temperature != 0.7 || *gw.last.MaxTokens != 100 {
			t.Errorf("request num_ctx %d temperature %v max_tokens %d; want 2048, 0.7, 100", *gw.last.NumCtx, *gw.last.Temperature, *gw.last.MaxTokens)
		}
	}

	h, gw, _ := newSync(100000)
	syncPost(h, syncKey, `{"messages":[{"role":"user","content":"x"}],"model":"mistral","max_tokens":5,"num_context":8192}`)
	if *gw.last.NumCtx != 8192 || *gw.last.Temperature != 0.7 {
		t.Errorf("num_context 8192 without temperature: num_ctx %d temperature %v", *gw.last.NumCtx, *gw.last.Temperature)
	}
}

func TestSyncStream(t *testing.T) {
	h, _, cr := newSync(100000)
	w := syncPost(h, syncKey, strings.Replace(seedRequest, `"stream": false`, `"stream": true`, 1))
	want := `{"role":"assistant","content":"The"}` + "\n" + `{"role":"assistant","content":" meaning"}` + "\n" +
		`{"role":"assistant","content":" of"}` + "\n" + `{"role":"assistant","content":" life"}` + "\n"
	if w.Code != 200 || w.Body.String() != want || w.Header().Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("stream: %d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	if cr.balance != 100000-seedCredits {
		t.Errorf("balance %d; want charged", cr.balance)
	}

	// A failure after the first chunk ends the stream with the seed's error
	// line and refunds.
	h, gw, cr := newSync(100000)
	gw.err, gw.midStream = &llmservice.Error{Kind: llmservice.Upstream, Message: "connection reset"}, true
	w = syncPost(h, syncKey, strings.Replace(seedRequest, `"stream": false`, `"stream": true`, 1))
	lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n")
	if len(lines) != 3 || lines[2] != `{"message":"Max attempts reached - no available hosts","success":false}` {
		t.Errorf("failed stream: %q", lines)
	}
	if cr.balance != 100000 || len(cr.movements) != 2 {
		t.Errorf("after a failed stream: balance %d, movements %v; want a refund", cr.balance, cr.movements)
	}
}

// A hit of the response cache costs no credits: its charge comes back at
// once. The header says what the cache did, and is absent when it is off.
func TestSyncCacheHitRefunds(t *testing.T) {
	for _, stream := range []bool{false, true} {
		for _, tc := range []struct {
			cache     string
			balance   int64
			movements int
		}{
			{"hit", 100000, 2},
			{"miss", 100000 - seedCredits, 1},
			{"bypass", 100000 - seedCredits, 1},
			{"", 100000 - seedCredits, 1},
		} {
			h, gw, cr := newSync(100000)
			gw.cache = tc.cache
			body := seedRequest
			if stream {
				body = strings.Replace(body, `"stream": false`, `"stream": true`, 1)
			}
			w := syncPost(h, syncKey, body)
			got, ok := w.Header()["X-Llmservice-Cache"]
			if w.Code != 200 || ok != (tc.cache != "") || tc.cache != "" && got[0] != tc.cache {
				t.Errorf("stream %v, cache %q: %d, header %v: %s", stream, tc.cache, w.Code, got, w.Body)
			}
			if cr.balance != tc.balance || len(cr.movements) != tc.movements {
				t.Errorf("stream %v, cache %q: balance %d after %v; want %d", stream, tc.cache, cr.balance, cr.movements, tc.balance)
			}
		}
	}
	// A bad TTL is refused before anything is charged.
	h, _, cr := newSync(100000)
	r := httptest.NewRequest("POST", "/api/v1/completions", strings.NewReader(seedRequest))
	r.Header.Set("Authorization", syncKey)
	r.Header.Set("X-Llmservice-Cache-Ttl", "soon")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "Invalid request") || len(cr.movements) != 0 {
		t.Errorf("bad TTL: %d %s, movements %v", w.Code, w.Body, cr.movements)
	}
}

func TestSyncErrors(t *testing.T) {
	unavailable := &llmservice.Error{Kind: llmservice.Unavailable, Code: "no_available_hosts", Message: "Max attempts reached - no available hosts"}
	for _, tc := range []struct {
		name, auth, body string
		balance          int64
		gwErr            error
		status           int
		message, param   string
		refunded         bool
	}{
		{name: "NoAuthorization", body: seedRequest, status: 401, message: "Authorization header required"},
		{name: "BadKey", auth: "sk-nope", body: seedRequest, status: 401, message: "Invalid API key"},
		{name: "BadBearerKey", auth: "Bearer sk-nope", body: seedRequest, status: 401, message: "Invalid API key"},
		{name: "Malformed", auth: syncKey, body: `{"messages":`, status: 400, message: "Invalid request"},
		{name: "NotAnObject", auth: syncKey, body: `[1]`, status: 400, message: "Invalid request"},
		{name: "WrongType", auth: syncKey, body: `{"messages":[{"role":"user","content":"x"}],"model":"llama3","max_tokens":"ten"}`, status: 400, message: "Invalid request", param: "max_tokens"},
		{name: "NoMessages", auth: syncKey, body: `{"model":"llama3","max_tokens":10}`, status: 400, message: "messages, model, max_tokens, and temperature are required", param: "messages"},
		{name: "NoModel", auth: syncKey, body: `{"messages":[{"role":"user","content":"x"}],"max_tokens":10}`, status: 400, message: "messages, model, max_tokens, and temperature are required", param: "model"},
		{name: "NoMaxTokens", auth: syncKey, body: `{"messages":[{"role":"user","content":"x"}],"model":"llama3"}`, status: 400, message: "messages, model, max_tokens, and temperature are required", param: "max_tokens"},
		{name: "UnknownModel", auth: syncKey, body: `{"messages":[{"role":"user","content":"x"}],"model":"gpt-4","max_tokens":10}`, status: 400, message: "Model pricing not found", param: "model"},
		{name: "InsufficientCredits", auth: syncKey, body: seedRequest, balance: seedCredits - 1, status: 402, message: "Insufficient credits"},
		{name: "NoHosts", auth: syncKey, body: seedRequest, balance: seedCredits, gwErr: unavailable, status: 400, message: "Max attempts reached - no available hosts", refunded: true},
		{name: "UpstreamError", auth: syncKey, body: seedRequest, balance: seedCredits, gwErr: &llmservice.Error{Kind: llmservice.Upstream, Message: "boom"}, status: 400, message: "Max attempts reached - no available hosts", refunded: true},
		{name: "IPNotAllowed", auth: syncKey, body: seedRequest, balance: seedCredits, gwErr: &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "ip_not_allowed", Message: "Unauthorized IP address"}, status: 401, message: "Unauthorized IP address", refunded: true},
		{name: "Internal", auth: syncKey, body: seedRequest, balance: seedCredits, gwErr: errors.New("disk on fire"), status: 500, message: "internal error", refunded: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, gw, cr := newSync(tc.balance)
			gw.err = tc.gwErr
			w := syncPost(h, tc.auth, tc.body)
			var b struct {
				Success *bool
				Message string
				Param   string
			}
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || w.Code != tc.status || b.Success == nil || *b.Success || b.Message != tc.message || b.Param != tc.param {
				t.Fatalf("%d %s; want %d {success:false, message:%q, param:%q}", w.Code, w.Body, tc.status, tc.message, tc.param)
			}
			if cr.balance != tc.balance {
				t.Errorf("balance %d; want %d (nothing charged, or refunded)", cr.balance, tc.balance)
			}
			if tc.refunded && len(cr.movements) != 2 {
				t.Errorf("movements %v; want a charge and its refund", cr.movements)
			}
			if strings.Contains(w.Body.String(), "disk on fire") {
				t.Error("an internal error's cause reached the client")
			}
		})
	}
}

func TestSyncCatalogModel(t *testing.T) {
	// A name the gateway can resolve (catalog entry or model group) is used
	// as is; the rest go to the ollama provider.
	h, gw, _ := newSync(1 << 40)
	syncPost(h, syncKey, `{"messages":[{"role":"user","content":"x"}],"model":"llama2","max_tokens":1}`)
	if gw.lastCall.Model != "ollama/llama2" {
		t.Errorf("model %q; want ollama/llama2", gw.lastCall.Model)
	}
}

// FuzzSyncCompletion sends arbitrary bodies through the real handler.
// Whatever the body, the answer is a success or a seed-shaped 4xx: never a
// 5xx, never a panic, and never a charge that was not paid for.
func FuzzSyncCompletion(f *testing.F) {
	for _, s := range []string{seedRequest, strings.Replace(seedRequest, "false", "true", 1),
		`{"messages":[{"role":"user","content":"x"}],"model":"phi3","max_tokens":1,"num_context":1,"temperature":2}`,
		`{"messages":[{"role":"tool","content":"x"}],"model":"phi3","max_tokens":1}`,
		`{"messages":[],"model":"","max_tokens":0}`, `{"messages":null}`, `{"max_tokens":1e40}`, `{"max_tokens":-1}`,
		`{"messages":[{"role":"user","content":"` + strings.Repeat("é", 300) + `"}],"model":"qwen","max_tokens":100000}`,
		`[]`, `null`, `""`, `{`, ``, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		h, _, cr := newSync(1 << 30)
		w := syncPost(h, syncKey, body)
		if w.Code >= 500 {
			t.Fatalf("%q: %d %s", body, w.Code, w.Body)
		}
		if w.Code == 200 {
			if cr.balance == 1<<30 {
				// Every seed model costs something for max_tokens >= 1.
				t.Fatalf("%q: answered without a charge", body)
			}
			return
		}
		var b struct {
			Success *bool
			Message string
		}
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.Success == nil || *b.Success || b.Message == "" {
			t.Fatalf("%q: %d with a bad error body: %s", body, w.Code, w.Body)
		}
		if cr.balance != 1<<30 {
			t.Fatalf("%q: refused (%d) but charged", body, w.Code)
		}
	})
}
