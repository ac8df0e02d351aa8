package athena

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

// The seed's chat completion: every documented parameter reaches the
// gateway, and the answer is a chat.completion with "content" and "usage".
func TestChatCompletion(t *testing.T) {
	e := newEnv(t)
	w := e.send("POST", "/api/v1/chat/completions", keyA, `{
		"messages": [
			{"role": "system", "content": "You are a helpful assistant."},
			{"role": "user", "content": "Explain quantum computing in simple terms"}
		],
		"model": "gpt-5-mini", "temperature": 0.7, "max_tokens": 500,
		"top_p": 0.9, "frequency_penalty": 0.5, "presence_penalty": -0.5
	}`)
	got := decode[map[string]any](t, w, http.StatusOK)
	if got["content"] != "echo: Explain quantum computing in simple terms" {
		t.Errorf("content = %v; want the reply text", got["content"])
	}
	if got["object"] != "chat.completion" || got["model"] != "gpt-5-mini" {
		t.Errorf("object, model = %v, %v; want chat.completion, gpt-5-mini", got["object"], got["model"])
	}
	choices, _ := got["choices"].([]any)
	if len(choices) != 1 {
		t.Fatalf("choices = %v; want one", got["choices"])
	}
	if msg := choices[0].(map[string]any)["message"].(map[string]any); msg["content"] != got["content"] {
		t.Errorf("choices[0].message.content = %v; want it equal to content", msg["content"])
	}
	u, _ := got["usage"].(map[string]any)
	if u["prompt_tokens"] != 20.0 || u["total_tokens"] == nil {
		t.Errorf("usage = %v; want the gateway's usage", got["usage"])
	}
	_, req := e.gw.last(t)
	f := func(v float64) *float64 { return &v }
	want := &llm.ChatRequest{Model: "gpt-5-mini", MaxTokens: ptr(500), Temperature: f(0.7), TopP: f(0.9), FrequencyPenalty: f(0.5), PresencePenalty: f(-0.5)}
	req.Messages = nil
	if diff := cmp.Diff(want, req); diff != "" {
		t.Errorf("request to the gateway (-want +got):\n%s", diff)
	}
	if w.Header().Get("X-Llmservice-Provider") != "fake" {
		t.Errorf("X-Llmservice-Provider = %q; want fake", w.Header().Get("X-Llmservice-Provider"))
	}
}

func ptr[T any](v T) *T { return &v }

func TestChatCompletionStream(t *testing.T) {
	e := newEnv(t)
	w := e.send("POST", "/api/v1/chat/completions", keyA,
		`{"model":"gpt-5-mini","messages":[{"role":"user","content":"hi there"}],"stream":true,"stream_options":{"include_usage":true}}`)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, type %q; want an SSE stream: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	text, usage := readStream(t, w.Body.String())
	if text != "echo: hi there" || usage == nil {
		t.Errorf("streamed %q, usage %v; want the reply and a usage chunk", text, usage)
	}
}

// readStream joins the deltas of an OpenAI SSE stream and returns its
// usage chunk, failing unless it ends with [DONE].
func readStream(t *testing.T, body string) (string, map[string]any) {
	t.Helper()
	if !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("stream does not end with [DONE]: %s", body)
	}
	var b strings.Builder
	var usage map[string]any
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		data := strings.TrimPrefix(ev, "data: ")
		if data == "[DONE]" {
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct{ Content string }
			}
			Usage map[string]any
			Error any
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil || c.Error != nil {
			t.Fatalf("bad event %q (%v)", ev, err)
		}
		for _, ch := range c.Choices {
			b.WriteString(ch.Delta.Content)
		}
		if c.Usage != nil {
			usage = c.Usage
		}
	}
	return b.String(), usage
}

