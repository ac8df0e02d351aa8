package gemini

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	geminiwire "github.com/llmservice/llmservice/internal/wire/gemini"
)

func TestFromWire(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *llm.ChatResponse
	}{
		{
			name: "text with thoughts as thinking parts, a signature before its part, and thinking usage",
			body: `{
				"candidates": [{"content": {"role": "model", "parts": [
					{"text": "Let me think about the sky.", "thought": true},
					{"text": "The sky is "},
					{"text": "blue.", "thoughtSignature": "c2ln"}
				]}, "finishReason": "STOP", "index": 0}],
				"usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 4, "thoughtsTokenCount": 30,
					"cachedContentTokenCount": 2, "totalTokenCount": 42},
				"modelVersion": "gemini-2.5-flash", "responseId": "resp-1"}`,
			want: &llm.ChatResponse{
				ID: "resp-1", Model: "gemini-2.5-flash",
				Choices: []llm.Choice{{Message: llm.Message{Role: llm.RoleAssistant,
					Content: []llm.Part{
						{Type: llm.PartThinking, Text: "Let me think about the sky.", Family: "gemini"},
						{Type: llm.PartText, Text: "The sky is "},
						{Type: llm.PartThinking, Signature: "c2ln", Family: "gemini"},
						{Type: llm.PartText, Text: "blue."},
					}}, FinishReason: llm.FinishStop}},
				Usage:    llm.Usage{PromptTokens: 8, CompletionTokens: 34, CachedTokens: 2, ReasoningTokens: 30},
				HasUsage: true,
			},
		},
		{
			name: "function calls with generated and given ids",
			body: `{
				"candidates": [{"content": {"role": "model", "parts": [
					{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2ln"},
					{"functionCall": {"id": "fc-7", "name": "get_weather", "args": {"city": "Rome"}}},
					{"functionCall": {"name": "now"}}
				]}, "finishReason": "STOP"}],
				"usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 10, "toolUsePromptTokenCount": 5}}`,
			want: &llm.ChatResponse{
				Choices: []llm.Choice{{Message: llm.Message{Role: llm.RoleAssistant,
					Content: []llm.Part{{Type: llm.PartThinking, Signature: "c2ln", Family: "gemini"}}, ToolCalls: []llm.ToolCall{
						{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`},
						{ID: "fc-7", Name: "get_weather", Arguments: `{"city":"Rome"}`},
						{ID: "call_3", Name: "now", Arguments: `{}`},
					}}, FinishReason: llm.FinishToolCalls}},
				Usage:    llm.Usage{PromptTokens: 25, CompletionTokens: 10},
				HasUsage: true,
			},
		},
		{
			name: "several candidates, one filtered",
			body: `{
				"candidates": [
					{"content": {"role": "model", "parts": [{"text": "A"}]}, "finishReason": "MAX_TOKENS", "index": 0},
					{"finishReason": "SAFETY", "index": 1}
				]}`,
			want: &llm.ChatResponse{
				Choices: []llm.Choice{
					{Index: 0, Message: llm.Message{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartText, Text: "A"}}}, FinishReason: llm.FinishLength},
					{Index: 1, Message: llm.Message{Role: llm.RoleAssistant}, FinishReason: llm.FinishContentFilter},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w geminiwire.GenerateContentResponse
			if err := json.Unmarshal([]byte(tt.body), &w); err != nil {
				t.Fatal(err)
			}
			got, err := fromWire(&w)
			if err != nil {
				t.Fatalf("fromWire: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fromWire(%s) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestFromWireErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		kind llmservice.Kind
		code string
	}{
		{"blocked prompt", `{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 5}}`, llmservice.Invalid, "content_filter"},
		{"no candidates", `{"usageMetadata": {"promptTokenCount": 5}}`, llmservice.Upstream, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w geminiwire.GenerateContentResponse
			if err := json.Unmarshal([]byte(tt.body), &w); err != nil {
				t.Fatal(err)
			}
			_, err := fromWire(&w)
			var e *llmservice.Error
			if !errors.As(err, &e) || e.Kind != tt.kind || e.Code != tt.code {
				t.Fatalf("fromWire(%s) error = %v; want kind %v code %q", tt.name, err, tt.kind, tt.code)
			}
		})
	}
}

func TestFinishReason(t *testing.T) {
	tests := []struct {
		reason   string
		hasCalls bool
		want     string
	}{
		{"STOP", false, llm.FinishStop},
		{"STOP", true, llm.FinishToolCalls},
		{"", true, llm.FinishToolCalls},
		{"MAX_TOKENS", false, llm.FinishLength},
		{"MAX_TOKENS", true, llm.FinishLength},
		{"SAFETY", false, llm.FinishContentFilter},
		{"RECITATION", false, llm.FinishContentFilter},
		{"BLOCKLIST", false, llm.FinishContentFilter},
		{"PROHIBITED_CONTENT", false, llm.FinishContentFilter},
		{"SPII", false, llm.FinishContentFilter},
		{"IMAGE_SAFETY", false, llm.FinishContentFilter},
		{"OTHER", false, llm.FinishStop},
		{"LANGUAGE", false, llm.FinishStop},
		{"MALFORMED_FUNCTION_CALL", false, llm.FinishStop},
		{"FINISH_REASON_UNSPECIFIED", false, llm.FinishStop},
	}
	for _, tt := range tests {
		if got := finishReason(tt.reason, tt.hasCalls); got != tt.want {
			t.Errorf("finishReason(%q, %v) = %q; want %q", tt.reason, tt.hasCalls, got, tt.want)
		}
	}
}
