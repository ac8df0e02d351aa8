package mock

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice/internal/llm"
)

// TestThinking checks that the mock reasons when asked, in either
// vocabulary, whole and streamed, and not otherwise.
func TestThinking(t *testing.T) {
	tests := []struct {
		name  string
		extra map[string]json.RawMessage
		want  bool
	}{
		{"none", nil, false},
		{"anthropic enabled", map[string]json.RawMessage{"thinking": json.RawMessage(`{"type":"enabled","budget_tokens":1024}`)}, true},
		{"anthropic disabled", map[string]json.RawMessage{"thinking": json.RawMessage(`{"type":"disabled"}`)}, false},
		{"openai effort", map[string]json.RawMessage{"reasoning_effort": json.RawMessage(`"low"`)}, true},
		{"openai none", map[string]json.RawMessage{"reasoning_effort": json.RawMessage(`"none"`)}, false},
	}
	for _, tt := range tests {
		req := &llm.ChatRequest{Model: "m", Extra: tt.extra, Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hello there")}}
		resp, _ := Client{}.Chat(context.Background(), req)
		thought := llm.Part{Type: llm.PartThinking, Text: "mock thinking about: hello there", Family: Family}
		wantContent := []llm.Part{{Type: llm.PartText, Text: Prefix + "hello there"}}
		wantUsage := llm.Usage{PromptTokens: 2, CompletionTokens: 4}
		if tt.want {
			wantContent = append([]llm.Part{thought}, wantContent...)
			wantUsage.CompletionTokens, wantUsage.ReasoningTokens = 9, 5
		}
		if diff := cmp.Diff(wantContent, resp.Choices[0].Message.Content); diff != "" {
			t.Errorf("%s: content mismatch (-want +got):\n%s", tt.name, diff)
		}
		if resp.Usage != wantUsage {
			t.Errorf("%s: usage = %+v; want %+v", tt.name, resp.Usage, wantUsage)
		}
		s, _ := Client{}.ChatStream(context.Background(), req)
		c, err := s.Recv()
		if err != nil || c.Role != llm.RoleAssistant || (c.Thinking != "") != tt.want {
			t.Errorf("%s: first chunk = %+v, %v; want the role, with the thinking: %v", tt.name, c, err, tt.want)
		}
		for !errors.Is(err, io.EOF) {
			_, err = s.Recv()
		}
	}
}