// Bad requests answer 4xx in OpenAI's shape, naming the field.
func TestErrors(t *testing.T) {
	e := newEnv(t)
	conv := decode[map[string]any](t, e.send("POST", "/api/v1/conversations", keyA, `{"model":"gpt-5-mini"}`), http.StatusCreated)
	msgs := "/api/v1/conversations/" + conv["id"].(string) + "/messages"
	tests := []struct {
		name, method, path, key, body string
		status                        int
		param, code                   string
	}{
		{"no key", "POST", "/api/v1/chat/completions", "", `{}`, 401, "", "invalid_api_key"},
		{"bad key", "GET", "/api/v1/conversations", "sk-nope", ``, 401, "", "invalid_api_key"},
		{"chat: no model", "POST", "/api/v1/chat/completions", keyA, `{"messages":[{"role":"user","content":"x"}]}`, 400, "model", ""},
		{"chat: no messages", "POST", "/api/v1/chat/completions", keyA, `{"model":"m"}`, 400, "messages", ""},
		{"chat: temperature", "POST", "/api/v1/chat/completions", keyA, `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3}`, 400, "temperature", ""},
		{"chat: wrong type", "POST", "/api/v1/chat/completions", keyA, `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":"5"}`, 400, "max_tokens", ""},
		{"chat: not JSON", "POST", "/api/v1/chat/completions", keyA, `{"model":`, 400, "", ""},
		{"create: no model", "POST", "/api/v1/conversations", keyA, `{"system_message":"s"}`, 400, "model", ""},
		{"create: model type", "POST", "/api/v1/conversations", keyA, `{"model":5}`, 400, "model", ""},
		{"create: metadata type", "POST", "/api/v1/conversations", keyA, `{"model":"m","metadata":"x"}`, 400, "metadata", ""},
		{"create: system type", "POST", "/api/v1/conversations", keyA, `{"model":"m","system_message":["x"]}`, 400, "system_message", ""},
		{"create: unknown model", "POST", "/api/v1/conversations", keyA, `{"model":"unknown"}`, 404, "model", "model_not_found"},
		{"create: array body", "POST", "/api/v1/conversations", keyA, `[]`, 400, "", ""},
		{"create: empty body", "POST", "/api/v1/conversations", keyA, ``, 400, "", ""},
		{"send: no message", "POST", msgs, keyA, `{}`, 400, "message", ""},
		{"send: message type", "POST", msgs, keyA, `{"message":"hi"}`, 400, "message", ""},
		{"send: no content", "POST", msgs, keyA, `{"message":{"role":"user"}}`, 400, "message.content", ""},
		{"send: empty content", "POST", msgs, keyA, `{"message":{"role":"user","content":"  "}}`, 400, "message.content", ""},
		{"send: content type", "POST", msgs, keyA, `{"message":{"role":"user","content":5}}`, 400, "message.content", ""},
		{"send: image part", "POST", msgs, keyA, `{"message":{"content":[{"type":"image_url"}]}}`, 400, "message.content[0].type", ""},
		{"send: role", "POST", msgs, keyA, `{"message":{"role":"assistant","content":"x"}}`, 400, "message.role", ""},
		{"send: role type", "POST", msgs, keyA, `{"message":{"role":1,"content":"x"}}`, 400, "message.role", ""},
		{"send: top_p", "POST", msgs, keyA, `{"message":{"content":"x"},"top_p":1.5}`, 400, "top_p", ""},
		{"send: max_tokens", "POST", msgs, keyA, `{"message":{"content":"x"},"max_tokens":0}`, 400, "max_tokens", ""},
		{"send: max_tokens over window", "POST", msgs, keyA, `{"message":{"content":"x"},"max_tokens":8192}`, 400, "max_tokens", ""},
		{"send: stream type", "POST", msgs, keyA, `{"message":{"content":"x"},"stream":"yes"}`, 400, "stream", ""},
		{"send: unknown conversation", "POST", "/api/v1/conversations/conv_nope/messages", keyA, `{"message":{"content":"x"}}`, 404, "", "conversation_not_found"},
		{"send: too large", "POST", msgs, keyA, `{"message":{"content":"` + strings.Repeat("a", 1<<16) + `"}}`, 413, "", ""},
		{"get: unknown", "GET", "/api/v1/conversations/conv_nope", keyA, ``, 404, "", "conversation_not_found"},
		{"delete: unknown", "DELETE", "/api/v1/conversations/conv_nope", keyA, ``, 404, "", "conversation_not_found"},
		{"list: limit", "GET", "/api/v1/conversations?limit=0", keyA, ``, 400, "limit", ""},
		{"list: limit type", "GET", "/api/v1/conversations?limit=x", keyA, ``, 400, "limit", ""},
		{"list: limit too big", "GET", "/api/v1/conversations?limit=101", keyA, ``, 400, "limit", ""},
		{"list: cursor", "GET", "/api/v1/conversations?cursor=zzz", keyA, ``, 400, "cursor", ""},
		{"list: cursor and offset", "GET", "/api/v1/conversations?cursor=MTox&offset=2", keyA, ``, 400, "offset", ""},
		{"usage: group_by", "GET", "/api/v1/usage?group_by=week", keyA, ``, 400, "group_by", ""},
		{"usage: from", "GET", "/api/v1/usage?from=yesterday", keyA, ``, 400, "from", ""},
		{"usage: window", "GET", "/api/v1/usage?from=2026-02-01&to=2026-01-01", keyA, ``, 400, "to", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decode[apiError](t, e.send(tt.method, tt.path, tt.key, tt.body), tt.status)
			if got.Error.Message == "" || got.Error.Type == "" {
				t.Errorf("error body %+v lacks a message or type", got)
			}
			if got.param() != tt.param {
				t.Errorf("param = %q; want %q (message %q)", got.param(), tt.param, got.Error.Message)
			}
			if tt.code != "" && got.code() != tt.code {
				t.Errorf("code = %q; want %q", got.code(), tt.code)
			}
		})
	}
}

