package django

import (
	"encoding/json"
	"strings"

	"github.com/llmservice/llmservice/internal/llm"
)

// The seed's views return the OpenAI Python SDK's objects as dumped by
// pydantic: every field present, null when unset, in the SDK's field order.
// These types reproduce that shape (see the seed's sample response), which
// is richer than what the OpenAI dialect writes.

type completion struct {
	ID                string   `json:"id"`
	Choices           []choice `json:"choices"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	Object            string   `json:"object"`
	ServiceTier       string   `json:"service_tier"`
	SystemFingerprint *string  `json:"system_fingerprint"`
	Usage             *usage   `json:"usage"`
}

type choice struct {
	FinishReason string          `json:"finish_reason"`
	Index        int             `json:"index"`
	Logprobs     json.RawMessage `json:"logprobs"`
	Message      message         `json:"message"`
}

type message struct {
	Content      *string         `json:"content"`
	Refusal      *string         `json:"refusal"`
	Role         string          `json:"role"`
	Annotations  []struct{}      `json:"annotations"`
	Audio        json.RawMessage `json:"audio"`
	FunctionCall json.RawMessage `json:"function_call"`
	ToolCalls    []toolCall      `json:"tool_calls"`
}

type toolCall struct {
	ID       string   `json:"id"`
	Function function `json:"function"`
	Type     string   `json:"type"`
}

type function struct {
	Arguments string `json:"arguments"`
	Name      string `json:"name"`
}

type usage struct {
	CompletionTokens        int                     `json:"completion_tokens"`
	PromptTokens            int                     `json:"prompt_tokens"`
	TotalTokens             int                     `json:"total_tokens"`
	CompletionTokensDetails completionTokensDetails `json:"completion_tokens_details"`
	PromptTokensDetails     promptTokensDetails     `json:"prompt_tokens_details"`
}

type completionTokensDetails struct {
	AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
	AudioTokens              int `json:"audio_tokens"`
	ReasoningTokens          int `json:"reasoning_tokens"`
	RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
}

type promptTokensDetails struct {
	AudioTokens  int `json:"audio_tokens"`
	CachedTokens int `json:"cached_tokens"`
}

var null = json.RawMessage("null")

func usageFrom(u llm.Usage) *usage {
	return &usage{
		CompletionTokens: u.CompletionTokens, PromptTokens: u.PromptTokens, TotalTokens: u.Total(),
		CompletionTokensDetails: completionTokensDetails{ReasoningTokens: u.ReasoningTokens},
		PromptTokensDetails:     promptTokensDetails{CachedTokens: u.CachedTokens},
	}
}

// completionID keeps an upstream's OpenAI-style ID and makes one otherwise.
func completionID(upstream string, gen func() string) string {
	if strings.HasPrefix(upstream, "chatcmpl-") {
		return upstream
	}
	return gen()
}

// completionFrom renders a chat response. model is what upstream said it
// ran (the seed shows "gpt-3.5-turbo-0125" for "gpt-3.5-turbo").
func completionFrom(resp *llm.ChatResponse, u llm.Usage, id, model string, created int64) *completion {
	c := &completion{ID: id, Created: created, Model: model, Object: "chat.completion",
		ServiceTier: "default", Usage: usageFrom(u), Choices: make([]choice, 0, len(resp.Choices))}
	for i, ch := range resp.Choices {
		m := message{Role: "assistant", Annotations: []struct{}{}, Audio: null, FunctionCall: null}
		if ch.Message.HasContent() || len(ch.Message.ToolCalls) == 0 {
			t := ch.Message.Text()
			m.Content = &t
		}
		for _, tc := range ch.Message.ToolCalls {
			m.ToolCalls = append(m.ToolCalls, toolCall{ID: tc.ID, Type: "function", Function: function{Name: tc.Name, Arguments: tc.Arguments}})
		}
		idx := ch.Index
		if idx == 0 {
			idx = i
		}
		c.Choices = append(c.Choices, choice{FinishReason: ch.FinishReason, Index: idx, Logprobs: null, Message: m})
	}
	return c
}

// chunk is a streamed chat.completion.chunk in the same style.
type chunk struct {
	ID                string        `json:"id"`
	Choices           []chunkChoice `json:"choices"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	Object            string        `json:"object"`
	ServiceTier       string        `json:"service_tier"`
	SystemFingerprint *string       `json:"system_fingerprint"`
	Usage             *usage        `json:"usage"`
}

type chunkChoice struct {
	Delta        delta           `json:"delta"`
	FinishReason *string         `json:"finish_reason"`
	Index        int             `json:"index"`
	Logprobs     json.RawMessage `json:"logprobs"`
}

type delta struct {
	Content      *string         `json:"content"`
	FunctionCall json.RawMessage `json:"function_call"`
	Refusal      *string         `json:"refusal"`
	Role         *string         `json:"role"`
	ToolCalls    []toolCallDelta `json:"tool_calls"`
}

type toolCallDelta struct {
	Index    int            `json:"index"`
	ID       *string        `json:"id"`
	Function *functionDelta `json:"function"`
	Type     *string        `json:"type"`
}

type functionDelta struct {
	Arguments string  `json:"arguments"`
	Name      *string `json:"name"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// chunkFrom renders one stream delta.
func chunkFrom(ch *llm.Chunk, id, model string, created int64) *chunk {
	d := delta{FunctionCall: null, Role: strPtr(ch.Role)}
	if ch.Text != "" || ch.Role != "" {
		t := ch.Text
		d.Content = &t
	}
	for _, tc := range ch.ToolCalls {
		td := toolCallDelta{Index: tc.Index, ID: strPtr(tc.ID), Function: &functionDelta{Arguments: tc.Arguments, Name: strPtr(tc.Name)}}
		if tc.ID != "" {
			td.Type = strPtr("function")
		}
		d.ToolCalls = append(d.ToolCalls, td)
	}
	return &chunk{ID: id, Created: created, Model: model, Object: "chat.completion.chunk", ServiceTier: "default",
		Choices: []chunkChoice{{Delta: d, FinishReason: strPtr(ch.FinishReason), Index: ch.Index, Logprobs: null}}}
}

// usageChunk is the final chunk sent when stream_options.include_usage asks
// for it: no choices, only usage.
func usageChunk(u llm.Usage, id, model string, created int64) *chunk {
	return &chunk{ID: id, Created: created, Model: model, Object: "chat.completion.chunk", ServiceTier: "default",
		Choices: []chunkChoice{}, Usage: usageFrom(u)}
}
