package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/anthropic"
	"github.com/llmservice/llmservice/internal/provider/providertest"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

const testKey = "sk-ant-test-secret"

func newClient(t *testing.T) (*anthropic.Client, *providertest.Fake) {
	t.Helper()
	f := providertest.NewAnthropic(t)
	return anthropic.New(anthropic.Config{BaseURL: f.URL, APIKey: testKey}, upstream.NewClient(5*time.Second)), f
}

func ptr[T any](v T) *T { return &v }

func msgs(ms ...llm.Message) []llm.Message { return ms }

var lookup = []llm.Tool{{Name: "lookup", Description: "Look it up", Parameters: json.RawMessage(`{"type":"object","properties":{"query":{"type":"string"}}}`)}}

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

// assembled is what a client builds from chunks: text, tool calls, finish
// reason, usage.
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
	resp, err := c.Chat(context.Background(), &llm.ChatRequest{
		Model:    "claude-haiku-4-5",
		Messages: msgs(llm.TextMessage(llm.RoleSystem, "Be brief."), llm.TextMessage(llm.RoleUser, "hello there")),
	})
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	want := &llm.ChatResponse{
		ID: "msg_fake", Model: "claude-haiku-4-5",
		Choices:  []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "echo: hello there"), FinishReason: llm.FinishStop}},
		Usage:    llm.Usage{PromptTokens: 4, CompletionTokens: 3},
		HasUsage: true,
	}
	resp.Created = 0
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("Chat mismatch (-want +got):\n%s", diff)
	}

	r := f.Last(t)
	if r.Method != http.MethodPost || r.Path != "/v1/messages" {
		t.Errorf("request = %s %s; want POST /v1/messages", r.Method, r.Path)
	}
	for h, want := range map[string]string{"x-api-key": testKey, "anthropic-version": "2023-06-01", "Content-Type": "application/json"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q; want %q", h, got, want)
		}
	}
	body := r.JSON(t)
	if body["max_tokens"] != 4096.0 || body["stream"] != nil {
		t.Errorf("body max_tokens = %v, stream = %v; want 4096 and absent", body["max_tokens"], body["stream"])
	}
}

func TestChatStream(t *testing.T) {
	c, f := newClient(t)
	s, err := c.ChatStream(context.Background(), &llm.ChatRequest{Model: "claude-haiku-4-5", Messages: msgs(llm.TextMessage(llm.RoleUser, "hello there"))})
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	cs, err := drain(t, s)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	want := assembled{Text: "echo: hello there", Finish: llm.FinishStop, Usage: &llm.Usage{PromptTokens: 2, CompletionTokens: 3}}
	if diff := cmp.Diff(want, assemble(cs)); diff != "" {
		t.Errorf("stream mismatch (-want +got):\n%s", diff)
	}
	if cs[0].Role != llm.RoleAssistant || cs[0].ID != "msg_fake" {
		t.Errorf("first chunk = %+v; want role assistant, id msg_fake", cs[0])
	}
	if last := cs[len(cs)-1]; last.Usage == nil {
		t.Errorf("last chunk %+v carries no usage", last)
	}
	if got := f.Last(t).JSON(t)["stream"]; got != true {
		t.Errorf("body stream = %v; want true", got)
	}
}

func TestMaxTokensIsLength(t *testing.T) {
	c, _ := newClient(t)
	req := &llm.ChatRequest{Model: "m", MaxTokens: ptr(2), Messages: msgs(llm.TextMessage(llm.RoleUser, "one two three"))}
	resp, err := c.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if got := resp.Choices[0]; got.FinishReason != llm.FinishLength || got.Message.Text() != "echo: one" {
		t.Errorf("Chat = %q, %q; want %q, length", got.Message.Text(), got.FinishReason, "echo: one")
	}
	s, err := c.ChatStream(context.Background(), req)
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	cs, err := drain(t, s)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if a := assemble(cs); a.Finish != llm.FinishLength || a.Text != "echo: one" {
		t.Errorf("stream = %q, %q; want %q, length", a.Text, a.Finish, "echo: one")
	}
}

