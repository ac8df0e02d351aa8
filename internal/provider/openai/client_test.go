package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/openai"
	"github.com/llmservice/llmservice/internal/provider/providertest"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

const testKey = "sk-test-secret-key"

func newClient(t *testing.T) (*openai.Client, *providertest.Fake) {
	t.Helper()
	f := providertest.NewOpenAI(t)
	c := openai.New(openai.Config{BaseURL: f.URL + "/v1/", APIKey: testKey, Headers: map[string]string{"OpenAI-Organization": "org-1"}},
		upstream.NewClient(5*time.Second))
	return c, f
}

func ptr[T any](v T) *T { return &v }

var lookup = []llm.Tool{{Name: "lookup", Description: "Look it up", Parameters: json.RawMessage(`{"type":"object","properties":{"query":{"type":"string"}}}`)}}

func chatReq(msgs ...llm.Message) *llm.ChatRequest {
	return &llm.ChatRequest{Model: "gpt-4o-mini", Messages: msgs}
}

// drain reads a stream to its end, returning every chunk and the error that
// ended it (nil for io.EOF).
func drain(t *testing.T, s llm.Stream) ([]llm.Chunk, error) {
	t.Helper()
	defer s.Close()
	var out []llm.Chunk
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
}

// assembled is what a client builds from chunks.
type assembled struct {
	Text      string
	ToolCalls []llm.ToolCall
	Finish    string
	Usage     *llm.Usage
}

func assemble(cs []llm.Chunk) assembled {
	var a assembled
	for _, c := range cs {
		a.Text += c.Text
		for _, d := range c.ToolCalls {
			for len(a.ToolCalls) <= d.Index {
				a.ToolCalls = append(a.ToolCalls, llm.ToolCall{})
			}
			tc := &a.ToolCalls[d.Index]
			if d.ID != "" {
				tc.ID, tc.Name = d.ID, d.Name
			}
			tc.Arguments += d.Arguments
		}
		if c.FinishReason != "" {
			a.Finish = c.FinishReason
		}
		if c.Usage != nil {
			a.Usage = c.Usage
		}
	}
	return a
}

func TestChat(t *testing.T) {
	c, f := newClient(t)
	req := chatReq(llm.TextMessage(llm.RoleSystem, "Be brief."), llm.TextMessage(llm.RoleUser, "hello there"))
	req.Temperature = ptr(0.2)
	req.IncludeUsage = true
	got, err := c.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("Chat() error = %v", err)
	}
	want := &llm.ChatResponse{ID: "chatcmpl-fake", Model: "gpt-4o-mini", Created: 1700000000,
		Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "echo: hello there"), FinishReason: llm.FinishStop}},
		Usage:   llm.Usage{PromptTokens: 4, CompletionTokens: 3}, HasUsage: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Chat() mismatch (-want +got):\n%s", diff)
	}

	r := f.Last(t)
	if r.Method != http.MethodPost || r.Path != "/v1/chat/completions" {
		t.Errorf("request line = %s %s; want POST /v1/chat/completions", r.Method, r.Path)
	}
	for k, v := range map[string]string{"Authorization": "Bearer " + testKey, "Openai-Organization": "org-1", "Content-Type": "application/json"} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s = %q; want %q", k, got, v)
		}
	}
	body := r.JSON(t)
	wantBody := map[string]any{"model": "gpt-4o-mini", "temperature": 0.2, "messages": []any{
		map[string]any{"role": "system", "content": "Be brief."},
		map[string]any{"role": "user", "content": "hello there"},
	}}
	if diff := cmp.Diff(wantBody, body); diff != "" {
		t.Errorf("upstream body mismatch (-want +got):\n%s", diff)
	}
}

