package jobs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/mock"
	"github.com/llmservice/llmservice/internal/sqlite"
)

// brokenProvider streams two words and then fails with err; its plain
// calls fail with err at once.
type brokenProvider struct{ err error }

func (b brokenProvider) Chat(context.Context, *llm.ChatRequest) (*llm.ChatResponse, error) {
	return nil, b.err
}

func (b brokenProvider) ChatStream(context.Context, *llm.ChatRequest) (llm.Stream, error) {
	return &brokenStream{err: b.err, chunks: []llm.Chunk{{Role: llm.RoleAssistant, Text: "Once"}, {Text: " upon"}}}, nil
}

type brokenStream struct {
	err    error
	chunks []llm.Chunk
}

func (s *brokenStream) Recv() (llm.Chunk, error) {
	if len(s.chunks) == 0 {
		return llm.Chunk{}, s.err
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}

func (s *brokenStream) Close() error { return nil }

type meterLog struct {
	mu   sync.Mutex
	recs []llmservice.UsageRecord
}

func (m *meterLog) Record(r llmservice.UsageRecord) {
	m.mu.Lock()
	m.recs = append(m.recs, r)
	m.mu.Unlock()
}

// harness is the handler over a real gateway and database: team acme may
// use groups Chat (mock), Priced (a catalog model with prices) and Timeout
// (a provider whose streams time out midway).
type harness struct {
	url string
	key string
	db  *sqlite.DB
	m   *meterLog
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CreateTeam(ctx, &llmservice.Team{ID: "acme", ModelGroups: []string{"Chat", "Priced", "Timeout"}}))
	_, err = db.AddCredits(ctx, "acme", 5, "grant", "")
	must(err)
	must(db.CreateKey(ctx, &llmservice.Key{ID: "k1", TeamID: "acme", Prefix: "sk-acme", KeyHash: llmservice.HashSecret("sk-acme-key")}))
	in, out := 2.0, 8.0
	must(db.UpsertModel(ctx, &llmservice.Model{Name: "priced", Provider: "mock", UpstreamModel: "priced", InputPerMTok: &in, OutputPerMTok: &out}))
	for name, models := range map[string][]string{"Chat": {"mock/chat"}, "Priced": {"priced"}, "Timeout": {"broken/slow"}} {
		must(db.UpsertModelGroup(ctx, &llmservice.ModelGroup{Name: name, Models: models}))
	}
	timeout := &llmservice.Error{Kind: llmservice.UpstreamTimeout, Message: "Model timeout exceeded"}
	m := &meterLog{}
	gw, err := gateway.New(ctx, gateway.Config{
		Instances: []gateway.Instance{
			{Name: "mock", Family: "mock", Hosts: []llm.Provider{mock.Client{}}},
			{Name: "broken", Family: "openai-compatible", Hosts: []llm.Provider{brokenProvider{err: timeout}}},
		},
		Stores: gateway.Stores{Keys: db, Teams: db, Catalog: db, Groups: db},
		Meter:  m,
		Router: hostpick.New(hostpick.Policy{MaxAttempts: 1, RetriesPerDeployment: -1}),
	})
	must(err)
	mux := http.NewServeMux()
	(&Handler{GW: gw, Jobs: db, BodyLimit: 1 << 20}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &harness{url: srv.URL, key: "sk-acme-key", db: db, m: m}
}

func (h *harness) post(t *testing.T, path string, body any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", h.url+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+h.key)
	return h.send(t, req, out)
}

func (h *harness) get(t *testing.T, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", h.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.key)
	return h.send(t, req, out)
}

func (h *harness) send(t *testing.T, req *http.Request, out any) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", req.Method, req.URL.Path, err, b)
		}
	}
	return resp.StatusCode
}

func (h *harness) newJob(t *testing.T) string {
	t.Helper()
	var j struct {
		JobID string `json:"job_id"`
	}
	if st := h.post(t, "/api/jobs/create", map[string]any{"team_id": "acme", "job_type": "chat"}, &j); st != 200 || j.JobID == "" {
		t.Fatalf("create job: status %d, %+v", st, j)
	}
	return j.JobID
}