// TestToolRoundTrip calls a tool, sends its result back, and gets the
// answer, through Chat and through ChatStream.
func TestToolRoundTrip(t *testing.T) {
	c, f := newClient(t)
	ctx := context.Background()
	wantCall := llm.ToolCall{ID: "call_1", Name: "lookup", Arguments: `{"query":"weather in Paris"}`}
	for _, streaming := range []bool{false, true} {
		call := func(req *llm.ChatRequest) assembled {
			t.Helper()
			if !streaming {
				resp, err := c.Chat(ctx, req)
				if err != nil {
					t.Fatalf("Chat: %v", err)
				}
				ch := resp.Choices[0]
				return assembled{Text: ch.Message.Text(), ToolCalls: ch.Message.ToolCalls, Finish: ch.FinishReason, Usage: &resp.Usage}
			}
			s, err := c.ChatStream(ctx, req)
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			cs, err := drain(t, s)
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			return assemble(cs)
		}
		history := msgs(llm.TextMessage(llm.RoleUser, "weather in Paris"))
		req := &llm.ChatRequest{Model: "m", Tools: lookup, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceRequired}, Messages: history}
		got := call(req)
		if got.Finish != llm.FinishToolCalls || len(got.ToolCalls) != 1 || got.ToolCalls[0] != wantCall {
			t.Fatalf("stream=%v: first answer = %+v; want one call %+v, tool_calls", streaming, got, wantCall)
		}
		if tc := f.Last(t).JSON(t)["tool_choice"]; !cmp.Equal(tc, map[string]any{"type": "any"}) {
			t.Errorf("stream=%v: tool_choice = %v; want {type: any}", streaming, tc)
		}

		req.ToolChoice = nil
		req.Messages = append(history,
			llm.Message{Role: llm.RoleAssistant, ToolCalls: got.ToolCalls},
			llm.TextMessage(llm.RoleTool, "18 degrees"),
		)
		req.Messages[2].ToolCallID = got.ToolCalls[0].ID
		got = call(req)
		if got.Text != "tool result: 18 degrees" || got.Finish != llm.FinishStop {
			t.Errorf("stream=%v: second answer = %q, %q; want %q, stop", streaming, got.Text, got.Finish, "tool result: 18 degrees")
		}
		sent := f.Last(t).JSON(t)["messages"].([]any)
		want := []any{
			map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "weather in Paris"}}},
			map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "tool_use", "id": "call_1", "name": "lookup", "input": map[string]any{"query": "weather in Paris"}}}},
			map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": "call_1", "content": []any{map[string]any{"type": "text", "text": "18 degrees"}}}}},
		}
		if diff := cmp.Diff(want, sent); diff != "" {
			t.Errorf("stream=%v: second request messages (-want +got):\n%s", streaming, diff)
		}
	}
}

func anthropicErrorBody(typ, msg string) string {
	return `{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`
}

// TestErrors maps upstream failures, before any chunk, for Chat and
// ChatStream alike.
func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		fail      providertest.Failure
		want      llmservice.Error // Kind, Status, Code, Message, RetryAfter
		retryable bool
	}{{
		name: "401 is the gateway's problem",
		fail: providertest.Failure{Status: 401, Body: anthropicErrorBody("authentication_error", "invalid x-api-key")},
		want: llmservice.Error{Kind: llmservice.Upstream, Status: 401, Code: "upstream_auth_failed", Message: "upstream error: invalid x-api-key"},
	}, {
		name: "400 keeps the upstream message",
		fail: providertest.Failure{Status: 400, Body: anthropicErrorBody("invalid_request_error", "messages: text content blocks must be non-empty")},
		want: llmservice.Error{Kind: llmservice.Invalid, Status: 400, Code: "upstream_rejected_request", Message: "messages: text content blocks must be non-empty"},
	}, {
		name:      "429 with Retry-After",
		fail:      providertest.Failure{Status: 429, Header: http.Header{"Retry-After": {"7"}}, Body: anthropicErrorBody("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit")},
		want:      llmservice.Error{Kind: llmservice.RateLimited, Status: 429, Code: "upstream_rate_limited", RetryAfter: 7 * time.Second, Message: "upstream error: Number of request tokens has exceeded your per-minute rate limit"},
		retryable: true,
	}, {
		name:      "500",
		fail:      providertest.Failure{Status: 500, Body: anthropicErrorBody("api_error", "Internal server error")},
		want:      llmservice.Error{Kind: llmservice.Upstream, Status: 500, Message: "upstream error: Internal server error"},
		retryable: true,
	}, {
		name:      "529 overloaded",
		fail:      providertest.Failure{Status: 529, Body: anthropicErrorBody("overloaded_error", "Overloaded")},
		want:      llmservice.Error{Kind: llmservice.Upstream, Status: 529, Message: "upstream error: Overloaded"},
		retryable: true,
	}}
	for _, tt := range tests {
		for _, streaming := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, streaming), func(t *testing.T) {
				c, f := newClient(t)
				f.FailNext(tt.fail)
				req := &llm.ChatRequest{Model: "m", Messages: msgs(llm.TextMessage(llm.RoleUser, "hi"))}
				var err error
				if streaming {
					_, err = c.ChatStream(context.Background(), req)
				} else {
					_, err = c.Chat(context.Background(), req)
				}
				checkError(t, err, tt.want)
				if got := upstream.Retryable(err); got != tt.retryable {
					t.Errorf("Retryable = %v; want %v", got, tt.retryable)
				}
			})
		}
	}
}

