package django

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
)

const venus = `{"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "How is the weather on Venus?"}], "stream": false}`

// The non-stream answer has exactly the seed's sample shape: every field,
// in the SDK's order, with its nulls.
func TestChatMatchesSeedSample(t *testing.T) {
	e := newTestEnv(t)
	access, _ := e.login(t, "alice")
	w := e.send("POST", "/api/chat/completions/?provider=openai", venus, bearer(access))
	if w.Code != http.StatusOK {
		t.Fatalf("chat: %d %s", w.Code, w.Body)
	}
	want := `{"id":"chatcmpl-up","choices":[{"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":"echo: How is the weather on Venus?","refusal":null,"role":"assistant","annotations":[],"audio":null,"function_call":null,"tool_calls":null}}],"created":1746211182,"model":"gpt-3.5-turbo-0125","object":"chat.completion","service_tier":"default","system_fingerprint":null,"usage":{"completion_tokens":123,"prompt_tokens":14,"total_tokens":137,"completion_tokens_details":{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":0,"rejected_prediction_tokens":0},"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":0}}}`
	if got := strings.TrimSpace(w.Body.String()); got != want {
		t.Errorf("body mismatch (-want +got):\n%s", cmp.Diff(want, got))
	}
	call, req := e.gw.last()
	if call.Model != "openai/gpt-3.5-turbo" || call.Endpoint != "chat" || req.Stream {
		t.Errorf("call = %+v (stream %v); want openai/gpt-3.5-turbo, chat, not streamed", call, req.Stream)
	}
}

