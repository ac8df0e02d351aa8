package mock_test

import (
	"context"
	"errors"
	"io"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/mock"
)

func ptr[T any](v T) *T { return &v }

var lookup = []llm.Tool{{Name: "lookup"}, {Name: "other"}}

func user(text string) llm.Message { return llm.TextMessage(llm.RoleUser, text) }

// drain reads s to its end.
func drain(t *testing.T, s llm.Stream) []llm.Chunk {
	t.Helper()
	defer s.Close()
	var out []llm.Chunk
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Recv() error = %v", err)
		}
		out = append(out, c)
	}
}

func TestChat(t *testing.T) {
	tests := []struct {
		name   string
		req    llm.ChatRequest
		want   llm.Message
		finish string
		usage  llm.Usage
	}{{
		name:   "echo",
		req:    llm.ChatRequest{Messages: []llm.Message{llm.TextMessage(llm.RoleSystem, "be kind"), user("hello there")}},
		want:   llm.TextMessage(llm.RoleAssistant, "mock reply: hello there"),
		finish: llm.FinishStop,
		usage:  llm.Usage{PromptTokens: 4, CompletionTokens: 4},
	}, {
		name:   "max_tokens truncates",
		req:    llm.ChatRequest{Messages: []llm.Message{user("one two three four")}, MaxTokens: ptr(3)},
		want:   llm.TextMessage(llm.RoleAssistant, "mock reply: one"),
		finish: llm.FinishLength,
		usage:  llm.Usage{PromptTokens: 4, CompletionTokens: 3},
	}, {
		name:   "max_tokens not reached",
		req:    llm.ChatRequest{Messages: []llm.Message{user("one")}, MaxTokens: ptr(3)},
		want:   llm.TextMessage(llm.RoleAssistant, "mock reply: one"),
		finish: llm.FinishStop,
		usage:  llm.Usage{PromptTokens: 1, CompletionTokens: 3},
	}, {
		name:   "max_tokens zero",
		req:    llm.ChatRequest{Messages: []llm.Message{user("one")}, MaxTokens: ptr(0)},
		want:   llm.TextMessage(llm.RoleAssistant, ""),
		finish: llm.FinishLength,
		usage:  llm.Usage{PromptTokens: 1},
	}, {
		// Other dialects may not validate max_tokens; a negative one must
		// not crash the server.
		name:   "max_tokens negative",
		req:    llm.ChatRequest{Messages: []llm.Message{user("one")}, MaxTokens: ptr(-5)},
		want:   llm.TextMessage(llm.RoleAssistant, ""),
		finish: llm.FinishLength,
		usage:  llm.Usage{PromptTokens: 1},
	}, {
		name: "tool call",
		req:  llm.ChatRequest{Messages: []llm.Message{user("find cats")}, Tools: lookup},
		want: llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_mock_1", Name: "lookup", Arguments: `{"input":"find cats"}`}}},
		// The arguments are one "word".
		finish: llm.FinishToolCalls,
		usage:  llm.Usage{PromptTokens: 2, CompletionTokens: 2},
	}, {
		name: "named tool choice",
		req: llm.ChatRequest{Messages: []llm.Message{user("x")}, Tools: lookup,
			ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: "other"}},
		want:   llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_mock_1", Name: "other", Arguments: `{"input":"x"}`}}},
		finish: llm.FinishToolCalls,
		usage:  llm.Usage{PromptTokens: 1, CompletionTokens: 1},
	}, {
		name:   "tool choice none",
		req:    llm.ChatRequest{Messages: []llm.Message{user("x")}, Tools: lookup, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceNone}},
		want:   llm.TextMessage(llm.RoleAssistant, "mock reply: x"),
		finish: llm.FinishStop,
		usage:  llm.Usage{PromptTokens: 1, CompletionTokens: 3},
	}, {
		name: "tool result",
		req: llm.ChatRequest{Tools: lookup, Messages: []llm.Message{
			user("find cats"),
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_mock_1", Name: "lookup", Arguments: "{}"}}},
			{Role: llm.RoleTool, ToolCallID: "call_mock_1", Content: []llm.Part{{Type: llm.PartText, Text: "3 cats"}}},
		}},
		want:   llm.TextMessage(llm.RoleAssistant, "mock reply: the tool said 3 cats"),
		finish: llm.FinishStop,
		usage:  llm.Usage{PromptTokens: 4, CompletionTokens: 7},
	}, {
		name:   "no messages",
		req:    llm.ChatRequest{},
		want:   llm.TextMessage(llm.RoleAssistant, "mock reply: "),
		finish: llm.FinishStop,
		usage:  llm.Usage{CompletionTokens: 2},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Model = "any-model"
			got, err := mock.Client{}.Chat(context.Background(), &tt.req)
			if err != nil {
				t.Fatalf("Chat() error = %v", err)
			}
			want := &llm.ChatResponse{ID: "mock", Model: "any-model", Choices: []llm.Choice{{Message: tt.want, FinishReason: tt.finish}}, Usage: tt.usage, HasUsage: true}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(llm.ChatResponse{}, "Created")); diff != "" {
				t.Errorf("Chat() mismatch (-want +got):\n%s", diff)
			}
			if got.Created == 0 {
				t.Error("Created is zero")
			}
		})
	}
}