func checkError(t *testing.T, err error, want llmservice.Error) {
	t.Helper()
	var e *llmservice.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T); want *llmservice.Error", err, err)
	}
	got := llmservice.Error{Kind: e.Kind, Status: e.Status, Code: e.Code, Message: e.Message, RetryAfter: e.RetryAfter}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("error %q reveals the API key", err)
	}
}

func TestBaseURLWithV1(t *testing.T) {
	f := providertest.NewAnthropic(t)
	c := anthropic.New(anthropic.Config{BaseURL: f.URL + "/v1/", APIKey: testKey, Version: "2099-01-01"}, upstream.NewClient(5*time.Second))
	if _, err := c.Chat(context.Background(), &llm.ChatRequest{Model: "m", Messages: msgs(llm.TextMessage(llm.RoleUser, "hi"))}); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	r := f.Last(t)
	if r.Path != "/v1/messages" || r.Header.Get("anthropic-version") != "2099-01-01" {
		t.Errorf("request path %q, anthropic-version %q; want /v1/messages, 2099-01-01", r.Path, r.Header.Get("anthropic-version"))
	}
}

func TestMissingKeyIsRejectedByUpstream(t *testing.T) {
	f := providertest.NewAnthropic(t)
	c := anthropic.New(anthropic.Config{BaseURL: f.URL}, upstream.NewClient(5*time.Second))
	_, err := c.Chat(context.Background(), &llm.ChatRequest{Model: "m", Messages: msgs(llm.TextMessage(llm.RoleUser, "hi"))})
	checkError(t, err, llmservice.Error{Kind: llmservice.Upstream, Status: 401, Code: "upstream_auth_failed", Message: "upstream error: x-api-key header is required"})
}

func TestUnsupportedNeverReachesUpstream(t *testing.T) {
	c, f := newClient(t)
	_, err := c.Chat(context.Background(), &llm.ChatRequest{Model: "m", N: ptr(3), Messages: msgs(llm.TextMessage(llm.RoleUser, "hi"))})
	var e *llmservice.Error
	if !errors.As(err, &e) || e.Kind != llmservice.Invalid || e.Param != "n" {
		t.Fatalf("Chat(n=3) error = %v; want invalid, param n", err)
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("upstream received %d requests; want 0", n)
	}
}

// TestStreamBrokenMidway: the connection drops after two deltas; the chunks
// already sent arrive, then an upstream error.
func TestStreamBrokenMidway(t *testing.T) {
	c, f := newClient(t)
	f.FailNext(providertest.Failure{AfterChunks: 2})
	s, err := c.ChatStream(context.Background(), &llm.ChatRequest{Model: "m", Messages: msgs(llm.TextMessage(llm.RoleUser, "one two three four"))})
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	cs, err := drain(t, s)
	if got := assemble(cs).Text; got != "echo: one" {
		t.Errorf("text before the break = %q; want %q", got, "echo: one")
	}
	if llmservice.ErrorKind(err) != llmservice.Upstream {
		t.Errorf("error = %v; want an upstream error", err)
	}
}

// TestStreamErrorFirst: an error event before anything else is returned by
// ChatStream, classified like the HTTP error, so the gateway may retry.
func TestStreamErrorFirst(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n")
	}))
	defer srv.Close()
	c := anthropic.New(anthropic.Config{BaseURL: srv.URL, APIKey: testKey}, srv.Client())
	_, err := c.ChatStream(context.Background(), &llm.ChatRequest{Model: "m", Messages: msgs(llm.TextMessage(llm.RoleUser, "hi"))})
	checkError(t, err, llmservice.Error{Kind: llmservice.Upstream, Status: 529, Message: "upstream error: Overloaded"})
	if !upstream.Retryable(err) {
		t.Errorf("Retryable(%v) = false; want true", err)
	}
}

func TestStreamCancelled(t *testing.T) {
	// The server sends message_start, then waits until the client leaves.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	c := anthropic.New(anthropic.Config{BaseURL: srv.URL, APIKey: testKey}, srv.Client())
	s, err := c.ChatStream(ctx, &llm.ChatRequest{Model: "m", Messages: msgs(llm.TextMessage(llm.RoleUser, "hi"))})
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatalf("first Recv: %v", err)
	}
	cancel()
	_, err = s.Recv()
	var e *llmservice.Error
	if !errors.As(err, &e) || e.Code != "cancelled" {
		t.Errorf("Recv after cancel = %v; want a cancelled error", err)
	}
	_ = s.Close()
}