func TestUpstreamErrorKeepsConversation(t *testing.T) {
	e := newEnv(t)
	conv := decode[map[string]any](t, e.send("POST", "/api/v1/conversations", keyA, `{"model":"gpt-5-mini"}`), http.StatusCreated)
	path := "/api/v1/conversations/" + conv["id"].(string)
	e.gw.err = &llmservice.Error{Kind: llmservice.RateLimited, Message: "Rate limit reached"}
	got := decode[apiError](t, e.send("POST", path+"/messages", keyA, `{"message":{"content":"x"}}`), http.StatusTooManyRequests)
	if got.Error.Type != "rate_limit_error" {
		t.Errorf("type = %q; want rate_limit_error", got.Error.Type)
	}
	e.gw.err = errors.New("database on fire")
	w := e.send("POST", path+"/messages", keyA, `{"message":{"content":"x"}}`)
	if got := decode[apiError](t, w, http.StatusInternalServerError); got.Error.Message != "internal error" {
		t.Errorf("message = %q; want the internal error hidden", got.Error.Message)
	}
	detail := decode[map[string]any](t, e.send("GET", path, keyA, ""), http.StatusOK)
	if n := detail["message_count"]; n != 0.0 {
		t.Errorf("message_count = %v after failed calls; want 0: a failed turn stores nothing", n)
	}
}

