package openai_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	openaidialect "github.com/llmservice/llmservice/internal/dialect/openai"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/mock"
	openaiprovider "github.com/llmservice/llmservice/internal/provider/openai"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	"github.com/llmservice/llmservice/internal/sqlite"
)

// recordingMeter keeps the usage records the gateway settles.
type recordingMeter struct {
	mu   sync.Mutex
	recs []llmservice.UsageRecord
}

func (m *recordingMeter) Record(r llmservice.UsageRecord) {
	m.mu.Lock()
	m.recs = append(m.recs, r)
	m.mu.Unlock()
}

func (m *recordingMeter) take() []llmservice.UsageRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.recs
	m.recs = nil
	return r
}

// translationOnly hides the gateway's Exchange from the handler, which
// then serves every chat call in the translation lane, as it always did.
type translationOnly struct{ openaidialect.Gateway }

// fakeOpenAI speaks Chat Completions as api.openai.com does: a tool call
// with cached prompt tokens and reasoning tokens in its usage, streamed
// with usage in a last chunk of empty choices only when include_usage is
// asked, and a usage of null in the other chunks then.
type fakeOpenAI struct {
	t      *testing.T
	mu     sync.Mutex
	bodies []map[string]any
}

const fakeUsage = `{"prompt_tokens":1200,"completion_tokens":85,"total_tokens":1285,"prompt_tokens_details":{"cached_tokens":1024},"completion_tokens_details":{"reasoning_tokens":64}}`

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.URL.Path != "/chat/completions" {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.mu.Unlock()
	if body["model"] == "broken" {
		http.Error(w, `{"error":{"message":"overloaded","type":"server_error"}}`, http.StatusServiceUnavailable)
		return
	}
	if body["stream"] != true {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"chatcmpl-up1","object":"chat.completion","created":1733500000,"model":"gpt-up-2024","system_fingerprint":"fp_1",`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],`+
			`"usage":`+fakeUsage+`}`)
		return
	}
	so, _ := body["stream_options"].(map[string]any)
	withUsage := so["include_usage"] == true
	if !withUsage {
		f.t.Error("a stream went upstream without include_usage: the gateway cannot bill it")
	}
	usageNull := ""
	if withUsage {
		usageNull = `,"usage":null`
	}
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(choices string) {
		io.WriteString(w, `data: {"id":"chatcmpl-up2","object":"chat.completion.chunk","created":1733500001,"model":"gpt-up-2024","system_fingerprint":"fp_1","choices":[`+choices+`]`+usageNull+"}\n\n")
	}
	chunk(`{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}`)
	chunk(`{"index":0,"delta":{"content":"Let me check."},"logprobs":null,"finish_reason":null}`)
	chunk(`{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}`)
	chunk(`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Paris\"}"}}]},"logprobs":null,"finish_reason":null}`)
	chunk(`{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}`)
	if withUsage {
		io.WriteString(w, `data: {"id":"chatcmpl-up2","object":"chat.completion.chunk","created":1733500001,"model":"gpt-up-2024","system_fingerprint":"fp_1","choices":[],"usage":`+fakeUsage+"}\n\n")
	}
	io.WriteString(w, "data: [DONE]\n\n")
}

func (f *fakeOpenAI) last() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[len(f.bodies)-1]
}

// laneHarness is the chat handler over a real gateway, the OpenAI adapter
// and a fake upstream, in both lanes.
type laneHarness struct {
	pass, trans http.Handler
	meter       *recordingMeter
	up          *fakeOpenAI
}

