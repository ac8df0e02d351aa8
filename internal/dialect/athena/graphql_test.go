package athena

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
)

// gqlResponse is a GraphQL answer.
type gqlResponse struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// gql runs a document and decodes the answer, failing on a status other
// than want.
func (e *testEnv) gql(t *testing.T, key, query string, vars map[string]any, want int) gqlResponse {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return decode[gqlResponse](t, e.send("POST", "/graphql", key, string(b)), want)
}

// gUsage is Usage as GraphQL names its fields.
type gUsage struct{ PromptTokens, CompletionTokens, TotalTokens int }

func (u gUsage) rest() *usageView { return newUsage(u.PromptTokens, u.CompletionTokens) }

// field decodes one top-level field of a successful answer.
func field[T any](t *testing.T, r gqlResponse, name string) T {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	var v T
	if err := json.Unmarshal(r.Data[name], &v); err != nil {
		t.Fatalf("data.%s: %v (%s)", name, err, r.Data[name])
	}
	return v
}

// The schema must match its resolvers; MustParseSchema panics otherwise.
func TestSchemaParses(t *testing.T) {
	newSchema(&Handler{})
}

func TestGraphQLRequestErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, key, body string
		status          int
		code            string
	}{
		{"no key", "", `{"query":"{ models { id } }"}`, 401, "UNAUTHENTICATED"},
		{"bad key", "sk-nope", `{"query":"{ models { id } }"}`, 401, "UNAUTHENTICATED"},
		{"not JSON", keyA, `{"query":`, 400, "INVALID"},
		{"no query", keyA, `{"variables":{}}`, 400, "INVALID"},
		{"batch", keyA, `[{"query":"{ models { id } }"}]`, 400, "INVALID"},
		{"variables type", keyA, `{"query":"{ models { id } }","variables":[1]}`, 400, "INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decode[gqlResponse](t, e.send("POST", "/graphql", tt.key, tt.body), tt.status)
			if len(got.Errors) != 1 || got.Errors[0].Message == "" || got.Errors[0].Extensions["code"] != tt.code {
				t.Errorf("errors = %+v; want one with code %s", got.Errors, tt.code)
			}
		})
	}
	t.Run("invalid document", func(t *testing.T) {
		got := e.gql(t, keyA, `{ models { nope } }`, nil, http.StatusOK)
		if len(got.Errors) == 0 || got.Data != nil {
			t.Errorf("answer = %+v; want validation errors and no data", got)
		}
	})
}

