package ollama_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/ollama"
	"github.com/llmservice/llmservice/internal/provider/providertest"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

// mustClient starts a fake Ollama and returns an adapter pointed at it.
func mustClient(tb testing.TB) (*ollama.Client, *providertest.Fake) {
	tb.Helper()
	f := providertest.NewOllamaWithKey(tb, providertest.OllamaKey)
	return ollama.New(ollama.Config{BaseURL: f.URL + "/", APIKey: providertest.OllamaKey}, upstream.NewClient(5*time.Second)), f
}

func chatRequest(text string) *llm.ChatRequest {
	return &llm.ChatRequest{Model: "llama3.2", Messages: []llm.Message{
		llm.TextMessage(llm.RoleSystem, "be brief"),
		llm.TextMessage(llm.RoleUser, text),
	}}
}

var weatherTool = llm.Tool{Name: "get_weather", Parameters: []byte(`{"type":"object","properties":{"query":{"type":"string"}}}`)}

func TestChat(t *testing.T) {
	c, f := mustClient(t)
	got, err := c.Chat(context.Background(), chatRequest("hello there"))
	if err != nil {
		t.Fatalf("Chat() error: %v", err)
	}
	want := &llm.ChatResponse{
		Model: "llama3.2", Created: 1735787045,
		Choices:  []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "echo: hello there"), FinishReason: llm.FinishStop}},
		Usage:    llm.Usage{PromptTokens: 4, CompletionTokens: 3},
		HasUsage: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Chat() mismatch (-want +got):\n%s", diff)
	}
	rec := f.Last(t)
	if rec.Path != "/api/chat" || rec.Header.Get("Authorization") != "Bearer "+providertest.OllamaKey {
		t.Errorf("request went to %s with Authorization %q", rec.Path, rec.Header.Get("Authorization"))
	}
	if s, ok := rec.JSON(t)["stream"].(bool); !ok || s {
		t.Errorf("request stream = %v; want an explicit false", rec.JSON(t)["stream"])
	}
}

func TestChatStream(t *testing.T) {
	c, f := mustClient(t)
	s, err := c.ChatStream(context.Background(), chatRequest("one two three"))
	if err != nil {
		t.Fatalf("ChatStream() error: %v", err)
	}
	defer s.Close()
	got := drain(t, s)
	want := []llm.Chunk{
		{Model: "llama3.2", Role: "assistant", Text: "echo:"},
		{Model: "llama3.2", Text: " one"},
		{Model: "llama3.2", Text: " two"},
		{Model: "llama3.2", Text: " three"},
		{Model: "llama3.2", FinishReason: llm.FinishStop, Usage: &llm.Usage{PromptTokens: 5, CompletionTokens: 4}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stream mismatch (-want +got):\n%s", diff)
	}
	if s, ok := f.Last(t).JSON(t)["stream"].(bool); !ok || !s {
		t.Errorf("request stream = %v; want an explicit true", f.Last(t).JSON(t)["stream"])
	}
}

// drain reads s to io.EOF.
func drain(t *testing.T, s llm.Stream) []llm.Chunk {
	t.Helper()
	var got []llm.Chunk
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatalf("Recv() error after %d chunks: %v", len(got), err)
		}
		got = append(got, c)
	}
}