func newLaneHarness(tb testing.TB) *laneHarness {
	tb.Helper()
	ctx := context.Background()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "lanes.db"))
	must(err)
	tb.Cleanup(func() { db.Close() })
	must(db.Migrate(ctx))
	must(db.CreateTeam(ctx, &llmservice.Team{ID: "acme"}))
	must(db.CreateKey(ctx, &llmservice.Key{ID: "k1", TeamID: "acme", Prefix: "sk-acme", KeyHash: llmservice.HashSecret("sk-acme-key")}))
	in, out, cached := 2.5, 10.0, 1.25
	must(db.UpsertModel(ctx, &llmservice.Model{Name: "gpt", Provider: "oai", UpstreamModel: "gpt-up", InputPerMTok: &in, OutputPerMTok: &out, CacheReadPerMTok: &cached}))
	must(db.UpsertModel(ctx, &llmservice.Model{Name: "gpt-broken", Provider: "oai", UpstreamModel: "broken", InputPerMTok: &in, OutputPerMTok: &out}))
	must(db.UpsertModelGroup(ctx, &llmservice.ModelGroup{Name: "fallback", Models: []string{"gpt-broken", "mock/chat"}}))
	up := &fakeOpenAI{t: nil}
	if t, ok := tb.(*testing.T); ok {
		up.t = t
	} else {
		up.t = &testing.T{}
	}
	srv := httptest.NewServer(up)
	tb.Cleanup(srv.Close)
	m := &recordingMeter{}
	gw, err := gateway.New(ctx, gateway.Config{
		Instances: []gateway.Instance{
			{Name: "oai", Family: "openai", Hosts: []llm.Provider{openaiprovider.New(openaiprovider.Config{BaseURL: srv.URL, APIKey: "sk-up"}, upstream.NewClient(0))}},
			{Name: "mock", Family: "mock", Hosts: []llm.Provider{mock.Client{}}},
		},
		Stores: gateway.Stores{Keys: db, Teams: db, Catalog: db, Groups: db},
		Meter:  m,
		Router: hostpick.New(hostpick.Policy{RetriesPerDeployment: -1}),
	})
	must(err)
	handler := func(g openaidialect.Gateway) http.Handler {
		mux := http.NewServeMux()
		(&openaidialect.Handler{GW: g, BodyLimit: 1 << 20, Now: func() int64 { return 1733500002 }}).Register(mux)
		return mux
	}
	return &laneHarness{pass: handler(gw), trans: handler(translationOnly{gw}), meter: m, up: up}
}

func (h *laneHarness) do(tb testing.TB, handler http.Handler, body string) *httptest.ResponseRecorder {
	tb.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer sk-acme-key")
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	return w
}

const laneConversation = `"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Weather in Paris?\nBe brief."}],` +
	`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]`