// stream posts to llm-call-stream and returns each "data:" payload.
func (h *harness) stream(t *testing.T, jobID, group string) (http.Header, []string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"model_group": group, "messages": []map[string]string{{"role": "user", "content": "Tell me a story"}}})
	req, _ := http.NewRequest("POST", h.url+"/api/jobs/"+jobID+"/llm-call-stream", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+h.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream status %d: %s", resp.StatusCode, body)
	}
	var data []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, d)
		}
	}
	return resp.Header, data
}

func TestStreamFraming(t *testing.T) {
	h := newHarness(t)
	job := h.newJob(t)
	hdr, data := h.stream(t, job, "Chat")
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := hdr.Get(k); got != want {
			t.Errorf("header %s = %q; want %q", k, got, want)
		}
	}
	if len(data) < 4 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("events = %q; want chunks ending with [DONE]", data)
	}
	var text strings.Builder
	var id string
	for i, d := range data[:len(data)-1] {
		var c struct {
			ID      string
			Object  string
			Created int64
			Model   string
			Choices []struct {
				Index        int
				Delta        map[string]any
				FinishReason *string `json:"finish_reason"`
			}
			Usage *struct {
				PromptTokens     int `json:"prompt_tokens"`
				CompletionTokens int `json:"completion_tokens"`
				TotalTokens      int `json:"total_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			t.Fatalf("chunk %d %q: %v", i, d, err)
		}
		if id == "" {
			id = c.ID
		}
		if c.ID != id || c.Object != "chat.completion.chunk" || c.Created == 0 || c.Model != "mock/chat" || len(c.Choices) != 1 {
			t.Errorf("chunk %d = %s; want the seed's chunk with model mock/chat", i, d)
			continue
		}
		_, hasRole := c.Choices[0].Delta["role"]
		if hasRole != (i == 0) {
			t.Errorf("chunk %d: role present = %v; want it only in the first chunk (%s)", i, hasRole, d)
		}
		last := i == len(data)-2
		if last {
			if len(c.Choices[0].Delta) != 0 || c.Choices[0].FinishReason == nil || *c.Choices[0].FinishReason != "stop" || c.Usage == nil ||
				c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens || c.Usage.TotalTokens == 0 {
				t.Errorf("final chunk = %s; want empty delta, finish_reason stop and usage", d)
			}
			continue
		}
		if c.Choices[0].FinishReason != nil || c.Usage != nil {
			t.Errorf("chunk %d = %s; want finish_reason null and no usage before the end", i, d)
		}
		s, _ := c.Choices[0].Delta["content"].(string)
		text.WriteString(s)
	}
	if text.String() != "mock reply: Tell me a story" {
		t.Errorf("streamed text = %q", text.String())
	}
	var got jobView
	h.get(t, "/api/jobs/"+job, &got)
	if got.Status != "in_progress" || got.Costs.TotalCalls != 1 || got.Costs.TotalTokens == 0 || !got.Calls[0].Stream || got.Calls[0].Error != nil {
		t.Errorf("job after the stream = %+v; want one successful streamed call", got)
	}
}

func TestStreamTimeoutSendsErrorChunk(t *testing.T) {
	h := newHarness(t)
	job := h.newJob(t)
	_, data := h.stream(t, job, "Timeout")
	want := `{"error":{"message":"Model timeout exceeded","type":"timeout_error","code":"model_timeout"}}`
	if len(data) != 3 || data[2] != want {
		t.Fatalf("events = %q; want two chunks then %s and no [DONE]", data, want)
	}
	var got jobView
	h.get(t, "/api/jobs/"+job, &got)
	if got.Costs.FailedCalls != 1 || got.Calls[0].Error == nil || *got.Calls[0].Error != "Model timeout exceeded" {
		t.Errorf("job = %+v; want the call recorded as failed", got.Costs)
	}
}

func TestPlainCallFailureIsRecorded(t *testing.T) {
	h := newHarness(t)
	job := h.newJob(t)
	var e struct{ Detail string }
	st := h.post(t, "/api/jobs/"+job+"/llm-call", map[string]any{"model_group": "Timeout", "messages": []map[string]string{{"role": "user", "content": "x"}}}, &e)
	if st != 500 || !strings.HasPrefix(e.Detail, "LLM call failed: ") || !strings.Contains(e.Detail, "Model timeout exceeded") {
		t.Errorf("status %d, %+v; want 500 LLM call failed", st, e)
	}
	var got jobView
	h.get(t, "/api/jobs/"+job, &got)
	if got.Costs.TotalCalls != 1 || got.Costs.FailedCalls != 1 {
		t.Errorf("costs = %+v; want one failed call", got.Costs)
	}
}

// TestTotalsAreSumsOfCalls mixes plain and streamed calls on a priced model
// and checks the job's totals against its calls and the usage ledger.
func TestTotalsAreSumsOfCalls(t *testing.T) {
	h := newHarness(t)
	job := h.newJob(t)
	for i, text := range []string{"one two three", "four five", "six"} {
		var r callResponse
		msgs := []map[string]string{{"role": "system", "content": "be brief"}, {"role": "user", "content": text}}
		if st := h.post(t, "/api/jobs/"+job+"/llm-call", map[string]any{"model_group": "Priced", "messages": msgs, "purpose": "step"}, &r); st != 200 {
			t.Fatalf("call %d: status %d", i, st)
		}
		if r.Metadata.ModelGroup != "Priced" || r.Metadata.TokensUsed == 0 || r.Response.Content != "mock reply: "+text || r.Response.FinishReason != "stop" || r.CallID == "" {
			t.Errorf("call %d = %+v", i, r)
		}
	}
	h.stream(t, job, "Priced")

	var got jobView
	if st := h.get(t, "/api/jobs/"+job, &got); st != 200 {
		t.Fatalf("get: %d", st)
	}
	var tokens, prompt int
	var cost llmservice.Nanos
	for _, c := range got.Calls {
		tokens += c.Tokens
		prompt += c.PromptTokens
		cost += llmservice.NanosFromDollars(c.CostUSD)
	}
	if got.Costs.TotalCalls != 4 || int(got.Costs.TotalTokens) != tokens || int(got.Costs.PromptTokens) != prompt ||
		llmservice.NanosFromDollars(got.Costs.TotalCostUSD) != cost || cost == 0 {
		t.Errorf("costs = %+v; want the sums of %d calls: %d tokens, %d nano-dollars", got.Costs, len(got.Calls), tokens, cost)
	}
	// The ledger's records of these calls cost what the job says.
	var ledger llmservice.Nanos
	h.m.mu.Lock()
	for _, r := range h.m.recs {
		if r.RequestedModel == "Priced" {
			ledger += r.Cost
		}
	}
	h.m.mu.Unlock()
	if ledger != cost {
		t.Errorf("usage ledger cost = %d; job cost = %d", ledger, cost)
	}
	if len(got.ModelGroupsUsed) != 1 || got.ModelGroupsUsed[0] != "Priced" || got.StartedAt == nil || got.CompletedAt != nil {
		t.Errorf("job = %+v", got)
	}

	var done completedView
	if st := h.post(t, "/api/jobs/"+job+"/complete", map[string]any{"status": "completed"}, &done); st != 200 {
		t.Fatalf("complete: %d", st)
	}
	if done.Costs.TotalTokens != got.Costs.TotalTokens || done.Costs.TotalCostUSD != got.Costs.TotalCostUSD ||
		!done.Costs.CreditApplied || done.Costs.CreditsRemaining == nil || *done.Costs.CreditsRemaining != 4 || len(done.Calls) != 4 {
		t.Errorf("complete = %+v; want the same totals, one credit taken of 5", done)
	}
	if _, err := time.Parse(timeFormat, *done.CompletedAt); err != nil {
		t.Errorf("completed_at %q: %v", *done.CompletedAt, err)
	}
}

// A bad x-llmservice-cache-ttl is a validation error of the header, in
// FastAPI's shape, before the job is looked at.
func TestBadCacheTTLIsAHeaderValidationError(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/api/jobs/no-such-job/llm-call", "/api/jobs/no-such-job/llm-call-stream"} {
		b, _ := json.Marshal(map[string]any{"model_group": "Chat", "messages": []map[string]string{{"role": "user", "content": "x"}}})
		req, _ := http.NewRequest("POST", h.url+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+h.key)
		req.Header.Set("X-Llmservice-Cache-Ttl", "soon")
		var out struct {
			Detail []FieldError `json:"detail"`
		}
		if st := h.send(t, req, &out); st != http.StatusUnprocessableEntity || len(out.Detail) != 1 ||
			fmt.Sprint(out.Detail[0].Loc) != "[header x-llmservice-cache-ttl]" {
			t.Errorf("%s: status %d, detail %+v; want 422 at [header x-llmservice-cache-ttl]", path, st, out.Detail)
		}
	}
}