// GraphQL reads and writes the same data as REST: each pair of calls below
// must agree field by field.
func TestGraphQLMatchesREST(t *testing.T) {
	e := newEnv(t)

	// createConversation, then REST reads it.
	created := field[struct {
		ID, Model, SystemMessage string
		Metadata                 map[string]any
		MessageCount             int
		CreatedAt                string
	}](t, e.gql(t, keyA, `mutation($meta: JSON) {
		createConversation(model: "gpt-5-mini", systemMessage: "You are a helpful coding assistant.", metadata: $meta) {
			id model systemMessage metadata messageCount createdAt } }`,
		map[string]any{"meta": map[string]any{"project": "my-app", "purpose": "code-review"}}, http.StatusOK), "createConversation")
	rest := decode[map[string]any](t, e.send("GET", "/api/v1/conversations/"+created.ID, keyA, ""), http.StatusOK)
	if rest["model"] != created.Model || rest["system_message"] != created.SystemMessage || rest["created_at"] != created.CreatedAt ||
		!cmp.Equal(rest["metadata"], created.Metadata) {
		t.Errorf("REST %v; GraphQL %+v", rest, created)
	}

	// sendMessage, then REST reads the stored turn.
	sent := field[struct {
		ConversationID, Content string
		Usage                   gUsage
		Message, UserMessage    struct{ ID, Role, Content string }
		ContextWindow           int
	}](t, e.gql(t, keyA, `mutation($id: ID!) { sendMessage(conversationId: $id, content: "Review this Python function") {
		conversationId content usage { promptTokens completionTokens totalTokens }
		message { id role content } userMessage { id role content } contextWindow } }`,
		map[string]any{"id": created.ID}, http.StatusOK), "sendMessage")
	if sent.Content != "echo: Review this Python function" || sent.ConversationID != created.ID || sent.Usage.TotalTokens == 0 {
		t.Errorf("sendMessage = %+v", sent)
	}
	call, req := e.gw.last(t)
	wantRoles(t, req, "system", "user")
	if call.Project != "my-app" {
		t.Errorf("project label = %q; want the metadata's", call.Project)
	}

	// conversation(id) with messages equals GET /api/v1/conversations/{id}.
	type msg struct {
		ID, Role, Content, CreatedAt string
		Model                        *string
		Usage                        *gUsage
	}
	gconv := field[struct {
		ID           string
		MessageCount int
		UpdatedAt    string
		Messages     []msg
	}](t, e.gql(t, keyA, `query($id: ID!) { conversation(id: $id) { id messageCount updatedAt
		messages { id role content createdAt model usage { promptTokens completionTokens totalTokens } } } }`,
		map[string]any{"id": created.ID}, http.StatusOK), "conversation")
	var restConv struct {
		MessageCount int    `json:"message_count"`
		UpdatedAt    string `json:"updated_at"`
		Messages     []messageView
	}
	restConv = decode[struct {
		MessageCount int    `json:"message_count"`
		UpdatedAt    string `json:"updated_at"`
		Messages     []messageView
	}](t, e.send("GET", "/api/v1/conversations/"+created.ID, keyA, ""), http.StatusOK)
	if gconv.MessageCount != restConv.MessageCount || gconv.UpdatedAt != restConv.UpdatedAt || len(gconv.Messages) != len(restConv.Messages) {
		t.Fatalf("GraphQL %+v; REST %+v", gconv, restConv)
	}
	for i, gm := range gconv.Messages {
		rm := restConv.Messages[i]
		want := msg{ID: rm.ID, Role: rm.Role, Content: rm.Content, CreatedAt: rm.CreatedAt}
		if u := rm.Usage; u != nil {
			want.Usage = &gUsage{u.PromptTokens, u.CompletionTokens, u.TotalTokens}
		}
		if rm.Model != "" {
			want.Model = &rm.Model
		}
		if diff := cmp.Diff(want, gm); diff != "" {
			t.Errorf("message %d (-REST +GraphQL):\n%s", i, diff)
		}
	}
	if gconv.Messages[1].ID != sent.Message.ID || gconv.Messages[0].ID != sent.UserMessage.ID {
		t.Errorf("stored ids %s, %s; sendMessage said %s, %s", gconv.Messages[0].ID, gconv.Messages[1].ID, sent.UserMessage.ID, sent.Message.ID)
	}

	// conversations equals GET /api/v1/conversations, page by page.
	decode[map[string]any](t, e.send("POST", "/api/v1/conversations", keyA, `{"model":"m2"}`), http.StatusCreated)
	decode[map[string]any](t, e.send("POST", "/api/v1/conversations", keyA, `{"model":"m3"}`), http.StatusCreated)
	restPage := decode[conversationList](t, e.send("GET", "/api/v1/conversations?limit=2", keyA, ""), http.StatusOK)
	gpage := field[struct {
		Data       []struct{ ID, Model string }
		HasMore    bool
		NextCursor *string
	}](t, e.gql(t, keyA, `{ conversations(limit: 2) { data { id model } hasMore nextCursor } }`, nil, http.StatusOK), "conversations")
	if len(gpage.Data) != 2 || gpage.Data[0].ID != restPage.Data[0].ID || gpage.Data[1].ID != restPage.Data[1].ID ||
		gpage.HasMore != restPage.HasMore || *gpage.NextCursor != *restPage.NextCursor {
		t.Errorf("GraphQL page %+v; REST page %+v", gpage, restPage)
	}
	next := field[struct{ Data []struct{ ID string } }](t, e.gql(t, keyA,
		`query($c: String) { conversations(limit: 2, cursor: $c) { data { id } } }`, map[string]any{"c": *gpage.NextCursor}, http.StatusOK), "conversations")
	if len(next.Data) != 1 || next.Data[0].ID != created.ID {
		t.Errorf("second page = %+v; want the first conversation", next)
	}

	// chat equals POST /api/v1/chat/completions.
	gchat := field[struct {
		Model, Content, FinishReason string
		Usage                        gUsage
	}](t, e.gql(t, keyA, `mutation { chat(model: "gpt-5-mini", messages: [{role: "user", content: "Hello!"}], temperature: 0.5, maxTokens: 20) {
		model content finishReason usage { promptTokens completionTokens totalTokens } } }`, nil, http.StatusOK), "chat")
	_, req = e.gw.last(t)
	if *req.Temperature != 0.5 || *req.MaxTokens != 20 {
		t.Errorf("chat parameters reached the gateway as %v, %v", *req.Temperature, *req.MaxTokens)
	}
	rchat := decode[struct {
		Model, Content string
		Usage          usageView
		Choices        []struct {
			FinishReason string `json:"finish_reason"`
		}
	}](t, e.send("POST", "/api/v1/chat/completions", keyA, `{"model":"gpt-5-mini","messages":[{"role":"user","content":"Hello!"}]}`), http.StatusOK)
	if gchat.Model != rchat.Model || gchat.Content != rchat.Content || *gchat.Usage.rest() != rchat.Usage || gchat.FinishReason != rchat.Choices[0].FinishReason {
		t.Errorf("GraphQL chat %+v; REST chat %+v", gchat, rchat)
	}

	// models equals GET /api/v1/models.
	gmodels := field[[]struct {
		ID                          string
		OwnedBy                     string
		InputPerMTok, OutputPerMTok *float64
		Rpm                         *int
		ContextWindow               int
	}](t, e.gql(t, keyA, `{ models { id ownedBy inputPerMTok outputPerMTok rpm contextWindow } }`, nil, http.StatusOK), "models")
	rmodels := decode[struct{ Data []modelView }](t, e.send("GET", "/api/v1/models", keyA, ""), http.StatusOK)
	if len(gmodels) != len(rmodels.Data) {
		t.Fatalf("GraphQL %d models; REST %d", len(gmodels), len(rmodels.Data))
	}
	for i, g := range gmodels {
		r := rmodels.Data[i]
		rpm := 0
		if g.Rpm != nil {
			rpm = *g.Rpm
		}
		if g.ID != r.ID || g.OwnedBy != r.OwnedBy || !cmp.Equal(g.InputPerMTok, r.InputPerMTok) || !cmp.Equal(g.OutputPerMTok, r.OutputPerMTok) ||
			rpm != r.RPM || g.ContextWindow != r.ContextWindow {
			t.Errorf("model %d: GraphQL %+v; REST %+v", i, g, r)
		}
	}

	// usage equals GET /api/v1/usage.
	type total struct {
		Group                                                       *string
		Requests, Errors, ErrorRate, PromptTokens, CompletionTokens float64
		TotalTokens, CostUsd, AvgLatencyMs                          float64
	}
	gusage := field[struct {
		From    *string
		GroupBy *string
		Total   total
		Data    []total
	}](t, e.gql(t, keyA, `{ usage(from: "2026-01-01", groupBy: "model") { from groupBy
		total { group requests errors errorRate promptTokens completionTokens totalTokens costUsd avgLatencyMs }
		data { group requests errors errorRate promptTokens completionTokens totalTokens costUsd avgLatencyMs } } }`, nil, http.StatusOK), "usage")
	rusage := decode[usageReport](t, e.send("GET", "/api/v1/usage?from=2026-01-01&group_by=model", keyA, ""), http.StatusOK)
	conv := func(u usageTotal) total {
		t := total{Requests: float64(u.Requests), Errors: float64(u.Errors), ErrorRate: u.ErrorRate, PromptTokens: float64(u.PromptTokens),
			CompletionTokens: float64(u.CompletionTokens), TotalTokens: float64(u.TotalTokens), CostUsd: u.CostUSD, AvgLatencyMs: u.AvgLatencyMS}
		if u.Group != "" {
			t.Group = &u.Group
		}
		return t
	}
	want := struct {
		From    *string
		GroupBy *string
		Total   total
		Data    []total
	}{From: rusage.From, GroupBy: rusage.GroupBy, Total: conv(rusage.Total)}
	for _, d := range rusage.Data {
		want.Data = append(want.Data, conv(d))
	}
	if diff := cmp.Diff(want, gusage); diff != "" {
		t.Errorf("usage (-REST +GraphQL):\n%s", diff)
	}

	// deleteConversation, then REST finds nothing.
	del := field[bool](t, e.gql(t, keyA, `mutation($id: ID!) { deleteConversation(id: $id) }`, map[string]any{"id": created.ID}, http.StatusOK), "deleteConversation")
	if !del {
		t.Error("deleteConversation = false")
	}
	decode[apiError](t, e.send("GET", "/api/v1/conversations/"+created.ID, keyA, ""), http.StatusNotFound)
}