// TestChatLanesAgree runs the same exchanges through the pass-through lane
// and the translation lane: the ledger must hold the same usage and cost,
// and the client the same answer, apart from what differs by design (the
// ids and times, and what the translation lane drops: system_fingerprint,
// null logprobs and null usage).
func TestChatLanesAgree(t *testing.T) {
	h := newLaneHarness(t)
	for _, tc := range []struct {
		name, body string
		stream     bool
	}{
		{"whole", `{"model":"gpt",` + laneConversation + `,"max_completion_tokens":300}`, false},
		{"stream with usage", `{"model":"gpt",` + laneConversation + `,"stream":true,"stream_options":{"include_usage":true}}`, true},
		{"stream without usage", `{"model":"gpt",` + laneConversation + `,"stream":true,"max_tokens":300}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bodies [2]any
			var recs [2]llmservice.UsageRecord
			var sent [2]map[string]any
			for i, handler := range []http.Handler{h.pass, h.trans} {
				w := h.do(t, handler, tc.body)
				if w.Code != http.StatusOK {
					t.Fatalf("lane %d: status %d: %s", i, w.Code, w.Body)
				}
				if tc.stream {
					bodies[i] = streamChunks(t, w.Body.Bytes())
				} else {
					bodies[i] = normalized(t, w.Body.Bytes())
				}
				rs := h.meter.take()
				if len(rs) != 1 {
					t.Fatalf("lane %d: %d records, want 1", i, len(rs))
				}
				recs[i] = rs[0]
				recs[i].ID, recs[i].Time, recs[i].LatencyMS, recs[i].TTFTMS = "", time.Time{}, 0, 0
				sent[i] = h.up.last()
			}
			if recs[0].PromptTokens != 1200 || recs[0].CacheReadTokens != 1024 || recs[0].ReasoningTokens != 64 || recs[0].Cost == 0 {
				t.Errorf("pass-through lane recorded %+v, want the upstream's usage and a cost", recs[0])
			}
			if d := cmp.Diff(recs[1], recs[0]); d != "" {
				t.Errorf("ledger records differ (-translation +pass-through):\n%s", d)
			}
			if d := cmp.Diff(bodies[1], bodies[0]); d != "" {
				t.Errorf("client bodies differ (-translation +pass-through):\n%s", d)
			}
			// The lanes really differ: only the translation lane
			// re-encodes the body (and renames max_completion_tokens).
			_, kept := sent[0]["max_completion_tokens"]
			_, renamed := sent[1]["max_completion_tokens"]
			if kept != strings.Contains(tc.body, "max_completion_tokens") || renamed {
				t.Errorf("upstream bodies: pass-through %v, translation %v", sent[0], sent[1])
			}
			if sent[0]["model"] != "gpt-up" || sent[1]["model"] != "gpt-up" {
				t.Errorf("upstream models %v and %v, want gpt-up", sent[0]["model"], sent[1]["model"])
			}
		})
	}
}

// TestChatPassThroughFallsBack has the first deployment of a group fail
// in the pass-through lane and the next, of another family, translate.
func TestChatPassThroughFallsBack(t *testing.T) {
	h := newLaneHarness(t)
	for _, stream := range []bool{false, true} {
		body := `{"model":"fallback","messages":[{"role":"user","content":"hi"}]}`
		if stream {
			body = `{"model":"fallback","messages":[{"role":"user","content":"hi"}],"stream":true}`
		}
		w := h.do(t, h.pass, body)
		if w.Code != http.StatusOK || w.Header().Get("X-Llmservice-Provider") != "mock" || w.Header().Get("X-Llmservice-Attempts") != "2" {
			t.Fatalf("stream %v: status %d, provider %q, attempts %q: %s", stream, w.Code, w.Header().Get("X-Llmservice-Provider"),
				w.Header().Get("X-Llmservice-Attempts"), w.Body)
		}
		if h.up.last()["model"] != "broken" {
			t.Errorf("stream %v: the first attempt did not reach the OpenAI upstream", stream)
		}
		recs := h.meter.take()
		if len(recs) != 1 || recs[0].Provider != "mock" || recs[0].Attempts != 2 || recs[0].Status != 200 {
			t.Errorf("stream %v: records %+v", stream, recs)
		}
	}
}

// normalized decodes a JSON answer without what the lanes set apart.
func normalized(t *testing.T, b []byte) any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, b)
	}
	delete(v, "id")
	delete(v, "created")
	delete(v, "system_fingerprint")
	if cs, ok := v["choices"].([]any); ok {
		for _, c := range cs {
			c := c.(map[string]any)
			if c["logprobs"] == nil {
				delete(c, "logprobs")
			}
			if m, ok := c["message"].(map[string]any); ok && m["refusal"] == nil {
				delete(m, "refusal")
			}
		}
	}
	if v["usage"] == nil {
		delete(v, "usage")
	}
	return v
}

// streamChunks returns a stream's data frames, each chunk normalized.
func streamChunks(t *testing.T, b []byte) []any {
	t.Helper()
	var out []any
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			out = append(out, line)
			continue
		}
		out = append(out, normalized(t, []byte(line)))
	}
	return out
}

// cannedUpstream answers every chat call from memory, without a network
// or a server's own work, so that a benchmark counts the gateway's alone.
type cannedUpstream struct{}

func (cannedUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	var body, ct string
	if bytes.Contains(b, []byte(`"stream":true`)) {
		ct = "text/event-stream"
		var sb strings.Builder
		for _, c := range []string{`{"role":"assistant","content":""}`, `{"content":"Let me check."}`,
			`{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}`,
			`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Paris\"}"}}]}`} {
			sb.WriteString(`data: {"id":"chatcmpl-up2","object":"chat.completion.chunk","created":1733500001,"model":"gpt-up-2024","system_fingerprint":"fp_1","choices":[{"index":0,"delta":` + c + `,"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n")
		}
		sb.WriteString(`data: {"id":"chatcmpl-up2","object":"chat.completion.chunk","created":1733500001,"model":"gpt-up-2024","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}` + "\n\n")
		sb.WriteString(`data: {"id":"chatcmpl-up2","object":"chat.completion.chunk","created":1733500001,"model":"gpt-up-2024","system_fingerprint":"fp_1","choices":[],"usage":` + fakeUsage + "}\n\ndata: [DONE]\n\n")
		body = sb.String()
	} else {
		ct = "application/json"
		body = `{"id":"chatcmpl-up1","object":"chat.completion","created":1733500000,"model":"gpt-up-2024","system_fingerprint":"fp_1",` +
			`"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],` +
			`"usage":` + fakeUsage + `}`
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {ct}}, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: r}, nil
}