func TestToolCallRoundTrip(t *testing.T) {
	c, f := mustClient(t)
	req := chatRequest("weather in Paris")
	req.Tools = []llm.Tool{weatherTool}

	resp, err := c.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("Chat() error: %v", err)
	}
	ch := resp.Choices[0]
	wantCalls := []llm.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"query":"weather in Paris"}`}}
	if diff := cmp.Diff(wantCalls, ch.Message.ToolCalls); diff != "" || ch.FinishReason != llm.FinishToolCalls {
		t.Fatalf("tool calls mismatch (-want +got):\n%s\nfinish reason %q", diff, ch.FinishReason)
	}

	// Send the result back; the fake rejects arguments that are not a JSON object.
	req.Messages = append(req.Messages, ch.Message, llm.Message{
		Role: llm.RoleTool, ToolCallID: "call_1", Content: []llm.Part{{Type: llm.PartText, Text: "sunny, 21C"}},
	})
	resp, err = c.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("second Chat() error: %v", err)
	}
	if got := resp.Choices[0].Message.Text(); got != "tool result: sunny, 21C" {
		t.Errorf("answer = %q; want the tool result echoed", got)
	}
	msgs := f.Last(t).JSON(t)["messages"].([]any)
	toolMsg := msgs[len(msgs)-1].(map[string]any)
	if toolMsg["role"] != "tool" || toolMsg["tool_name"] != "get_weather" {
		t.Errorf("tool message sent as %v; want role tool and tool_name get_weather", toolMsg)
	}
}

func TestToolCallStream(t *testing.T) {
	c, _ := mustClient(t)
	req := chatRequest("weather in Paris")
	req.Tools = []llm.Tool{weatherTool}
	s, err := c.ChatStream(context.Background(), req)
	if err != nil {
		t.Fatalf("ChatStream() error: %v", err)
	}
	defer s.Close()
	want := []llm.Chunk{
		{Model: "llama3.2", Role: "assistant", ToolCalls: []llm.ToolCallDelta{{ID: "call_1", Name: "get_weather"}}},
		{Model: "llama3.2", ToolCalls: []llm.ToolCallDelta{{Arguments: `{"query":"weather in Paris"}`}}},
		{Model: "llama3.2", FinishReason: llm.FinishToolCalls, Usage: &llm.Usage{PromptTokens: 5, CompletionTokens: 3}},
	}
	if diff := cmp.Diff(want, drain(t, s)); diff != "" {
		t.Errorf("stream mismatch (-want +got):\n%s", diff)
	}
}

func TestEmbed(t *testing.T) {
	c, f := mustClient(t)
	got, err := c.Embed(context.Background(), &llm.EmbedRequest{Model: "embeddinggemma", Input: []string{"hello world", "a b c"}, EncodingFormat: "float"})
	if err != nil {
		t.Fatalf("Embed() error: %v", err)
	}
	want := &llm.EmbedResponse{
		Model:    "embeddinggemma",
		Vectors:  [][]float32{{11, 2, 1}, {5, 3, 1}},
		Usage:    llm.Usage{PromptTokens: 5},
		HasUsage: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Embed() mismatch (-want +got):\n%s", diff)
	}
	if rec := f.Last(t); rec.Path != "/api/embed" {
		t.Errorf("request went to %s; want /api/embed", rec.Path)
	}

	got, err = c.Embed(context.Background(), &llm.EmbedRequest{Model: "embeddinggemma", Input: []string{"hello"}, Dimensions: new(2)})
	if err != nil {
		t.Fatalf("Embed(dimensions) error: %v", err)
	}
	if diff := cmp.Diff([][]float32{{5, 1}}, got.Vectors); diff != "" {
		t.Errorf("Embed(dimensions) mismatch (-want +got):\n%s", diff)
	}
}

func TestEmbedCountMismatch(t *testing.T) {
	f := providertest.New(t, func(w http.ResponseWriter, r *http.Request, body []byte, fail *providertest.Failure) {
		_, _ = io.WriteString(w, `{"model":"e","embeddings":[[1,2]]}`)
	})
	c := ollama.New(ollama.Config{BaseURL: f.URL}, nil)
	_, err := c.Embed(context.Background(), &llm.EmbedRequest{Model: "e", Input: []string{"a", "b"}})
	if llmservice.ErrorKind(err) != llmservice.Upstream {
		t.Errorf("Embed() error = %v; want Upstream", err)
	}
}

func TestHealth(t *testing.T) {
	c, f := mustClient(t)
	if err := c.Health(context.Background()); err != nil {
		t.Fatalf("Health() error: %v", err)
	}
	if rec := f.Last(t); rec.Method != http.MethodGet || rec.Path != "/api/tags" {
		t.Errorf("Health() sent %s %s; want GET /api/tags", rec.Method, rec.Path)
	}
	f.FailNext(providertest.Failure{Status: http.StatusInternalServerError, Body: `{"error":"boom"}`})
	if err := c.Health(context.Background()); llmservice.ErrorKind(err) != llmservice.Upstream {
		t.Errorf("Health() on 500 = %v; want Upstream", err)
	}
}

func TestNoKeySendsNoHeader(t *testing.T) {
	f := providertest.NewOllamaWithKey(t, providertest.OllamaKey)
	c := ollama.New(ollama.Config{BaseURL: f.URL}, nil)
	_, err := c.Chat(context.Background(), chatRequest("hi"))
	var e *llmservice.Error
	if !errors.As(err, &e) || e.Kind != llmservice.Upstream || e.Status != http.StatusUnauthorized || e.Code != "upstream_auth_failed" {
		t.Fatalf("Chat() without key = %#v; want Upstream 401 upstream_auth_failed", err)
	}
	if h := f.Last(t).Header.Get("Authorization"); h != "" {
		t.Errorf("Authorization = %q; want none", h)
	}

	// A local Ollama needs no key at all.
	c = ollama.New(ollama.Config{BaseURL: providertest.NewOllama(t).URL}, nil)
	if _, err := c.Chat(context.Background(), chatRequest("hi")); err != nil {
		t.Errorf("Chat() against a keyless Ollama: %v", err)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		fail       providertest.Failure
		model      string
		wantKind   llmservice.Kind
		wantStatus int
		wantMsg    string
		wantRetry  time.Duration
	}{
		{
			name:     "400 keeps the upstream message",
			fail:     providertest.Failure{Status: 400, Body: `{"error":"invalid format: \"xml\""}`},
			wantKind: llmservice.Invalid, wantStatus: 400, wantMsg: `invalid format: "xml"`,
		},
		{
			name:     "401 is the gateway's problem",
			fail:     providertest.Failure{Status: 401, Body: `{"error":"unauthorized"}`},
			wantKind: llmservice.Upstream, wantStatus: 401, wantMsg: "upstream error: unauthorized",
		},
		{
			name:     "404 from the fake for a model not pulled",
			model:    providertest.OllamaMissingModel,
			wantKind: llmservice.NotFound, wantStatus: 404, wantMsg: `model "missing-model" not found, try pulling it first`,
		},
		{
			name:     "429 with Retry-After",
			fail:     providertest.Failure{Status: 429, Body: `{"error":"too many requests"}`, Header: http.Header{"Retry-After": {"7"}}},
			wantKind: llmservice.RateLimited, wantStatus: 429, wantMsg: "upstream error: too many requests", wantRetry: 7 * time.Second,
		},
		{
			name:     "500",
			fail:     providertest.Failure{Status: 500, Body: `{"error":"llama runner process has terminated: exit status 2"}`},
			wantKind: llmservice.Upstream, wantStatus: 500, wantMsg: "upstream error: llama runner process has terminated: exit status 2",
		},
		{
			name:     "connection closed before an answer",
			fail:     providertest.Failure{},
			wantKind: llmservice.Upstream, wantMsg: "upstream connection failed",
		},
	}
	for _, tc := range tests {
		for _, stream := range []bool{false, true} {
			name := tc.name
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				c, f := mustClient(t)
				if tc.wantStatus != 404 {
					f.FailNext(tc.fail)
				}
				req := chatRequest("hi")
				if tc.model != "" {
					req.Model = tc.model
				}
				var err error
				if stream {
					_, err = c.ChatStream(context.Background(), req)
				} else {
					_, err = c.Chat(context.Background(), req)
				}
				var e *llmservice.Error
				if !errors.As(err, &e) {
					t.Fatalf("error = %v; want an *llmservice.Error", err)
				}
				if e.Kind != tc.wantKind || e.Status != tc.wantStatus || e.Message != tc.wantMsg || e.RetryAfter != tc.wantRetry {
					t.Errorf("error = {Kind:%v Status:%d Message:%q RetryAfter:%v}; want {%v %d %q %v}",
						e.Kind, e.Status, e.Message, e.RetryAfter, tc.wantKind, tc.wantStatus, tc.wantMsg, tc.wantRetry)
				}
				if strings.Contains(err.Error(), providertest.OllamaKey) {
					t.Errorf("error %q contains the API key", err)
				}
			})
		}
	}
}

func TestStreamMidStreamFailures(t *testing.T) {
	tests := []struct {
		name     string
		fail     providertest.Failure
		wantText string
		wantCode string
	}{
		{
			name:     "error line",
			fail:     providertest.Failure{AfterChunks: 2, Body: `{"error":"an error was encountered while running the model"}`},
			wantText: "echo: a",
			wantCode: "upstream_stream_error",
		},
		{
			name:     "connection broken",
			fail:     providertest.Failure{AfterChunks: 3},
			wantText: "echo: a b",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, f := mustClient(t)
			f.FailNext(tc.fail)
			s, err := c.ChatStream(context.Background(), chatRequest("a b c d"))
			if err != nil {
				t.Fatalf("ChatStream() error: %v", err)
			}
			defer s.Close()
			var text strings.Builder
			for {
				ch, err := s.Recv()
				if err == nil {
					text.WriteString(ch.Text)
					continue
				}
				var e *llmservice.Error
				if !errors.As(err, &e) || e.Kind != llmservice.Upstream || e.Code != tc.wantCode {
					t.Fatalf("Recv() error = %#v; want Upstream with code %q", err, tc.wantCode)
				}
				break
			}
			if text.String() != tc.wantText {
				t.Errorf("text before the failure = %q; want %q", text.String(), tc.wantText)
			}
		})
	}
}

// An error line in place of the first chunk must come back from ChatStream,
// where the gateway can still fall back.
func TestStreamErrorBeforeFirstChunk(t *testing.T) {
	f := providertest.New(t, func(w http.ResponseWriter, r *http.Request, body []byte, fail *providertest.Failure) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = io.WriteString(w, `{"error":"model requires more system memory than is available"}`+"\n")
	})
	c := ollama.New(ollama.Config{BaseURL: f.URL}, nil)
	_, err := c.ChatStream(context.Background(), chatRequest("hi"))
	var e *llmservice.Error
	if !errors.As(err, &e) || e.Kind != llmservice.Upstream || !strings.Contains(e.Message, "system memory") {
		t.Fatalf("ChatStream() error = %v; want the upstream error", err)
	}
}

func TestUnsupportedNeverReachesUpstream(t *testing.T) {
	c, f := mustClient(t)
	req := chatRequest("hi")
	req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceRequired}
	_, err := c.Chat(context.Background(), req)
	var e *llmservice.Error
	if !errors.As(err, &e) || e.Kind != llmservice.Invalid || e.Param != "tool_choice" {
		t.Fatalf("Chat() error = %v; want Invalid tool_choice", err)
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("upstream got %d requests; want 0", n)
	}
}

func TestDefaultBaseURL(t *testing.T) {
	var got string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.URL.String()
		return nil, errors.New("no network in tests")
	})}
	_ = ollama.New(ollama.Config{}, hc).Health(context.Background())
	if got != "http://localhost:11434/api/tags" {
		t.Errorf("Health() called %q; want http://localhost:11434/api/tags", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