func TestChatModelResolution(t *testing.T) {
	e := newTestEnv(t)
	e.gw.catalog = map[string]*llmservice.Model{
		"llama-big": {Name: "llama-big", Provider: "ollama"},
		"split":     {Name: "split", Provider: "openai", Deployments: []llmservice.Deployment{{Provider: "openai"}, {Provider: "ollama"}}},
	}
	tests := []struct{ provider, model, want string }{
		{"openai", "gpt-4o", "openai/gpt-4o"},
		{"openai", "openai/gpt-4o", "openai/gpt-4o"},
		{"inhouse", "llama3.1", "ollama/llama3.1"},
		{"inhouse", "llama-big", "llama-big"},       // a catalog entry of the in-house instance
		{"openai", "llama-big", "openai/llama-big"}, // not served by openai: an upstream id there
		{"inhouse", "split", "split"},               // one of its deployments is in-house
		{"ollama", "llama3.1", "ollama/llama3.1"},   // an instance by its own name
		{"mock", "echo", "mock/echo"},
	}
	for _, tt := range tests {
		t.Run(tt.provider+"/"+tt.model, func(t *testing.T) {
			body := `{"model":"` + tt.model + `","messages":[{"role":"user","content":"hi"}]}`
			w := e.send("POST", "/api/chat/completions/?provider="+tt.provider, body, bearer("sk-good"))
			if w.Code != http.StatusOK {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if call, _ := e.gw.last(); call.Model != tt.want {
				t.Errorf("gateway model = %q; want %q", call.Model, tt.want)
			}
		})
	}
}

func TestChatErrors(t *testing.T) {
	e := newTestEnv(t)
	access, refresh := e.login(t, "alice")
	const providers = "openai, gemini, inhouse, ollama, mock"
	tests := []struct {
		name, target, body string
		hdr                map[string]string
		status             int
		want               string
	}{
		{"no credentials", "/api/chat/completions/?provider=openai", venus, nil, 401,
			`{"detail":"Authentication credentials were not provided."}`},
		{"basic auth is no credentials", "/api/chat/completions/?provider=openai", venus, map[string]string{"Authorization": "Basic dTpw"}, 401,
			`{"detail":"Authentication credentials were not provided."}`},
		{"tampered token", "/api/chat/completions/?provider=openai", venus, bearer(tamper(access)), 401,
			`{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token is invalid or expired"}]}`},
		{"refresh token", "/api/chat/completions/?provider=openai", venus, bearer(refresh), 401,
			`{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token has wrong type"}]}`},
		{"bad key", "/api/chat/completions/?provider=openai", venus, bearer("sk-bad"), 401,
			`{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Incorrect API key provided"}]}`},
		{"unknown provider", "/api/chat/completions/?provider=x", venus, bearer(access), 400,
			`{"error":"Unsupported provider 'x'. Use one of: ` + providers + `"}`},
		{"missing provider", "/api/chat/completions/", venus, bearer(access), 400,
			`{"error":"Missing 'provider' query parameter. Use one of: ` + providers + `"}`},
		{"unconfigured provider", "/api/chat/completions/?provider=gemini", venus, bearer(access), 503,
			`{"error":"Provider 'gemini' is not configured on this server."}`},
		{"missing fields", "/api/chat/completions/?provider=openai", `{}`, bearer(access), 400,
			`{"model":["This field is required."],"messages":["This field is required."]}`},
		{"messages not a list", "/api/chat/completions/?provider=openai", `{"model":"m","messages":"hi"}`, bearer(access), 400,
			`{"messages":["Expected a list of items but got type \"str\"."]}`},
		{"messages empty", "/api/chat/completions/?provider=openai", `{"model":"m","messages":[ ]}`, bearer(access), 400,
			`{"messages":["This list may not be empty."]}`},
		{"stream not a bool", "/api/chat/completions/?provider=openai", `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"maybe"}`, bearer(access), 400,
			`{"stream":["Must be a valid boolean."]}`},
		{"bad role", "/api/chat/completions/?provider=openai", `{"model":"m","messages":[{"role":"robot","content":"x"}]}`, bearer(access), 400,
			`{"messages[0].role":["unsupported role \"robot\"; expected system, developer, user, assistant or tool"]}`},
		{"bad temperature", "/api/chat/completions/?provider=openai", `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}`, bearer(access), 400,
			`{"temperature":["invalid value for 'temperature': expected a number, got string"]}`},
		{"malformed", "/api/chat/completions/?provider=openai", `{"model":`, bearer(access), 400,
			`{"detail":"JSON parse error - unexpected EOF"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.send("POST", tt.target, tt.body, tt.hdr)
			wantBody(t, w, tt.status, tt.want)
			if tt.status == 401 && w.Header().Get("WWW-Authenticate") != `Bearer realm="api"` {
				t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

func TestChatCallErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		want   string
	}{
		{"rate limited", &gateway.RateError{Err: &llmservice.Error{Kind: llmservice.RateLimited, Message: "Rate limit exceeded"}}, 429, `{"error":"Rate limit exceeded"}`},
		{"model not found", &llmservice.Error{Kind: llmservice.NotFound, Param: "model", Message: "The model 'x' does not exist"}, 404, `{"error":"The model 'x' does not exist"}`},
		{"upstream", &llmservice.Error{Kind: llmservice.Upstream, Message: "bad gateway"}, 502, `{"error":"bad gateway"}`},
		{"internal hides details", errorString("disk on fire"), 500, `{"error":"internal error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.gw.err = tt.err
			for _, stream := range []string{"false", "true"} {
				body := `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":` + stream + `}`
				wantBody(t, e.send("POST", "/api/chat/completions/?provider=openai", body, bearer("sk-good")), tt.status, tt.want)
			}
		})
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// sseEvents splits an SSE body into its data payloads.
func sseEvents(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for _, ev := range strings.Split(strings.TrimSpace(body), "\n\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok {
			t.Fatalf("event %q is not a data event", ev)
		}
		out = append(out, data)
	}
	return out
}

func TestChatStream(t *testing.T) {
	e := newTestEnv(t)
	for _, tt := range []struct {
		name, body string
		usage      bool
	}{
		{"plain", `{"model":"gpt-4o","messages":[{"role":"user","content":"stream me"}],"stream":true}`, false},
		{"string true", `{"model":"gpt-4o","messages":[{"role":"user","content":"stream me"}],"stream":"true"}`, false},
		{"with usage", `{"model":"gpt-4o","messages":[{"role":"user","content":"stream me"}],"stream":true,"stream_options":{"include_usage":true}}`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := e.send("POST", "/api/chat/completions/?provider=openai", tt.body, bearer("sk-good"))
			if w.Code != 200 || w.Header().Get("Content-Type") != "text/event-stream" {
				t.Fatalf("%d %s: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
			}
			evs := sseEvents(t, w.Body.String())
			if evs[len(evs)-1] != "[DONE]" {
				t.Fatalf("last event %q; want [DONE]", evs[len(evs)-1])
			}
			var text strings.Builder
			var sawUsage, sawFinish bool
			for _, ev := range evs[:len(evs)-1] {
				var c chunk
				mustJSON(t, []byte(ev), &c)
				if c.Object != "chat.completion.chunk" || !strings.HasPrefix(c.ID, "chatcmpl-") || c.Model != "gpt-4o" {
					t.Errorf("chunk %s: wrong object, id or model", ev)
				}
				if c.Usage != nil {
					sawUsage = true
					if len(c.Choices) != 0 || c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens {
						t.Errorf("usage chunk %s", ev)
					}
					continue
				}
				if !strings.Contains(ev, `"function_call":null`) || !strings.Contains(ev, `"logprobs":null`) {
					t.Errorf("chunk %s lacks the SDK's null fields", ev)
				}
				if d := c.Choices[0].Delta.Content; d != nil {
					text.WriteString(*d)
				}
				if c.Choices[0].FinishReason != nil && *c.Choices[0].FinishReason == "stop" {
					sawFinish = true
				}
			}
			if text.String() != "echo: stream me" || !sawFinish || sawUsage != tt.usage {
				t.Errorf("text %q, finish %v, usage %v; want the echo, a finish, usage %v", text.String(), sawFinish, sawUsage, tt.usage)
			}
			if _, req := e.gw.last(); !req.Stream {
				t.Error("the gateway call was not a stream")
			}
		})
	}
}

func TestChatStreamErrorAfterStart(t *testing.T) {
	e := newTestEnv(t)
	body := `{"model":"m","messages":[{"role":"user","content":"fail midway"}],"stream":true}`
	w := e.send("POST", "/api/chat/completions/?provider=openai", body, bearer("sk-good"))
	evs := sseEvents(t, w.Body.String())
	var last map[string]map[string]any
	mustJSON(t, []byte(evs[len(evs)-1]), &last)
	if w.Code != 200 || last["error"]["message"] != "upstream broke" {
		t.Errorf("status %d, last event %s; want 200 and an error event", w.Code, evs[len(evs)-1])
	}
}

func TestSupportedModels(t *testing.T) {
	e := newTestEnv(t)
	e.gw.models = []gateway.ModelInfo{
		{ID: "llama-big", OwnedBy: "ollama"},
		{ID: "mock/echo", OwnedBy: "mock"},
		{ID: "ollama/llama3.1", OwnedBy: "ollama"},
		{ID: "smart", OwnedBy: "model-group"},
	}
	tests := []struct {
		target string
		hdr    map[string]string
		status int
		want   string
	}{
		{"/api/supported-models/?provider=inhouse", bearer("sk-good"), 200, `{"models":["llama-big","llama3.1"]}`},
		{"/api/supported-models/?provider=mock", bearer("sk-good"), 200, `{"models":["echo"]}`},
		{"/api/supported-models/?provider=openai", bearer("sk-good"), 200, `{"models":["gpt-4.1","gpt-4.1-mini","gpt-4.1-nano","gpt-4o","gpt-4o-mini","o3","o3-mini","o4-mini","gpt-3.5-turbo"]}`},
		{"/api/supported-models/?provider=gemini", bearer("sk-good"), 200, `{"models":[]}`},
		{"/api/supported-models/?provider=nope", bearer("sk-good"), 400, `{"error":"Unsupported provider 'nope'. Use one of: openai, gemini, inhouse, ollama, mock"}`},
		{"/api/supported-models/?provider=openai", nil, 401, `{"detail":"Authentication credentials were not provided."}`},
		{"/api/supported-models?provider=mock", bearer("sk-good"), 200, `{"models":["echo"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			wantBody(t, e.send("GET", tt.target, "", tt.hdr), tt.status, tt.want)
		})
	}
}

func TestPermits(t *testing.T) {
	tests := []struct {
		list  []string
		model string
		want  bool
	}{
		{nil, "openai/gpt-4o", true},
		{[]string{"openai/gpt-4o"}, "openai/gpt-4o", true},
		{[]string{"openai/*"}, "openai/gpt-4o", true},
		{[]string{"*"}, "x", true},
		{[]string{"gemini/*"}, "openai/gpt-4o", false},
	}
	for _, tt := range tests {
		if got := permits(tt.list, tt.model); got != tt.want {
			t.Errorf("permits(%v, %q) = %v; want %v", tt.list, tt.model, got, tt.want)
		}
	}
}

func TestMapProviders(t *testing.T) {
	tests := []struct {
		name  string
		insts []Instance
		want  []Provider
	}{
		{"none", nil, []Provider{{Name: "openai"}, {Name: "gemini"}, {Name: "inhouse"}}},
		{"env defaults", []Instance{{"mock", "mock"}, {"openai", "openai"}, {"anthropic", "anthropic"}, {"gemini", "gemini"}, {"ollama", "ollama"}},
			[]Provider{{"openai", "openai", "openai"}, {"gemini", "gemini", "gemini"}, {"inhouse", "ollama", "ollama"},
				{"mock", "mock", "mock"}, {"anthropic", "anthropic", "anthropic"}, {"ollama", "ollama", "ollama"}}},
		{"openai-compatible in-house", []Instance{{"vllm", "openai-compatible"}, {"azure", "openai"}},
			[]Provider{{"openai", "azure", "openai"}, {"gemini", "", ""}, {"inhouse", "vllm", "openai-compatible"},
				{"vllm", "vllm", "openai-compatible"}, {"azure", "azure", "openai"}}},
		{"ollama beats openai-compatible", []Instance{{"vllm", "openai-compatible"}, {"gpu", "ollama"}},
			[]Provider{{"openai", "", ""}, {"gemini", "", ""}, {"inhouse", "gpu", "ollama"},
				{"vllm", "vllm", "openai-compatible"}, {"gpu", "gpu", "ollama"}}},
		{"an instance named inhouse", []Instance{{"gpu", "ollama"}, {"inhouse", "openai-compatible"}},
			[]Provider{{"openai", "", ""}, {"gemini", "", ""}, {"inhouse", "inhouse", "openai-compatible"}, {"gpu", "gpu", "ollama"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, MapProviders(tt.insts)); diff != "" {
				t.Errorf("MapProviders mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// The JSON of a completion keeps the documented key order.
func TestCompletionKeyOrder(t *testing.T) {
	b, _ := json.Marshal(&completion{})
	keys := []string{`"id"`, `"choices"`, `"created"`, `"model"`, `"object"`, `"service_tier"`, `"system_fingerprint"`, `"usage"`}
	last := -1
	for _, k := range keys {
		i := strings.Index(string(b), k)
		if i < last {
			t.Fatalf("%s out of order in %s", k, b)
		}
		last = i
	}
}