type discardMeter struct{}

func (discardMeter) Record(llmservice.UsageRecord) {}

// BenchmarkChatPassThrough serves the same chat calls (a conversation of
// a few kilobytes with a tool, whole and streamed) through the handler,
// the real gateway (auth, admission, routing, settlement, ledger record)
// and the OpenAI adapter, in the pass-through lane and in the translation
// lane, against an upstream answered from memory.
func BenchmarkChatPassThrough(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	in, out := 2.5, 10.0
	for _, err := range []error{
		db.CreateTeam(ctx, &llmservice.Team{ID: "acme", Limits: llmservice.Limits{RPM: 1 << 30, TPM: 1 << 40}}),
		db.CreateKey(ctx, &llmservice.Key{ID: "k1", TeamID: "acme", Prefix: "sk-acme", KeyHash: llmservice.HashSecret("sk-acme-key"), Limits: llmservice.Limits{RPM: 1 << 30, TPM: 1 << 40}}),
		db.UpsertModel(ctx, &llmservice.Model{Name: "gpt", Provider: "oai", UpstreamModel: "gpt-up", InputPerMTok: &in, OutputPerMTok: &out}),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	gw, err := gateway.New(ctx, gateway.Config{
		Instances: []gateway.Instance{{Name: "oai", Family: "openai",
			Hosts: []llm.Provider{openaiprovider.New(openaiprovider.Config{BaseURL: "http://upstream.invalid/v1", APIKey: "sk-up"}, &http.Client{Transport: cannedUpstream{}})}}},
		Stores: gateway.Stores{Keys: db, Teams: db, Catalog: db, Groups: db},
		Meter:  discardMeter{},
	})
	if err != nil {
		b.Fatal(err)
	}
	var conv strings.Builder
	conv.WriteString(`"messages":[{"role":"system","content":"You are a careful assistant. Answer briefly.\nUse the tools when they help."}`)
	for i := range 8 {
		conv.WriteString(`,{"role":"user","content":"Question ` + strings.Repeat("about the weather in Paris, Lyon and Marseille today; ", 6) + `"}`)
		conv.WriteString(`,{"role":"assistant","content":"Answer ` + string(rune('a'+i)) + strings.Repeat(" it is sunny and mild with a light breeze from the west.", 5) + `"}`)
	}
	conv.WriteString(`,{"role":"user","content":"And tomorrow?"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]`)
	for _, lane := range []struct {
		name string
		gw   openaidialect.Gateway
	}{{"pass", gw}, {"translate", translationOnly{gw}}} {
		mux := http.NewServeMux()
		(&openaidialect.Handler{GW: lane.gw, BodyLimit: 1 << 20, Now: func() int64 { return 1733500002 }}).Register(mux)
		for _, mode := range []struct{ name, extra string }{{"whole", `,"max_completion_tokens":300`}, {"stream", `,"stream":true`}} {
			body := `{"model":"gpt",` + conv.String() + mode.extra + `}`
			b.Run(lane.name+"/"+mode.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
					r.Header.Set("Authorization", "Bearer sk-acme-key")
					w := httptest.NewRecorder()
					mux.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		}
	}
}
