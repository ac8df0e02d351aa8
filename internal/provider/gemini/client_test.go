package gemini_test

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
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/gemini"
	"github.com/llmservice/llmservice/internal/provider/providertest"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

const testKey = "AIzaTestKey-do-not-leak"

// mustClient starts a fake Gemini API and a client pointed at it.
func mustClient(tb testing.TB) (*gemini.Client, *providertest.Fake) {
	tb.Helper()
	f := providertest.NewGemini(tb)
	return gemini.New(gemini.Config{BaseURL: f.URL, APIKey: testKey}, upstream.NewClient(5*time.Second)), f
}

func chatReq(msgs ...llm.Message) *llm.ChatRequest {
	return &llm.ChatRequest{Model: "gemini-2.5-flash", Messages: msgs}
}

var weatherTool = llm.Tool{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"query":{"type":"string"}},"additionalProperties":false}`)}

func TestChat(t *testing.T) {
	c, f := mustClient(t)
	got, err := c.Chat(context.Background(), chatReq(
		llm.TextMessage(llm.RoleSystem, "Be brief."),
		llm.TextMessage(llm.RoleUser, "hello there"),
	))
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	want := &llm.ChatResponse{
		ID: "fake-response-1", Model: "gemini-2.5-flash",
		Choices: []llm.Choice{{Message: llm.Message{Role: llm.RoleAssistant,
			Content: []llm.Part{{Type: llm.PartText, Text: "echo: hello there"}}}, FinishReason: llm.FinishStop}},
		Usage:    llm.Usage{PromptTokens: 4, CompletionTokens: 3},
		HasUsage: true,
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(llm.ChatResponse{}, "Created")); diff != "" {
		t.Errorf("Chat mismatch (-want +got):\n%s", diff)
	}
	if got.Created == 0 {
		t.Error("Chat: Created is 0")
	}
	r := f.Last(t)
	if r.Path != "/v1beta/models/gemini-2.5-flash:generateContent" || r.RawQuery != "" {
		t.Errorf("request went to %s?%s", r.Path, r.RawQuery)
	}
	if r.Header.Get("x-goog-api-key") != testKey {
		t.Errorf("x-goog-api-key = %q; want the configured key", r.Header.Get("x-goog-api-key"))
	}
	if strings.Contains(r.RawQuery, testKey) || strings.Contains(r.Path, testKey) {
		t.Error("the API key appears in the URL")
	}
}

func TestChatStream(t *testing.T) {
	c, f := mustClient(t)
	s, err := c.ChatStream(context.Background(), chatReq(llm.TextMessage(llm.RoleUser, "one two three")))
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	defer s.Close()
	var text strings.Builder
	var last llm.Chunk
	n := 0
	for {
		ch, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		text.WriteString(ch.Text)
		last = ch
		n++
	}
	if got := text.String(); got != "echo: one two three" {
		t.Errorf("streamed text = %q; want %q", got, "echo: one two three")
	}
	if n < 4 {
		t.Errorf("got %d chunks; want one per word and a finish", n)
	}
	if last.FinishReason != llm.FinishStop || last.Usage == nil || *last.Usage != (llm.Usage{PromptTokens: 3, CompletionTokens: 4}) {
		t.Errorf("last chunk = %+v (usage %+v); want finish stop with usage 3/4", last, last.Usage)
	}
	if r := f.Last(t); r.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" || r.RawQuery != "alt=sse" {
		t.Errorf("request went to %s?%s", r.Path, r.RawQuery)
	}
}

// TestToolRoundTrip asks for a call, answers it, and gets the final text,
// in both chat and stream form.
func TestToolRoundTrip(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "chat", true: "stream"}[stream], func(t *testing.T) {
			c, f := mustClient(t)
			req := chatReq(llm.TextMessage(llm.RoleUser, "weather in Paris"))
			req.Tools = []llm.Tool{weatherTool}
			msg, finish := complete(t, c, req, stream)
			if finish != llm.FinishToolCalls || len(msg.ToolCalls) != 1 {
				t.Fatalf("first turn = %+v, finish %q; want one tool call", msg, finish)
			}
			call := msg.ToolCalls[0]
			if call.ID != "call_1" || call.Name != "get_weather" || call.Arguments != `{"query":"weather in Paris"}` {
				t.Errorf("tool call = %+v", call)
			}
			body := f.Last(t).JSON(t)
			decl := body["tools"].([]any)[0].(map[string]any)["functionDeclarations"].([]any)[0].(map[string]any)
			if _, ok := decl["parametersJsonSchema"]; !ok {
				t.Errorf("declaration %v has no parametersJsonSchema", decl)
			}

			req.Messages = append(req.Messages, msg, llm.Message{Role: llm.RoleTool, ToolCallID: call.ID,
				Content: []llm.Part{{Type: llm.PartText, Text: "sunny"}}})
			msg, finish = complete(t, c, req, stream)
			if finish != llm.FinishStop || msg.Text() != "tool result: sunny" {
				t.Errorf("second turn = %q, finish %q; want %q, stop", msg.Text(), finish, "tool result: sunny")
			}
			contents := f.Last(t).JSON(t)["contents"].([]any)
			fr := contents[2].(map[string]any)["parts"].([]any)[0].(map[string]any)["functionResponse"].(map[string]any)
			if fr["name"] != "get_weather" {
				t.Errorf("functionResponse = %v; want name get_weather", fr)
			}
		})
	}
}

// complete runs one turn and returns the assistant message and finish reason.
func complete(t *testing.T, c *gemini.Client, req *llm.ChatRequest, stream bool) (llm.Message, string) {
	t.Helper()
	if !stream {
		resp, err := c.Chat(context.Background(), req)
		if err != nil {
			t.Fatalf("Chat: %v", err)
		}
		return resp.Choices[0].Message, resp.Choices[0].FinishReason
	}
	s, err := c.ChatStream(context.Background(), req)
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	defer s.Close()
	msg := llm.Message{Role: llm.RoleAssistant}
	var text, finish string
	for {
		ch, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		text += ch.Text
		for _, d := range ch.ToolCalls {
			if d.Index == len(msg.ToolCalls) {
				msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{})
			}
			tc := &msg.ToolCalls[d.Index]
			tc.ID += d.ID
			tc.Name += d.Name
			tc.Arguments += d.Arguments
		}
		if ch.FinishReason != "" {
			finish = ch.FinishReason
		}
	}
	if text != "" {
		msg.Content = []llm.Part{{Type: llm.PartText, Text: text}}
	}
	return msg, finish
}

func TestEmbed(t *testing.T) {
	c, f := mustClient(t)
	got, err := c.Embed(context.Background(), &llm.EmbedRequest{Model: "gemini-embedding-001", Input: []string{"hello world", "a b c"}})
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	want := &llm.EmbedResponse{Model: "gemini-embedding-001", Vectors: [][]float32{{11, 2, 1}, {5, 3, 1}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Embed mismatch (-want +got):\n%s", diff)
	}
	if r := f.Last(t); r.Path != "/v1beta/models/gemini-embedding-001:batchEmbedContents" {
		t.Errorf("request went to %s", r.Path)
	}

	got, err = c.Embed(context.Background(), &llm.EmbedRequest{Model: "gemini-embedding-001", Input: []string{"x"}, Dimensions: new(2)})
	if err != nil {
		t.Fatalf("Embed with dimensions: %v", err)
	}
	if len(got.Vectors[0]) != 2 {
		t.Errorf("Embed with dimensions 2 = %v", got.Vectors[0])
	}
	if _, err := c.Embed(context.Background(), &llm.EmbedRequest{Model: "gemini-embedding-001"}); llmservice.ErrorKind(err) != llmservice.Invalid {
		t.Errorf("Embed without input = %v; want invalid", err)
	}
}

// TestErrors checks what each upstream failure becomes, for chat and for
// the start of a stream.
func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		fail       providertest.Failure
		kind       llmservice.Kind
		code       string
		retryAfter time.Duration
	}{
		{"401", providertest.Failure{Status: 401, Body: `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`},
			llmservice.Upstream, "upstream_auth_failed", 0},
		{"400 bad key", providertest.Failure{Status: 400, Body: `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`},
			llmservice.Upstream, "upstream_auth_failed", 0},
		{"400", providertest.Failure{Status: 400, Body: `{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT"}}`},
			llmservice.Invalid, "upstream_rejected_request", 0},
		{"429", providertest.Failure{Status: 429, Header: http.Header{"Retry-After": {"3"}}, Body: `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`},
			llmservice.RateLimited, "upstream_rate_limited", 3 * time.Second},
		{"500", providertest.Failure{Status: 500, Body: `{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}`},
			llmservice.Upstream, "", 0},
		{"connection closed", providertest.Failure{}, llmservice.Upstream, "upstream_unreachable", 0},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "/chat", true: "/stream"}[stream], func(t *testing.T) {
				c, f := mustClient(t)
				f.FailNext(tt.fail)
				var err error
				if stream {
					_, err = c.ChatStream(context.Background(), chatReq(llm.TextMessage(llm.RoleUser, "hi")))
				} else {
					_, err = c.Chat(context.Background(), chatReq(llm.TextMessage(llm.RoleUser, "hi")))
				}
				var e *llmservice.Error
				if !errors.As(err, &e) {
					t.Fatalf("error = %v; want *llmservice.Error", err)
				}
				if e.Kind != tt.kind || e.Code != tt.code || e.RetryAfter != tt.retryAfter {
					t.Errorf("error = kind %v code %q retry after %v; want %v %q %v (%v)", e.Kind, e.Code, e.RetryAfter, tt.kind, tt.code, tt.retryAfter, e)
				}
				if strings.Contains(e.Error(), testKey) {
					t.Errorf("error %q contains the API key", e.Error())
				}
			})
		}
	}
}