// The stream says exactly what Chat says, piece by piece.
func TestStreamMatchesChat(t *testing.T) {
	reqs := map[string]llm.ChatRequest{
		"text":      {Messages: []llm.Message{user("the quick brown fox")}},
		"truncated": {Messages: []llm.Message{user("the quick brown fox")}, MaxTokens: ptr(4)},
		"tool call": {Messages: []llm.Message{user("find cats")}, Tools: lookup},
	}
	for name, req := range reqs {
		t.Run(name, func(t *testing.T) {
			req.Model = "m"
			chat, err := mock.Client{}.Chat(context.Background(), &req)
			if err != nil {
				t.Fatal(err)
			}
			s, err := mock.Client{}.ChatStream(context.Background(), &req)
			if err != nil {
				t.Fatal(err)
			}
			chunks := drain(t, s)
			var text string
			var calls []llm.ToolCall
			for i, c := range chunks {
				if c.Model != "m" {
					t.Errorf("chunk %d model = %q; want m", i, c.Model)
				}
				if (i == 0) != (c.Role == llm.RoleAssistant) {
					t.Errorf("chunk %d role = %q; only the first says assistant", i, c.Role)
				}
				if last := i == len(chunks)-1; last != (c.FinishReason != "") || last != (c.Usage != nil) {
					t.Errorf("chunk %d = %+v; only the last one finishes and carries usage", i, c)
				}
				text += c.Text
				for _, d := range c.ToolCalls {
					if d.ID != "" {
						calls = append(calls, llm.ToolCall{ID: d.ID, Name: d.Name})
					}
					calls[len(calls)-1].Arguments += d.Arguments
				}
			}
			want := chat.Choices[0]
			if text != want.Message.Text() {
				t.Errorf("streamed text = %q; want %q", text, want.Message.Text())
			}
			if diff := cmp.Diff(want.Message.ToolCalls, calls); diff != "" {
				t.Errorf("streamed tool calls mismatch (-want +got):\n%s", diff)
			}
			final := chunks[len(chunks)-1]
			if final.FinishReason != want.FinishReason || *final.Usage != chat.Usage {
				t.Errorf("final chunk = %q %+v; want %q %+v", final.FinishReason, *final.Usage, want.FinishReason, chat.Usage)
			}
		})
	}
}

func TestStreamWords(t *testing.T) {
	s, err := mock.Client{}.ChatStream(context.Background(), &llm.ChatRequest{Model: "m", Messages: []llm.Message{user("a b")}})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, c := range drain(t, s) {
		texts = append(texts, c.Text)
	}
	if diff := cmp.Diff([]string{"", "mock", " reply:", " a", " b", ""}, texts); diff != "" {
		t.Errorf("pieces mismatch (-want +got):\n%s", diff)
	}
}

func TestStreamStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := mock.Client{}.ChatStream(ctx, &llm.ChatRequest{Messages: []llm.Message{user("a b c")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := s.Recv(); !errors.Is(err, context.Canceled) {
		t.Errorf("Recv() after cancel = %v; want context.Canceled", err)
	}
}

func TestEmbed(t *testing.T) {
	embed := func(dims *int, in ...string) *llm.EmbedResponse {
		t.Helper()
		res, err := mock.Client{}.Embed(context.Background(), &llm.EmbedRequest{Model: "e", Input: in, Dimensions: dims})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a := embed(nil, "hello world", "other text here", "")
	if a.Model != "e" || !a.HasUsage || a.Usage.PromptTokens != 5 || len(a.Vectors) != 3 {
		t.Fatalf("Embed() = model %q, usage %+v (%v), %d vectors; want e, 5 tokens, 3 vectors", a.Model, a.Usage, a.HasUsage, len(a.Vectors))
	}
	for i, v := range a.Vectors {
		if len(v) != 8 {
			t.Errorf("vector %d has %d dimensions; want 8", i, len(v))
		}
		var sum float64
		for _, x := range v {
			sum += float64(x) * float64(x)
		}
		if math.Abs(math.Sqrt(sum)-1) > 1e-5 {
			t.Errorf("vector %d has length %v; want 1", i, math.Sqrt(sum))
		}
	}
	if diff := cmp.Diff(a.Vectors[0], embed(nil, "hello world").Vectors[0]); diff != "" {
		t.Errorf("same text, different vector (-first +second):\n%s", diff)
	}
	if cmp.Equal(a.Vectors[0], a.Vectors[1]) {
		t.Error("different texts gave the same vector")
	}
	for _, tt := range []struct {
		dims *int
		want int
	}{{ptr(3), 3}, {ptr(4096), 4096}, {ptr(0), 8}, {ptr(-1), 8}, {ptr(4097), 8}} {
		if got := len(embed(tt.dims, "x").Vectors[0]); got != tt.want {
			t.Errorf("Embed(dimensions %d) gave %d dimensions; want %d", *tt.dims, got, tt.want)
		}
	}
}