func TestChatStream(t *testing.T) {
	for _, includeUsage := range []bool{false, true} {
		c, f := newClient(t)
		req := chatReq(llm.TextMessage(llm.RoleUser, "one two three"))
		req.IncludeUsage = includeUsage
		s, err := c.ChatStream(context.Background(), req)
		if err != nil {
			t.Fatalf("ChatStream() error = %v", err)
		}
		cs, err := drain(t, s)
		if err != nil {
			t.Fatalf("Recv() error = %v", err)
		}
		want := assembled{Text: "echo: one two three", Finish: llm.FinishStop, Usage: &llm.Usage{PromptTokens: 3, CompletionTokens: 4}}
		if diff := cmp.Diff(want, assemble(cs)); diff != "" {
			t.Errorf("stream (include usage %v) mismatch (-want +got):\n%s", includeUsage, diff)
		}
		if cs[0].Role != llm.RoleAssistant || cs[0].ID != "chatcmpl-fake" || cs[0].Model != "gpt-4o-mini" {
			t.Errorf("first chunk = %+v; want role, id and model", cs[0])
		}

		r := f.Last(t)
		if got := r.Header.Get("Accept"); got != "text/event-stream" {
			t.Errorf("Accept = %q; want text/event-stream", got)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+testKey {
			t.Errorf("Authorization = %q", got)
		}
		// The gateway bills from upstream usage, so it asks for it whether
		// or not the client did.
		body := r.JSON(t)
		if body["stream"] != true || !cmp.Equal(body["stream_options"], map[string]any{"include_usage": true}) {
			t.Errorf("stream, stream_options = %v, %v; want true, {include_usage: true}", body["stream"], body["stream_options"])
		}
	}
}

// The model calls a tool, the caller answers it, the model uses the answer:
// both halves must reach upstream in OpenAI's shape.
func TestToolRoundTrip(t *testing.T) {
	for _, stream := range []bool{false, true} {
		c, f := newClient(t)
		ask := func(req *llm.ChatRequest) assembled {
			t.Helper()
			if !stream {
				resp, err := c.Chat(context.Background(), req)
				if err != nil {
					t.Fatalf("Chat() error = %v", err)
				}
				ch := resp.Choices[0]
				return assembled{Text: ch.Message.Text(), ToolCalls: ch.Message.ToolCalls, Finish: ch.FinishReason, Usage: &resp.Usage}
			}
			s, err := c.ChatStream(context.Background(), req)
			if err != nil {
				t.Fatalf("ChatStream() error = %v", err)
			}
			cs, err := drain(t, s)
			if err != nil {
				t.Fatalf("Recv() error = %v", err)
			}
			return assemble(cs)
		}

		q := llm.TextMessage(llm.RoleUser, "weather in Paris")
		req := chatReq(q)
		req.Tools = lookup
		req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "lookup"}
		first := ask(req)
		wantCall := llm.ToolCall{ID: "call_1", Name: "lookup", Arguments: `{"query":"weather in Paris"}`}
		if diff := cmp.Diff([]llm.ToolCall{wantCall}, first.ToolCalls); diff != "" {
			t.Errorf("stream %v: tool calls mismatch (-want +got):\n%s", stream, diff)
		}
		if first.Finish != llm.FinishToolCalls || first.Text != "" {
			t.Errorf("stream %v: finish %q text %q; want tool_calls and no text", stream, first.Finish, first.Text)
		}
		body := f.Last(t).JSON(t)
		wantTools := []any{map[string]any{"type": "function", "function": map[string]any{
			"name": "lookup", "description": "Look it up", "parameters": map[string]any{"type": "object", "properties": map[string]any{"query": map[string]any{"type": "string"}}}}}}
		if diff := cmp.Diff(wantTools, body["tools"]); diff != "" {
			t.Errorf("stream %v: tools sent mismatch (-want +got):\n%s", stream, diff)
		}
		if diff := cmp.Diff(map[string]any{"type": "function", "function": map[string]any{"name": "lookup"}}, body["tool_choice"]); diff != "" {
			t.Errorf("stream %v: tool_choice sent mismatch (-want +got):\n%s", stream, diff)
		}

		req = chatReq(q,
			llm.Message{Role: llm.RoleAssistant, ToolCalls: first.ToolCalls},
			llm.Message{Role: llm.RoleTool, ToolCallID: "call_1", Content: []llm.Part{{Type: llm.PartText, Text: "sunny, 21C"}}})
		req.Tools = lookup
		second := ask(req)
		if second.Text != "tool result: sunny, 21C" || second.Finish != llm.FinishStop {
			t.Errorf("stream %v: answer = %q (%s); want the tool result", stream, second.Text, second.Finish)
		}
		msgs := f.Last(t).JSON(t)["messages"].([]any)
		wantMsgs := []any{
			map[string]any{"role": "user", "content": "weather in Paris"},
			map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
				"id": "call_1", "type": "function", "function": map[string]any{"name": "lookup", "arguments": `{"query":"weather in Paris"}`}}}},
			map[string]any{"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21C"},
		}
		if diff := cmp.Diff(wantMsgs, msgs); diff != "" {
			t.Errorf("stream %v: messages sent mismatch (-want +got):\n%s", stream, diff)
		}
	}
}