// The seed's conversation flow: create, continue twice, read it back,
// list it, delete it.
func TestConversationLifecycle(t *testing.T) {
	e := newEnv(t)
	w := e.send("POST", "/api/v1/conversations", keyA, `{
		"model": "gpt-5-mini",
		"system_message": "You are a helpful coding assistant.",
		"metadata": {"project": "my-app", "purpose": "code-review"}
	}`)
	conv := decode[map[string]any](t, w, http.StatusCreated)
	id, _ := conv["id"].(string)
	if !strings.HasPrefix(id, "conv_") || conv["object"] != "conversation" || conv["system_message"] != "You are a helpful coding assistant." {
		t.Fatalf("created %v; want a conversation with an id and the system message", conv)
	}
	if diff := cmp.Diff(map[string]any{"project": "my-app", "purpose": "code-review"}, conv["metadata"]); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if w.Header().Get("Location") != "/api/v1/conversations/"+id {
		t.Errorf("Location = %q", w.Header().Get("Location"))
	}

	turn := decode[map[string]any](t, e.send("POST", "/api/v1/conversations/"+id+"/messages", keyA,
		`{"message": {"role": "user", "content": "Review this Python function"}}`), http.StatusOK)
	if turn["content"] != "echo: Review this Python function" || turn["conversation_id"] != id || turn["usage"] == nil {
		t.Errorf("turn = %v; want the reply's content, the conversation id and usage", turn)
	}
	call, req := e.gw.last(t)
	if call.Project != "my-app" || call.Purpose != "code-review" {
		t.Errorf("ledger labels = %q, %q; want the metadata's project and purpose", call.Project, call.Purpose)
	}
	wantRoles(t, req, "system", "user")

	decode[map[string]any](t, e.send("POST", "/api/v1/conversations/"+id+"/messages", keyA,
		`{"message": {"role": "user", "content": "And this one?"}, "temperature": 0.3}`), http.StatusOK)
	_, req = e.gw.last(t)
	wantRoles(t, req, "system", "user", "assistant", "user")
	if req.Messages[2].Text() != "echo: Review this Python function" || *req.Temperature != 0.3 {
		t.Errorf("history = %v; want the stored reply before the new message", req.Messages)
	}

	detail := decode[map[string]any](t, e.send("GET", "/api/v1/conversations/"+id, keyA, ""), http.StatusOK)
	ms, _ := detail["messages"].([]any)
	if detail["message_count"] != 4.0 || len(ms) != 4 {
		t.Fatalf("detail = %v; want 4 messages", detail)
	}
	last := ms[3].(map[string]any)
	if last["role"] != "assistant" || last["content"] != "echo: And this one?" || last["usage"] == nil || last["model"] != "gpt-5-mini" {
		t.Errorf("last message = %v; want the stored assistant reply with its usage", last)
	}
	if first := ms[0].(map[string]any); first["usage"] != nil {
		t.Errorf("user message carries usage %v", first["usage"])
	}

	list := decode[conversationList](t, e.send("GET", "/api/v1/conversations", keyA, ""), http.StatusOK)
	if len(list.Data) != 1 || list.Data[0].ID != id || list.HasMore || list.NextCursor != nil {
		t.Errorf("list = %+v; want the one conversation", list)
	}
	del := decode[map[string]any](t, e.send("DELETE", "/api/v1/conversations/"+id, keyA, ""), http.StatusOK)
	if del["deleted"] != true || del["id"] != id {
		t.Errorf("delete = %v", del)
	}
	decode[apiError](t, e.send("GET", "/api/v1/conversations/"+id, keyA, ""), http.StatusNotFound)
}

func wantRoles(t *testing.T, req *llm.ChatRequest, roles ...string) {
	t.Helper()
	var got []string
	for _, m := range req.Messages {
		got = append(got, m.Role)
	}
	if diff := cmp.Diff(roles, got); diff != "" {
		t.Errorf("roles sent to the model (-want +got):\n%s", diff)
	}
}

// A conversation is its team's: any key of another team gets 404 for every
// operation, and its list does not show it.
func TestConversationTeamIsolation(t *testing.T) {
	e := newEnv(t)
	conv := decode[map[string]any](t, e.send("POST", "/api/v1/conversations", keyA, `{"model":"gpt-5-mini"}`), http.StatusCreated)
	path := "/api/v1/conversations/" + conv["id"].(string)
	for _, tt := range []struct{ method, path, body string }{
		{"GET", path, ""},
		{"POST", path + "/messages", `{"message":{"content":"steal"}}`},
		{"DELETE", path, ""},
	} {
		got := decode[apiError](t, e.send(tt.method, tt.path, keyB, tt.body), http.StatusNotFound)
		if got.code() != "conversation_not_found" {
			t.Errorf("%s %s by team b: code %q; want conversation_not_found", tt.method, tt.path, got.code())
		}
	}
	list := decode[conversationList](t, e.send("GET", "/api/v1/conversations", keyB, ""), http.StatusOK)
	if len(list.Data) != 0 {
		t.Errorf("team b lists %d conversations; want 0", len(list.Data))
	}
	decode[map[string]any](t, e.send("GET", path, keyA, ""), http.StatusOK)
}