// Resolver errors come back with status 200, null data where they struck,
// and the kind in extensions.
func TestGraphQLResolverErrors(t *testing.T) {
	e := newEnv(t)
	conv := decode[map[string]any](t, e.send("POST", "/api/v1/conversations", keyA, `{"model":"gpt-5-mini"}`), http.StatusCreated)
	id := conv["id"].(string)
	tests := []struct {
		name, key, query string
		vars             map[string]any
		field, code      string
		param            string
	}{
		{"other team's conversation", keyB, `query($id: ID!) { conversation(id: $id) { id } }`, map[string]any{"id": id}, "conversation", "NOT_FOUND", ""},
		{"other team's send", keyB, `mutation($id: ID!) { sendMessage(conversationId: $id, content: "x") { content } }`, map[string]any{"id": id}, "sendMessage", "NOT_FOUND", ""},
		{"other team's delete", keyB, `mutation($id: ID!) { deleteConversation(id: $id) }`, map[string]any{"id": id}, "deleteConversation", "NOT_FOUND", ""},
		{"unknown model", keyA, `mutation { createConversation(model: "unknown") { id } }`, nil, "createConversation", "NOT_FOUND", "model"},
		{"empty model", keyA, `mutation { createConversation(model: "") { id } }`, nil, "createConversation", "INVALID", "model"},
		{"metadata not an object", keyA, `mutation { createConversation(model: "m", metadata: [1]) { id } }`, nil, "createConversation", "INVALID", "metadata"},
		{"role", keyA, `mutation($id: ID!) { sendMessage(conversationId: $id, role: "system", content: "x") { content } }`, map[string]any{"id": id}, "sendMessage", "INVALID", "message.role"},
		{"empty content", keyA, `mutation($id: ID!) { sendMessage(conversationId: $id, content: "") { content } }`, map[string]any{"id": id}, "sendMessage", "INVALID", "message.content"},
		{"temperature", keyA, `mutation($id: ID!) { sendMessage(conversationId: $id, content: "x", temperature: 9) { content } }`, map[string]any{"id": id}, "sendMessage", "INVALID", "temperature"},
		{"chat role", keyA, `mutation { chat(model: "m", messages: [{role: "robot", content: "x"}]) { content } }`, nil, "chat", "INVALID", "messages[0].role"},
		{"chat no messages", keyA, `mutation { chat(model: "m", messages: []) { content } }`, nil, "chat", "INVALID", "messages"},
		{"limit", keyA, `{ conversations(limit: 0) { hasMore } }`, nil, "conversations", "INVALID", "limit"},
		{"cursor", keyA, `{ conversations(cursor: "zz") { hasMore } }`, nil, "conversations", "INVALID", "cursor"},
		{"groupBy", keyA, `{ usage(groupBy: "week") { total { requests } } }`, nil, "usage", "INVALID", "group_by"},
		{"from", keyA, `{ usage(from: "soon") { total { requests } } }`, nil, "usage", "INVALID", "from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.gql(t, tt.key, tt.query, tt.vars, http.StatusOK)
			if len(got.Errors) != 1 {
				t.Fatalf("errors = %+v; want one", got.Errors)
			}
			x := got.Errors[0].Extensions
			if x["code"] != tt.code || (tt.param != "" && x["param"] != tt.param) {
				t.Errorf("extensions = %v; want code %s, param %q (message %q)", x, tt.code, tt.param, got.Errors[0].Message)
			}
			if len(got.Errors[0].Path) == 0 || got.Errors[0].Path[0] != tt.field {
				t.Errorf("path = %v; want it to start at %s", got.Errors[0].Path, tt.field)
			}
		})
	}

	t.Run("rate limited", func(t *testing.T) {
		e.gw.err = &llmservice.Error{Kind: llmservice.RateLimited, Code: "rate_limit_exceeded", Message: "Rate limit reached"}
		defer func() { e.gw.err = nil }()
		got := e.gql(t, keyA, `mutation { chat(model: "m", messages: [{role: "user", content: "x"}]) { content } }`, nil, http.StatusOK)
		if len(got.Errors) != 1 || got.Errors[0].Extensions["code"] != "RATE_LIMITED" || got.Errors[0].Extensions["status"] != 429.0 ||
			got.Errors[0].Extensions["error_code"] != "rate_limit_exceeded" {
			t.Errorf("errors = %+v; want RATE_LIMITED with status 429", got.Errors)
		}
	})
	t.Run("internal errors are hidden", func(t *testing.T) {
		e.gw.err = &testError{"secret upstream detail"}
		defer func() { e.gw.err = nil }()
		got := e.gql(t, keyA, `mutation { chat(model: "m", messages: [{role: "user", content: "x"}]) { content } }`, nil, http.StatusOK)
		if len(got.Errors) != 1 || got.Errors[0].Message != "internal error" || strings.Contains(string(mustMarshal(got)), "secret") {
			t.Errorf("errors = %+v; want a bare internal error", got.Errors)
		}
	})
}

type testError struct{ s string }

func (e *testError) Error() string { return e.s }

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestPlayground(t *testing.T) {
	e := newEnv(t)
	w := e.send("GET", "/graphql", "", "")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %q", w.Code, w.Header().Get("Content-Type"))
	}
	body := w.Body.String()
	for _, want := range []string{"<textarea", "fetch(", "Authorization", "Bearer "} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Nothing may be fetched from elsewhere: the gateway may be offline.
	for _, bad := range []string{"src=\"http", "href=\"http", "cdn", "@import"} {
		if strings.Contains(strings.ToLower(body), bad) {
			t.Errorf("the page loads %q from elsewhere", bad)
		}
	}
}