func TestEmbed(t *testing.T) {
	c, f := newClient(t)
	got, err := c.Embed(context.Background(), &llm.EmbedRequest{Model: "text-embedding-3-small", Input: []string{"a b", "xyz"}, Dimensions: ptr(3)})
	if err != nil {
		t.Fatalf("Embed() error = %v", err)
	}
	want := &llm.EmbedResponse{Model: "text-embedding-3-small", Vectors: [][]float32{{3, 2, 1}, {3, 1, 1}},
		Usage: llm.Usage{PromptTokens: 3}, HasUsage: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Embed() mismatch (-want +got):\n%s", diff)
	}
	r := f.Last(t)
	if r.Path != "/v1/embeddings" || r.Header.Get("Authorization") != "Bearer "+testKey {
		t.Errorf("request = %s with Authorization %q", r.Path, r.Header.Get("Authorization"))
	}
	if diff := cmp.Diff(map[string]any{"model": "text-embedding-3-small", "input": []any{"a b", "xyz"}, "dimensions": 3.0}, r.JSON(t)); diff != "" {
		t.Errorf("upstream body mismatch (-want +got):\n%s", diff)
	}
}

func TestEmbedOutOfRangeIndex(t *testing.T) {
	f := providertest.New(t, func(w http.ResponseWriter, r *http.Request, body []byte, fail *providertest.Failure) {
		_, _ = io.WriteString(w, `{"data":[{"index":5,"embedding":[1]}],"model":"e"}`)
	})
	c := openai.New(openai.Config{BaseURL: f.URL}, upstream.NewClient(5*time.Second))
	_, err := c.Embed(context.Background(), &llm.EmbedRequest{Model: "e", Input: []string{"a"}})
	if e := llmservice.AsError(err); e.Kind != llmservice.Upstream {
		t.Errorf("Embed() error = %v; want an Upstream error", err)
	}
}

func TestErrors(t *testing.T) {
	oaError := func(msg string) string {
		return `{"error":{"message":"` + msg + `","type":"invalid_request_error","param":null,"code":null}}`
	}
	tests := []struct {
		name      string
		fail      providertest.Failure
		want      llmservice.Error // compared on Kind, Status, Code, Message and RetryAfter
		retryable bool
	}{
		{"400", providertest.Failure{Status: 400, Body: oaError("Invalid 'messages[0].role'")},
			llmservice.Error{Kind: llmservice.Invalid, Status: 400, Code: "upstream_rejected_request", Message: "Invalid 'messages[0].role'"}, false},
		{"401", providertest.Failure{Status: 401, Body: oaError("Incorrect API key provided: sk-test-***-key.")},
			llmservice.Error{Kind: llmservice.Upstream, Status: 401, Code: "upstream_auth_failed", Message: "upstream error: Incorrect API key provided: sk-test-***-key."}, false},
		{"404", providertest.Failure{Status: 404, Body: oaError("The model `gpt-9` does not exist")},
			llmservice.Error{Kind: llmservice.NotFound, Status: 404, Code: "model_not_found", Message: "The model `gpt-9` does not exist"}, false},
		{"429", providertest.Failure{Status: 429, Body: oaError("Rate limit reached"), Header: http.Header{"Retry-After": {"7"}}},
			llmservice.Error{Kind: llmservice.RateLimited, Status: 429, Code: "upstream_rate_limited", Message: "upstream error: Rate limit reached", RetryAfter: 7 * time.Second}, true},
		{"429 ms", providertest.Failure{Status: 429, Body: oaError("Rate limit reached"), Header: http.Header{"Retry-After-Ms": {"1200"}}},
			llmservice.Error{Kind: llmservice.RateLimited, Status: 429, Code: "upstream_rate_limited", Message: "upstream error: Rate limit reached", RetryAfter: 1200 * time.Millisecond}, true},
		{"500", providertest.Failure{Status: 500, Body: oaError("The server had an error while processing your request.")},
			llmservice.Error{Kind: llmservice.Upstream, Status: 500, Message: "upstream error: The server had an error while processing your request."}, true},
		{"503 html", providertest.Failure{Status: 503, Body: "<html>busy</html>"},
			llmservice.Error{Kind: llmservice.Upstream, Status: 503, Message: "upstream error: <html>busy</html>"}, true},
		{"connection closed", providertest.Failure{},
			llmservice.Error{Kind: llmservice.Upstream, Code: "upstream_unreachable", Message: "upstream connection failed"}, true},
	}
	calls := map[string]func(c *openai.Client) error{
		"chat": func(c *openai.Client) error {
			_, err := c.Chat(context.Background(), chatReq(llm.TextMessage(llm.RoleUser, "hi")))
			return err
		},
		// A failure before the first chunk comes back from ChatStream itself,
		// so the gateway can still retry or fall back.
		"stream": func(c *openai.Client) error {
			s, err := c.ChatStream(context.Background(), chatReq(llm.TextMessage(llm.RoleUser, "hi")))
			if err == nil {
				s.Close()
			}
			return err
		},
		"embed": func(c *openai.Client) error {
			_, err := c.Embed(context.Background(), &llm.EmbedRequest{Model: "e", Input: []string{"hi"}})
			return err
		},
	}
	for _, tt := range tests {
		for name, call := range calls {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				c, f := newClient(t)
				f.FailNext(tt.fail)
				err := call(c)
				var e *llmservice.Error
				if !errors.As(err, &e) {
					t.Fatalf("error = %v (%T); want *llmservice.Error", err, err)
				}
				got := llmservice.Error{Kind: e.Kind, Status: e.Status, Code: e.Code, Message: e.Message, RetryAfter: e.RetryAfter}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("error mismatch (-want +got):\n%s", diff)
				}
				if got := upstream.Retryable(err); got != tt.retryable {
					t.Errorf("Retryable = %v; want %v", got, tt.retryable)
				}
				if strings.Contains(err.Error(), testKey) {
					t.Errorf("error %q contains the API key", err)
				}
			})
		}
	}
}

