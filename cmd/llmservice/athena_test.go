package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// athenaStart starts a server whose "openai" provider is a fake upstream,
// with the seed's three models in the catalog at the seed's prices and
// rate limits, and a key of team "athena".
func athenaStart(t *testing.T) (srv *testServer, oa *providertest.Fake, key string) {
	t.Helper()
	oa = providertest.NewOpenAI(t)
	srv = startServer(t, map[string]string{"OPENAI_API_KEY": "sk-upstream", "OPENAI_BASE_URL": oa.URL + "/v1"})
	athenaCatalog(t, srv.URL)
	_, key, _ = newKey(t, srv.URL, "athena", nil)
	return srv, oa, key
}

// athenaModels are the seed's models, prices and limits, set as its
// operators would (docs/athena.md).
var athenaModels = []map[string]any{
	{"name": "gpt-5-mini", "provider": "openai", "input_per_mtok": 3, "output_per_mtok": 12, "rpm": 100},
	{"name": "gpt-5", "provider": "openai", "input_per_mtok": 15, "output_per_mtok": 60, "rpm": 60},
	{"name": "gpt-4o", "provider": "openai", "input_per_mtok": 10, "output_per_mtok": 30, "rpm": 80},
}

func athenaCatalog(t *testing.T, base string) {
	t.Helper()
	for _, m := range athenaModels {
		if st := do(t, "POST", base+"/admin/models", testAdminKey, m, nil); st != http.StatusCreated {
			t.Fatalf("POST /admin/models %v: status %d", m, st)
		}
	}
}

// athenaCurl runs one of the seed's curl commands with its base URL and key
// swapped for the test server's, and returns what curl printed.
func athenaCurl(t *testing.T, base, key, cmd string) string {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	cmd = strings.ReplaceAll(cmd, "https://athena-llm-570639954118.us-central1.run.app", base)
	cmd = strings.ReplaceAll(cmd, "YOUR_API_KEY", key)
	// -sS: no progress meter, but errors; -w: the status on its own line.
	cmd = strings.Replace(cmd, "curl ", `curl -sS -w '\n%{http_code}' `, 1)
	out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return string(out)
}

// athenaStatus splits curl's output into its JSON body and status.
func athenaStatus(t *testing.T, out string, v any) int {
	t.Helper()
	i := strings.LastIndexByte(out, '\n')
	var st int
	fmt.Sscanf(out[i+1:], "%d", &st)
	if err := json.Unmarshal([]byte(out[:i]), v); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, out)
	}
	return st
}

// The seed's curl examples, verbatim but for the base URL and key.
const (
	athenaChatCurl = `curl -X POST https://athena-llm-570639954118.us-central1.run.app/api/v1/chat/completions \
  -H "Authorization: Bearer YOUR_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "messages": [
      {"role": "system", "content": "You are a helpful assistant."},
      {"role": "user", "content": "Explain quantum computing in simple terms"}
    ],
    "model": "gpt-5-mini",
    "temperature": 0.7,
    "max_tokens": 500
  }'`
	athenaCreateCurl = `curl -X POST https://athena-llm-570639954118.us-central1.run.app/api/v1/conversations \
  -H "Authorization: Bearer YOUR_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "model": "gpt-5-mini",
    "system_message": "You are a helpful coding assistant.",
    "metadata": {"project": "my-app", "purpose": "code-review"}
  }'`
	athenaContinueCurl = `curl -X POST https://athena-llm-570639954118.us-central1.run.app/api/v1/conversations/{conversation_id}/messages \
  -H "Authorization: Bearer YOUR_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "message": {"role": "user", "content": "Review this Python function"}
  }'`
)