func TestConversationPaging(t *testing.T) {
	e := newEnv(t)
	var want []string
	for i := range 5 {
		c := decode[map[string]any](t, e.send("POST", "/api/v1/conversations", keyA, fmt.Sprintf(`{"model":"m%d"}`, i)), http.StatusCreated)
		want = append([]string{c["id"].(string)}, want...)
	}
	var got []string
	path := "/api/v1/conversations?limit=2"
	for range 5 {
		page := decode[conversationList](t, e.send("GET", path, keyA, ""), http.StatusOK)
		for _, c := range page.Data {
			got = append(got, c.ID)
		}
		if !page.HasMore {
			break
		}
		path = "/api/v1/conversations?limit=2&cursor=" + *page.NextCursor
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paging by cursor (-want +got):\n%s", diff)
	}
	page := decode[conversationList](t, e.send("GET", "/api/v1/conversations?limit=2&offset=3", keyA, ""), http.StatusOK)
	if len(page.Data) != 2 || page.Data[0].ID != want[3] || page.HasMore {
		t.Errorf("offset 3: %+v; want %v", page, want[3:])
	}
}

func TestConversationStream(t *testing.T) {
	e := newEnv(t)
	conv := decode[map[string]any](t, e.send("POST", "/api/v1/conversations", keyA, `{"model":"gpt-5-mini","system_message":"s"}`), http.StatusCreated)
	path := "/api/v1/conversations/" + conv["id"].(string)
	w := e.send("POST", path+"/messages", keyA, `{"message":{"role":"user","content":"stream me"},"stream":true,"stream_options":{"include_usage":true}}`)
	if w.Code != http.StatusOK || w.Header().Get("X-Conversation-Id") != conv["id"] {
		t.Fatalf("status %d, X-Conversation-Id %q: %s", w.Code, w.Header().Get("X-Conversation-Id"), w.Body)
	}
	text, usage := readStream(t, w.Body.String())
	if text != "echo: stream me" || usage == nil {
		t.Errorf("streamed %q, usage %v", text, usage)
	}
	detail := decode[struct{ Messages []messageView }](t, e.send("GET", path, keyA, ""), http.StatusOK)
	if len(detail.Messages) != 2 || detail.Messages[1].Content != "echo: stream me" || detail.Messages[1].Usage.TotalTokens == 0 {
		t.Errorf("stored messages %+v; want the streamed turn", detail.Messages)
	}
}

func TestModelsAndUsage(t *testing.T) {
	e := newEnv(t)
	models := decode[struct{ Data []modelView }](t, e.send("GET", "/api/v1/models", keyA, ""), http.StatusOK)
	want := []modelView{
		{ID: "gpt-5-mini", Object: "model", Created: 1700000000, OwnedBy: "openai", InputPerMTok: ptr(3.0), OutputPerMTok: ptr(12.0), RPM: 100, ContextWindow: 8192},
		{ID: "mock/echo", Object: "model", OwnedBy: "mock", ContextWindow: 8192},
	}
	if diff := cmp.Diff(want, models.Data); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}

	got := decode[usageReport](t, e.send("GET", "/api/v1/usage?from=2026-01-01&group_by=model", keyA, ""), http.StatusOK)
	if e.usage.last.TeamID != "team-a" || e.usage.last.From.IsZero() {
		t.Errorf("usage filter = %+v; want the caller's team and the window", e.usage.last)
	}
	if got.Total.Requests != 4 || got.Total.ErrorRate != 0.25 || len(got.Data) != 2 || got.Data[0].Group != "a-model" || got.Data[1].ErrorRate != 1 {
		t.Errorf("usage = %+v; want totals, error rates and groups by name", got)
	}
	if got.From == nil || *got.From != "2026-01-01T00:00:00.000Z" || got.To != nil {
		t.Errorf("window = %v, %v", got.From, got.To)
	}
}