// Without a key the fake answers 401 as OpenAI does; that is the gateway's
// misconfiguration, not the caller's fault.
func TestMissingKey(t *testing.T) {
	f := providertest.NewOpenAI(t)
	c := openai.New(openai.Config{BaseURL: f.URL + "/v1"}, upstream.NewClient(5*time.Second))
	_, err := c.Chat(context.Background(), chatReq(llm.TextMessage(llm.RoleUser, "hi")))
	if e := llmservice.AsError(err); e.Kind != llmservice.Upstream || e.Code != "upstream_auth_failed" {
		t.Errorf("Chat() error = %+v; want Upstream upstream_auth_failed", e)
	}
	if got := f.Last(t).Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q; want none without a key", got)
	}
}

func TestMidStreamFailure(t *testing.T) {
	c, f := newClient(t)
	f.FailNext(providertest.Failure{AfterChunks: 2})
	s, err := c.ChatStream(context.Background(), chatReq(llm.TextMessage(llm.RoleUser, "a b c d e")))
	if err != nil {
		t.Fatalf("ChatStream() error = %v", err)
	}
	cs, err := drain(t, s)
	if len(cs) != 2 {
		t.Errorf("got %d chunks before the failure; want 2", len(cs))
	}
	if e := llmservice.AsError(err); err == nil || e.Kind != llmservice.Upstream {
		t.Errorf("Recv() error = %v; want an Upstream error, not a clean end", err)
	}
}

// Some OpenAI-compatible servers end the stream without "data: [DONE]".
func TestStreamWithoutDone(t *testing.T) {
	f := providertest.New(t, func(w http.ResponseWriter, r *http.Request, body []byte, fail *providertest.Failure) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, `data: {"id":"x","model":"local","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"},"finish_reason":null}]}`+"\n\n")
		_, _ = io.WriteString(w, `data: {"id":"x","model":"local","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`+"\n\n")
	})
	c := openai.New(openai.Config{BaseURL: f.URL}, upstream.NewClient(5*time.Second))
	s, err := c.ChatStream(context.Background(), chatReq(llm.TextMessage(llm.RoleUser, "hi")))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := drain(t, s)
	if err != nil {
		t.Fatalf("Recv() error = %v; want a clean end", err)
	}
	want := assembled{Text: "hi", Finish: llm.FinishStop, Usage: &llm.Usage{PromptTokens: 1, CompletionTokens: 1}}
	if diff := cmp.Diff(want, assemble(cs)); diff != "" {
		t.Errorf("stream mismatch (-want +got):\n%s", diff)
	}
}

func TestCancelledContext(t *testing.T) {
	c, _ := newClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Chat(ctx, chatReq(llm.TextMessage(llm.RoleUser, "hi")))
	if e := llmservice.AsError(err); e.Code != "cancelled" || upstream.Retryable(err) {
		t.Errorf("Chat(cancelled) error = %+v; want a non-retryable cancelled error", e)
	}
}

func TestHealth(t *testing.T) {
	c, f := newClient(t)
	if err := c.Health(context.Background()); err != nil {
		t.Fatalf("Health() error = %v", err)
	}
	if r := f.Last(t); r.Method != http.MethodGet || r.Path != "/v1/models" {
		t.Errorf("Health sent %s %s; want GET /v1/models", r.Method, r.Path)
	}
	f.FailNext(providertest.Failure{Status: 503})
	if err := c.Health(context.Background()); err == nil {
		t.Error("Health() = nil for a 503")
	}
}

func TestDefaultBaseURL(t *testing.T) {
	// Requests must go to api.openai.com when no base URL is set; a
	// transport that records the URL keeps the test offline.
	var got string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.URL.String()
		return nil, errors.New("offline")
	})}
	c := openai.New(openai.Config{APIKey: "k"}, hc)
	_, _ = c.Chat(context.Background(), chatReq(llm.TextMessage(llm.RoleUser, "hi")))
	if want := openai.DefaultBaseURL + "/chat/completions"; got != want {
		t.Errorf("URL = %q; want %q", got, want)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
