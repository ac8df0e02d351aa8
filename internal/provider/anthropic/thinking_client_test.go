package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/anthropic"
	"github.com/llmservice/llmservice/internal/provider/providertest"
)

var thinkingOn = map[string]json.RawMessage{"thinking": json.RawMessage(`{"type":"enabled","budget_tokens":1024}`)}

// TestThinkingToolTurnSignatures runs a thinking + tool-use conversation
// against the fake, which checks every signature it is sent: the thinking
// the adapter read (whole and streamed) goes back on the tool turn intact,
// and a signature changed by one byte is refused, as the API refuses it.
func TestThinkingToolTurnSignatures(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "chat", true: "stream"}[stream], func(t *testing.T) {
			c, f := newClient(t)
			ctx := context.Background()
			req := &llm.ChatRequest{Model: "claude-sonnet-4-5", Tools: lookup, Extra: thinkingOn,
				Messages: msgs(llm.TextMessage(llm.RoleUser, "weather [redact]"))}
			var answer llm.Message
			if stream {
				answer = rebuild(streamed(t, c, req))
			} else {
				resp, err := c.Chat(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				answer = resp.Choices[0].Message
			}
			if len(answer.Content) < 2 || answer.Content[0].Type != llm.PartThinking || answer.Content[0].Signature != providertest.ThinkingSignature(answer.Content[0].Text) ||
				answer.Content[1].Type != llm.PartRedactedThinking || answer.Content[1].Data != providertest.RedactedData || len(answer.ToolCalls) != 1 {
				t.Fatalf("answer = %+v; want signed thinking, redacted thinking and a tool call", answer)
			}
			next := func(a llm.Message) *llm.ChatRequest {
				return &llm.ChatRequest{Model: req.Model, Tools: lookup, Extra: thinkingOn, Messages: msgs(req.Messages[0], a,
					llm.Message{Role: llm.RoleTool, ToolCallID: a.ToolCalls[0].ID, Content: []llm.Part{{Type: llm.PartText, Text: "sunny"}}})}
			}
			if _, err := c.Chat(ctx, next(answer)); err != nil {
				t.Fatalf("tool turn with the thinking read back: %v", err)
			}
			sent := string(f.Last(t).Body)
			if !strings.Contains(sent, `"signature":"`+answer.Content[0].Signature+`"`) || !strings.Contains(sent, providertest.RedactedData) {
				t.Errorf("tool turn body lacks the signature or the redacted data:\n%s", sent)
			}
			tampered := answer
			tampered.Content = append([]llm.Part(nil), answer.Content...)
			tampered.Content[0].Text += "!"
			_, err := c.Chat(ctx, next(tampered))
			var e *llmservice.Error
			if !errors.As(err, &e) || e.Kind != llmservice.Invalid || !strings.Contains(e.Message, "signature") {
				t.Errorf("tool turn with altered thinking: err = %v; want the fake's invalid signature", err)
			}
		})
	}
}

// streamed runs req as a stream to its end.
func streamed(t *testing.T, c *anthropic.Client, req *llm.ChatRequest) []llm.Chunk {
	t.Helper()
	s, err := c.ChatStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := drain(t, s)
	if err != nil {
		t.Fatal(err)
	}
	return chunks
}

// rebuild assembles a streamed answer into a message the way a dialect
// keeps it for the next turn.
func rebuild(chunks []llm.Chunk) llm.Message {
	m := llm.Message{Role: llm.RoleAssistant}
	for _, c := range chunks {
		n := len(m.Content)
		switch {
		case c.Thinking != "" || c.Signature != "":
			if n == 0 || m.Content[n-1].Type != llm.PartThinking || m.Content[n-1].Signature != "" {
				m.Content = append(m.Content, llm.Part{Type: llm.PartThinking, Family: c.ThinkingFamily})
				n++
			}
			m.Content[n-1].Text += c.Thinking
			m.Content[n-1].Signature += c.Signature
		case c.RedactedThinking != "":
			m.Content = append(m.Content, llm.Part{Type: llm.PartRedactedThinking, Data: c.RedactedThinking, Family: c.ThinkingFamily})
		case c.Text != "":
			m.Content = append(m.Content, llm.Part{Type: llm.PartText, Text: c.Text})
		}
		for _, d := range c.ToolCalls {
			if d.ID != "" {
				m.ToolCalls = append(m.ToolCalls, llm.ToolCall{ID: d.ID, Name: d.Name})
			}
			m.ToolCalls[len(m.ToolCalls)-1].Arguments += d.Arguments
		}
	}
	return m
}

// TestCacheUsage checks the cache counts end to end against the fake: the
// first call with a breakpoint writes the prefix (in the 1-hour tier when
// asked), the second reads it, and both count it in the prompt.
func TestCacheUsage(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	for _, tt := range []struct {
		ttl       string
		wantWrite llm.Usage
	}{
		{"", llm.Usage{CacheWriteTokens: 4}},
		{`,"ttl":"1h"`, llm.Usage{CacheWrite1hTokens: 4}},
	} {
		req := &llm.ChatRequest{Model: "claude-haiku-4-5" + tt.ttl, Messages: msgs(
			llm.Message{Role: llm.RoleSystem, Content: []llm.Part{{Type: llm.PartText, Text: "a long shared document",
				CacheControl: json.RawMessage(`{"type":"ephemeral"` + tt.ttl + `}`)}}},
			llm.TextMessage(llm.RoleUser, "question one"))}
		first, err := c.Chat(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		want := tt.wantWrite
		want.PromptTokens, want.CompletionTokens = 6, 3
		if first.Usage != want {
			t.Errorf("ttl %q first call usage = %+v; want %+v", tt.ttl, first.Usage, want)
		}
		chunks := streamed(t, c, req)
		got := chunks[len(chunks)-1].Usage
		if want := (llm.Usage{PromptTokens: 6, CompletionTokens: 3, CachedTokens: 4}); got == nil || *got != want {
			t.Errorf("ttl %q second call usage = %+v; want %+v", tt.ttl, got, want)
		}
	}
}