func TestAthenaSeedCurlExamples(t *testing.T) {
	srv, oa, key := athenaStart(t)

	var chat struct {
		Object, Model, Content string
		Choices                []struct{ Message struct{ Content string } }
		Usage                  struct{ PromptTokens, CompletionTokens, TotalTokens int } `json:"usage"`
	}
	if st := athenaStatus(t, athenaCurl(t, srv.URL, key, athenaChatCurl), &chat); st != http.StatusOK {
		t.Fatalf("chat completion: status %d", st)
	}
	if chat.Content != "echo: Explain quantum computing in simple terms" || chat.Object != "chat.completion" ||
		chat.Model != "gpt-5-mini" || len(chat.Choices) != 1 || chat.Choices[0].Message.Content != chat.Content {
		t.Errorf("chat completion = %+v; want a chat.completion with the reply in content", chat)
	}
	up := oa.Last(t).JSON(t)
	if up["temperature"] != 0.7 || (up["max_tokens"] != 500.0 && up["max_completion_tokens"] != 500.0) {
		t.Errorf("upstream request = %v; want the seed's temperature and max_tokens", up)
	}

	var conv map[string]any
	if st := athenaStatus(t, athenaCurl(t, srv.URL, key, athenaCreateCurl), &conv); st != http.StatusCreated {
		t.Fatalf("create conversation: status %d: %v", st, conv)
	}
	id, _ := conv["id"].(string)
	if id == "" || conv["model"] != "gpt-5-mini" || conv["system_message"] != "You are a helpful coding assistant." ||
		mustJSON(t, conv["metadata"]) != `{"project":"my-app","purpose":"code-review"}` {
		t.Fatalf("conversation = %v", conv)
	}

	var turn map[string]any
	cont := strings.ReplaceAll(athenaContinueCurl, "{conversation_id}", id)
	if st := athenaStatus(t, athenaCurl(t, srv.URL, key, cont), &turn); st != http.StatusOK {
		t.Fatalf("continue conversation: status %d: %v", st, turn)
	}
	if turn["content"] != "echo: Review this Python function" || turn["conversation_id"] != id || turn["usage"] == nil {
		t.Errorf("turn = %v", turn)
	}
	msgs, _ := oa.Last(t).JSON(t)["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["role"] != "system" {
		t.Errorf("upstream messages = %v; want the system message, then the user's", msgs)
	}
}

// athenaSDK is the seed's Python SDK example, verbatim but for the base URL
// and key.
const athenaSDK = `import requests

class AthenaLLM:
    def __init__(self, api_key):
        self.api_key = api_key
        self.base_url = "https://athena-llm-570639954118.us-central1.run.app"
        self.headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json"
        }
    
    def chat(self, messages, model="gpt-5-mini", **kwargs):
        response = requests.post(
            f"{self.base_url}/api/v1/chat/completions",
            headers=self.headers,
            json={"messages": messages, "model": model, **kwargs}
        )
        return response.json()

# Usage
client = AthenaLLM("your_api_key")
response = client.chat([
    {"role": "user", "content": "Hello!"}
])
print(response["content"])
`