// TestMidStreamFailure covers a stream that breaks after some chunks, with
// and without an error event before the connection drops.
func TestMidStreamFailure(t *testing.T) {
	tests := []struct {
		name string
		fail providertest.Failure
		code string
	}{
		{"connection dropped", providertest.Failure{AfterChunks: 2}, ""},
		{"error event", providertest.Failure{AfterChunks: 1, Body: `{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`}, "upstream_stream_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := mustClient(t)
			f.FailNext(tt.fail)
			s, err := c.ChatStream(context.Background(), chatReq(llm.TextMessage(llm.RoleUser, "a b c d e f")))
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			defer s.Close()
			chunks := 0
			for {
				_, err = s.Recv()
				if err != nil {
					break
				}
				chunks++
			}
			if chunks != tt.fail.AfterChunks {
				t.Errorf("got %d chunks before the failure; want %d", chunks, tt.fail.AfterChunks)
			}
			var e *llmservice.Error
			if errors.Is(err, io.EOF) || !errors.As(err, &e) || e.Kind != llmservice.Upstream {
				t.Fatalf("Recv error = %v; want an upstream *llmservice.Error", err)
			}
			if tt.code != "" && e.Code != tt.code {
				t.Errorf("code = %q; want %q (%v)", e.Code, tt.code, e)
			}
		})
	}
}

func TestUnsupportedNeverReachesUpstream(t *testing.T) {
	c, f := mustClient(t)
	req := chatReq(llm.TextMessage(llm.RoleUser, "hi"))
	req.Extra = map[string]json.RawMessage{"logprobs": json.RawMessage(`true`)}
	_, err := c.Chat(context.Background(), req)
	var e *llmservice.Error
	if !errors.As(err, &e) || e.Kind != llmservice.Invalid || e.Param != "logprobs" {
		t.Fatalf("Chat with logprobs = %v; want invalid naming logprobs", err)
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("upstream received %d requests; want none", n)
	}
}

func TestCancel(t *testing.T) {
	c, _ := mustClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Chat(ctx, chatReq(llm.TextMessage(llm.RoleUser, "hi")))
	var e *llmservice.Error
	if !errors.As(err, &e) || e.Code != "cancelled" || upstream.Retryable(err) {
		t.Errorf("Chat with a cancelled context = %v; want a non-retryable cancelled error", err)
	}
}