func TestAthenaPythonSDK(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	if err := exec.Command("python3", "-c", "import requests").Run(); err != nil {
		t.Skip("python3 has no requests module")
	}
	srv, _, key := athenaStart(t)
	src := strings.ReplaceAll(athenaSDK, "https://athena-llm-570639954118.us-central1.run.app", srv.URL)
	src = strings.ReplaceAll(src, "your_api_key", key)
	path := filepath.Join(t.TempDir(), "athena_sdk.py")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", path).CombinedOutput()
	if err != nil {
		t.Fatalf("python3 %s: %v\n%s", path, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "echo: Hello!" {
		t.Errorf("the SDK printed %q; want the reply's content", got)
	}

	// The SDK passes **kwargs through: the documented parameters work from it.
	kw := strings.Replace(src, `{"role": "user", "content": "Hello!"}
])`, `{"role": "user", "content": "Hello!"}
], model="gpt-4o", temperature=0.2, top_p=0.9, frequency_penalty=0.1, presence_penalty=0.1, max_tokens=50)
print(response["model"], response["usage"]["total_tokens"] > 0)`, 1)
	if err := os.WriteFile(path, []byte(kw), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command("python3", path).CombinedOutput()
	if err != nil {
		t.Fatalf("python3 with kwargs: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "gpt-4o True\necho: Hello!" {
		t.Errorf("the SDK with kwargs printed %q", got)
	}
}

// Athena's chat completions speak OpenAI's protocol, so the official
// client works against /api/v1, streaming included.
func TestAthenaOpenAIClient(t *testing.T) {
	srv, _, key := athenaStart(t)
	c := openai.NewClient(option.WithBaseURL(srv.URL+"/api/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	ctx := context.Background()
	resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-5-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello athena")}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "echo: hello athena" || resp.Usage.TotalTokens == 0 {
		t.Errorf("response = %+v", resp)
	}
	s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gpt-5-mini",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream please")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content != "echo: stream please" || acc.Usage.TotalTokens == 0 {
		t.Errorf("streamed %q, usage %+v", acc.Choices[0].Message.Content, acc.Usage)
	}
}

// The seed's prices and per-key, per-model rate limits come from the
// catalog: the ledger charges the catalog price, and a model's rpm applies
// to each key separately.
func TestAthenaCatalogPricesAndRateLimits(t *testing.T) {
	srv, _, key := athenaStart(t)
	var models struct {
		Data []struct {
			ID            string   `json:"id"`
			InputPerMTok  *float64 `json:"input_per_mtok"`
			OutputPerMTok *float64 `json:"output_per_mtok"`
			RPM           int      `json:"rpm"`
		} `json:"data"`
	}
	do(t, "GET", srv.URL+"/api/v1/models", key, nil, &models)
	seen := map[string]bool{}
	for _, m := range models.Data {
		for _, want := range athenaModels {
			if m.ID == want["name"] {
				seen[m.ID] = true
				if m.InputPerMTok == nil || *m.InputPerMTok != float64(want["input_per_mtok"].(int)) ||
					*m.OutputPerMTok != float64(want["output_per_mtok"].(int)) || m.RPM != want["rpm"] {
					t.Errorf("model %s = %+v; want %v", m.ID, m, want)
				}
			}
		}
	}
	if len(seen) != 3 {
		t.Errorf("GET /api/v1/models lists %v of the seed's models; want all three", seen)
	}

	// Price: one gpt-5-mini call is charged at $3 in / $12 out per million.
	var chat struct {
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	body := map[string]any{"model": "gpt-5-mini", "messages": []map[string]string{{"role": "user", "content": "price me"}}}
	if st := do(t, "POST", srv.URL+"/api/v1/chat/completions", key, body, &chat); st != http.StatusOK {
		t.Fatalf("chat: status %d", st)
	}
	var usage struct {
		Total struct {
			Requests float64 `json:"requests"`
			CostUSD  float64 `json:"cost_usd"`
		} `json:"total"`
	}
	do(t, "GET", srv.URL+"/api/v1/usage", key, nil, &usage)
	want := (float64(chat.Usage.PromptTokens)*3 + float64(chat.Usage.CompletionTokens)*12) / 1e6
	if usage.Total.Requests != 1 || math.Abs(usage.Total.CostUSD-want) > 1e-9 {
		t.Errorf("usage = %+v; want 1 request costing %g", usage.Total, want)
	}

	// Rate limit: a model with rpm 2 admits two calls per key and minute.
	do(t, "POST", srv.URL+"/admin/models", testAdminKey, map[string]any{"name": "gpt-5", "provider": "openai", "input_per_mtok": 15, "output_per_mtok": 60, "rpm": 2}, nil)
	body["model"] = "gpt-5"
	for i := range 2 {
		if st := do(t, "POST", srv.URL+"/api/v1/chat/completions", key, body, nil); st != http.StatusOK {
			t.Fatalf("call %d: status %d", i+1, st)
		}
	}
	var refusal struct {
		Error struct{ Message, Type, Code string } `json:"error"`
	}
	var h http.Header
	if st := doH(t, "POST", srv.URL+"/api/v1/chat/completions", key, body, &refusal, &h); st != http.StatusTooManyRequests {
		t.Fatalf("third call: status %d; want 429", st)
	}
	if refusal.Error.Type != "rate_limit_error" || refusal.Error.Code != "rate_limit_exceeded" || h.Get("Retry-After") == "" ||
		h.Get("X-Ratelimit-Limit-Requests") != "2" {
		t.Errorf("refusal = %+v, headers %v", refusal, h)
	}
	// The same limit holds on GraphQL and on conversations: same gateway.
	var g struct {
		Errors []struct{ Extensions map[string]any } `json:"errors"`
	}
	do(t, "POST", srv.URL+"/graphql", key, map[string]any{"query": `mutation { chat(model: "gpt-5", messages: [{role: "user", content: "x"}]) { content } }`}, &g)
	if len(g.Errors) != 1 || g.Errors[0].Extensions["code"] != "RATE_LIMITED" {
		t.Errorf("GraphQL over the limit: %+v; want RATE_LIMITED", g)
	}
	// Per key: another key of the same team still has its own two calls.
	_, other, _ := newKey(t, srv.URL, "athena", nil)
	if st := do(t, "POST", srv.URL+"/api/v1/chat/completions", other, body, nil); st != http.StatusOK {
		t.Errorf("another key: status %d; want 200, the limit is per key", st)
	}
}

// A conversation belongs to its team: another team's key gets 404 on every
// conversation path, in OpenAI's error shape.
func TestAthenaTeamIsolation(t *testing.T) {
	srv, _, key := athenaStart(t)
	_, other, _ := newKey(t, srv.URL, "rival", nil)
	var conv struct{ ID string }
	do(t, "POST", srv.URL+"/api/v1/conversations", key, map[string]any{"model": "gpt-5-mini"}, &conv)
	path := srv.URL + "/api/v1/conversations/" + conv.ID
	for _, tt := range []struct {
		method, url string
		body        any
	}{
		{"GET", path, nil},
		{"POST", path + "/messages", map[string]any{"message": map[string]string{"role": "user", "content": "x"}}},
		{"DELETE", path, nil},
	} {
		var e struct {
			Error struct{ Message, Type, Code string } `json:"error"`
		}
		if st := do(t, tt.method, tt.url, other, tt.body, &e); st != http.StatusNotFound || e.Error.Code != "conversation_not_found" {
			t.Errorf("%s %s by another team: status %d, %+v; want 404 conversation_not_found", tt.method, tt.url, st, e)
		}
	}
	var list struct{ Data []any }
	do(t, "GET", srv.URL+"/api/v1/conversations", other, nil, &list)
	if len(list.Data) != 0 {
		t.Errorf("another team lists %d conversations", len(list.Data))
	}
	var g struct {
		Data   struct{ Conversation any }
		Errors []struct{ Extensions map[string]any }
	}
	do(t, "POST", srv.URL+"/graphql", other, map[string]any{"query": `query($id: ID!) { conversation(id: $id) { id } }`, "variables": map[string]any{"id": conv.ID}}, &g)
	if g.Data.Conversation != nil || len(g.Errors) != 1 || g.Errors[0].Extensions["status"] != 404.0 {
		t.Errorf("GraphQL by another team: %+v; want null and a 404 error", g)
	}
	if st := do(t, "GET", path, key, nil, nil); st != http.StatusOK {
		t.Errorf("owner: status %d", st)
	}

	// A key of the owning team used from outside its IP allowlist reads
	// nothing either.
	_, office, _ := newKey(t, srv.URL, "athena", map[string]any{"ip_allowlist": []string{"10.0.0.0/8"}})
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if st := do(t, "GET", path, office, nil, &e); st != http.StatusUnauthorized || e.Error.Code != "ip_not_allowed" {
		t.Errorf("key from outside its allowlist: status %d, code %q; want 401 ip_not_allowed", st, e.Error.Code)
	}
}

// Conversations are in the database: a server started on the same file
// after a restart reads them and continues them with their history.
func TestAthenaConversationsSurviveRestart(t *testing.T) {
	oa := providertest.NewOpenAI(t)
	env := map[string]string{"OPENAI_API_KEY": "sk-upstream", "OPENAI_BASE_URL": oa.URL + "/v1",
		"LLMSERVICE_DATABASE_URL": testDatabaseURL(t, "athena.db")}
	first := startServer(t, env)
	_, key, _ := newKey(t, first.URL, "athena", nil)
	var conv struct{ ID string }
	do(t, "POST", first.URL+"/api/v1/conversations", key, map[string]any{"model": "gpt-4o-mini", "system_message": "Be brief.", "metadata": map[string]any{"project": "p"}}, &conv)
	msg := map[string]any{"message": map[string]string{"role": "user", "content": "remember me"}}
	if st := do(t, "POST", first.URL+"/api/v1/conversations/"+conv.ID+"/messages", key, msg, nil); st != http.StatusOK {
		t.Fatalf("send: status %d", st)
	}
	var before map[string]any
	do(t, "GET", first.URL+"/api/v1/conversations/"+conv.ID, key, nil, &before)
	if err := first.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	env["LLMSERVICE_ADDR"] = "" // a new port
	second := startServer(t, env)
	var after map[string]any
	if st := do(t, "GET", second.URL+"/api/v1/conversations/"+conv.ID, key, nil, &after); st != http.StatusOK {
		t.Fatalf("after restart: status %d", st)
	}
	if b, a := mustJSON(t, before), mustJSON(t, after); b != a {
		t.Errorf("conversation after restart differs:\nbefore %s\nafter  %s", b, a)
	}
	msg["message"] = map[string]string{"role": "user", "content": "what did I say?"}
	if st := do(t, "POST", second.URL+"/api/v1/conversations/"+conv.ID+"/messages", key, msg, nil); st != http.StatusOK {
		t.Fatalf("send after restart: status %d", st)
	}
	var texts []string
	for _, m := range oa.Last(t).JSON(t)["messages"].([]any) {
		texts = append(texts, fmt.Sprint(m.(map[string]any)["content"]))
	}
	want := []string{"Be brief.", "remember me", "echo: remember me", "what did I say?"}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Errorf("history sent after restart = %q; want %q", texts, want)
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

// A long conversation is trimmed to the model's context window (the
// catalog's context_window here), oldest turns first, system message kept;
// without a catalog window the price table's applies.
func TestAthenaTrimsToContextWindow(t *testing.T) {
	srv, oa, key := athenaStart(t)
	do(t, "POST", srv.URL+"/admin/models", testAdminKey, map[string]any{"name": "athena-tiny", "provider": "openai", "upstream_model": "gpt-4o-mini", "context_window": 400}, nil)
	var conv struct{ ID string }
	do(t, "POST", srv.URL+"/api/v1/conversations", key, map[string]any{"model": "athena-tiny", "system_message": "You are terse."}, &conv)
	filler := strings.Repeat(" lorem ipsum dolor sit amet", 4)
	var turn struct {
		ContextWindow   int `json:"context_window"`
		TrimmedMessages int `json:"trimmed_messages"`
	}
	for i := range 12 {
		msg := map[string]any{"message": map[string]string{"role": "user", "content": fmt.Sprintf("turn %d%s", i, filler)}}
		if st := do(t, "POST", srv.URL+"/api/v1/conversations/"+conv.ID+"/messages", key, msg, &turn); st != http.StatusOK {
			t.Fatalf("turn %d: status %d", i, st)
		}
	}
	sent := oa.Last(t).JSON(t)["messages"].([]any)
	first, last := sent[0].(map[string]any), sent[len(sent)-1].(map[string]any)
	if first["role"] != "system" || first["content"] != "You are terse." {
		t.Errorf("first message sent = %v; want the system message", first)
	}
	if !strings.HasPrefix(fmt.Sprint(last["content"]), "turn 11 ") {
		t.Errorf("last message sent = %v; want the new one", last)
	}
	if s := fmt.Sprint(sent[1].(map[string]any)["content"]); strings.HasPrefix(s, "turn 0 ") || sent[1].(map[string]any)["role"] != "user" {
		t.Errorf("history starts with %v; want a later user turn", sent[1])
	}
	if turn.ContextWindow != 400 || turn.TrimmedMessages != 22-(len(sent)-2) || turn.TrimmedMessages == 0 {
		t.Errorf("context_window %d, trimmed_messages %d with %d messages sent", turn.ContextWindow, turn.TrimmedMessages, len(sent))
	}

	// gpt-4o-mini has no catalog window: the price table's 128k applies.
	do(t, "POST", srv.URL+"/api/v1/conversations", key, map[string]any{"model": "gpt-4o-mini"}, &conv)
	do(t, "POST", srv.URL+"/api/v1/conversations/"+conv.ID+"/messages", key, map[string]any{"message": map[string]string{"content": "hi"}}, &turn)
	if turn.ContextWindow != 128000 {
		t.Errorf("gpt-4o-mini context_window = %d; want the price table's 128000", turn.ContextWindow)
	}
}

// athenaGQL posts a GraphQL document and decodes data into out.
func athenaGQL(t *testing.T, base, key, query string, vars map[string]any, out any) {
	t.Helper()
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors []any           `json:"errors"`
	}
	if st := do(t, "POST", base+"/graphql", key, map[string]any{"query": query, "variables": vars}, &resp); st != http.StatusOK || len(resp.Errors) > 0 {
		t.Fatalf("graphql %s: status %d, errors %v", query, st, resp.Errors)
	}
	if err := json.Unmarshal(resp.Data, out); err != nil {
		t.Fatalf("graphql data: %v (%s)", err, resp.Data)
	}
}

// GraphQL answers the same data as REST on the real server: the same
// conversation, messages, usage totals and models.
func TestAthenaGraphQLMatchesREST(t *testing.T) {
	srv, _, key := athenaStart(t)
	var created struct {
		CreateConversation struct{ ID string }
	}
	athenaGQL(t, srv.URL, key, `mutation { createConversation(model: "gpt-5-mini", systemMessage: "You are a helpful coding assistant.",
		metadata: {project: "my-app", purpose: "code-review"}) { id } }`, nil, &created)
	id := created.CreateConversation.ID
	var sent struct {
		SendMessage struct {
			Content string
			Usage   struct{ TotalTokens int }
		}
	}
	athenaGQL(t, srv.URL, key, `mutation($id: ID!) { sendMessage(conversationId: $id, content: "Review this Python function") { content usage { totalTokens } } }`,
		map[string]any{"id": id}, &sent)
	if sent.SendMessage.Content != "echo: Review this Python function" || sent.SendMessage.Usage.TotalTokens == 0 {
		t.Errorf("sendMessage = %+v", sent)
	}
	var restTurn map[string]any
	do(t, "POST", srv.URL+"/api/v1/conversations/"+id+"/messages", key, map[string]any{"message": map[string]string{"content": "and again"}}, &restTurn)

	var g struct {
		Conversation struct {
			Model, SystemMessage, CreatedAt, UpdatedAt string
			Metadata                                   map[string]any
			MessageCount                               int
			Messages                                   []struct {
				ID, Role, Content, CreatedAt string
				Usage                        *struct{ PromptTokens, CompletionTokens, TotalTokens int }
			}
		}
		Usage struct {
			Total struct{ Requests, Errors, PromptTokens, CompletionTokens, TotalTokens, CostUsd, AvgLatencyMs float64 }
			Data  []struct {
				Group    string
				Requests float64
				CostUsd  float64
			}
		}
		Models []struct{ ID string }
	}
	athenaGQL(t, srv.URL, key, `query($id: ID!) {
		conversation(id: $id) { model systemMessage createdAt updatedAt metadata messageCount
			messages { id role content createdAt usage { promptTokens completionTokens totalTokens } } }
		usage(groupBy: "model") { total { requests errors promptTokens completionTokens totalTokens costUsd avgLatencyMs } data { group requests costUsd } }
		models { id } }`, map[string]any{"id": id}, &g)

	var r struct {
		Model         string         `json:"model"`
		SystemMessage string         `json:"system_message"`
		CreatedAt     string         `json:"created_at"`
		UpdatedAt     string         `json:"updated_at"`
		Metadata      map[string]any `json:"metadata"`
		MessageCount  int            `json:"message_count"`
		Messages      []struct {
			ID        string `json:"id"`
			Role      string `json:"role"`
			Content   string `json:"content"`
			CreatedAt string `json:"created_at"`
			Usage     *struct {
				PromptTokens     int `json:"prompt_tokens"`
				CompletionTokens int `json:"completion_tokens"`
				TotalTokens      int `json:"total_tokens"`
			} `json:"usage"`
		} `json:"messages"`
	}
	do(t, "GET", srv.URL+"/api/v1/conversations/"+id, key, nil, &r)
	gc := g.Conversation
	if gc.Model != r.Model || gc.SystemMessage != r.SystemMessage || gc.CreatedAt != r.CreatedAt || gc.UpdatedAt != r.UpdatedAt ||
		mustJSON(t, gc.Metadata) != mustJSON(t, r.Metadata) || gc.MessageCount != 4 || r.MessageCount != 4 || len(gc.Messages) != len(r.Messages) {
		t.Fatalf("conversation: GraphQL %+v; REST %+v", gc, r)
	}
	for i, gm := range gc.Messages {
		rm := r.Messages[i]
		same := gm.ID == rm.ID && gm.Role == rm.Role && gm.Content == rm.Content && gm.CreatedAt == rm.CreatedAt && (gm.Usage == nil) == (rm.Usage == nil)
		if same && gm.Usage != nil {
			same = gm.Usage.PromptTokens == rm.Usage.PromptTokens && gm.Usage.CompletionTokens == rm.Usage.CompletionTokens && gm.Usage.TotalTokens == rm.Usage.TotalTokens
		}
		if !same {
			t.Errorf("message %d: GraphQL %+v; REST %+v", i, gm, rm)
		}
	}

	var ru struct {
		Total struct {
			Requests         float64 `json:"requests"`
			Errors           float64 `json:"errors"`
			PromptTokens     float64 `json:"prompt_tokens"`
			CompletionTokens float64 `json:"completion_tokens"`
			TotalTokens      float64 `json:"total_tokens"`
			CostUSD          float64 `json:"cost_usd"`
			AvgLatencyMS     float64 `json:"avg_latency_ms"`
		} `json:"total"`
		Data []struct {
			Group    string  `json:"group"`
			Requests float64 `json:"requests"`
			CostUSD  float64 `json:"cost_usd"`
		} `json:"data"`
	}
	do(t, "GET", srv.URL+"/api/v1/usage?group_by=model", key, nil, &ru)
	gt := g.Usage.Total
	if gt.Requests != 2 || gt.Requests != ru.Total.Requests || gt.Errors != ru.Total.Errors || gt.PromptTokens != ru.Total.PromptTokens ||
		gt.CompletionTokens != ru.Total.CompletionTokens || gt.TotalTokens != ru.Total.TotalTokens || gt.CostUsd != ru.Total.CostUSD ||
		gt.AvgLatencyMs != ru.Total.AvgLatencyMS || gt.CostUsd == 0 {
		t.Errorf("usage total: GraphQL %+v; REST %+v", gt, ru.Total)
	}
	if len(g.Usage.Data) != 1 || len(ru.Data) != 1 || g.Usage.Data[0].Group != "gpt-5-mini" || g.Usage.Data[0].Group != ru.Data[0].Group ||
		g.Usage.Data[0].CostUsd != ru.Data[0].CostUSD {
		t.Errorf("usage by model: GraphQL %+v; REST %+v", g.Usage.Data, ru.Data)
	}

	var rm struct{ Data []struct{ ID string } }
	do(t, "GET", srv.URL+"/api/v1/models", key, nil, &rm)
	if len(g.Models) == 0 || len(g.Models) != len(rm.Data) {
		t.Fatalf("models: GraphQL %d, REST %d", len(g.Models), len(rm.Data))
	}
	for i := range g.Models {
		if g.Models[i].ID != rm.Data[i].ID {
			t.Errorf("model %d: GraphQL %s, REST %s", i, g.Models[i].ID, rm.Data[i].ID)
		}
	}

	// The playground page is served on GET, with no key needed.
	resp, err := http.Get(srv.URL + "/graphql")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /graphql: status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
