// Package llm holds the provider-neutral shape of a call: the chat and
// embedding requests the gateway hands to an adapter, what comes back, and
// the stream of deltas in between. Dialects translate into these types and
// adapters translate out of them, so neither ever sees the other.
package llm

import (
	"context"
	"encoding/json"
)

// Provider is one upstream protocol bound to one provider instance.
type Provider interface {
	Chat(ctx context.Context, req *ChatRequest) (*ChatResponse, error)
	// ChatStream starts a stream. An error before the first chunk (bad
	// status, refused connection) is returned here, so the caller may still
	// retry or fall back.
	ChatStream(ctx context.Context, req *ChatRequest) (Stream, error)
}

// Embedder is implemented by providers that serve embeddings.
type Embedder interface {
	Embed(ctx context.Context, req *EmbedRequest) (*EmbedResponse, error)
}

// Stream yields chunks until Recv returns io.EOF. It is pull-based and runs no
// goroutine: cancelling the request context stops the upstream read.
type Stream interface {
	Recv() (Chunk, error)
	Close() error
}

// Roles used in messages.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
	// RoleDeveloper is OpenAI's newer name for system; other providers get it as system.
	RoleDeveloper = "developer"
)

// Finish reasons, in OpenAI's vocabulary, which every adapter maps to.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool_calls"
	FinishContentFilter = "content_filter"
)

// ChatRequest is a chat completion request after model resolution: Model is
// the upstream model id.
type ChatRequest struct {
	Model            string
	Messages         []Message
	MaxTokens        *int
	Temperature      *float64
	TopP             *float64
	FrequencyPenalty *float64
	PresencePenalty  *float64
	Stop             []string
	Seed             *int64
	N                *int
	Tools            []Tool
	ToolChoice       *ToolChoice
	ResponseFormat   *ResponseFormat
	User             string
	Stream           bool
	// IncludeUsage asks for a final usage chunk on streams. Adapters always
	// try to learn usage; this only says whether the client wants to see it.
	IncludeUsage bool
	// NumCtx is the context window to ask in-house models for (Ollama's num_ctx).
	NumCtx *int
	// Extra holds request fields the dialect did not recognise. Only adapters
	// of the same protocol as the dialect forward them; others ignore them.
	Extra map[string]json.RawMessage
}

// Message is one turn. Content is a list of parts; plain text is one text part.
type Message struct {
	Role       string
	Content    []Part
	Name       string
	ToolCalls  []ToolCall // assistant turns that called tools
	ToolCallID string     // tool turns: the call this result answers
}

// Text returns the concatenated text parts of m.
func (m *Message) Text() string {
	if len(m.Content) == 1 && m.Content[0].Type == PartText {
		return m.Content[0].Text
	}
	var n int
	for _, p := range m.Content {
		n += len(p.Text)
	}
	b := make([]byte, 0, n)
	for _, p := range m.Content {
		if p.Type == PartText {
			b = append(b, p.Text...)
		}
	}
	return string(b)
}

// HasContent reports whether m has a part other than thinking: what a
// dialect without thinking blocks (Chat Completions) shows as content.
func (m *Message) HasContent() bool {
	for _, p := range m.Content {
		if p.Type != PartThinking && p.Type != PartRedactedThinking {
			return true
		}
	}
	return false
}

// TextMessage builds a message with one text part.
func TextMessage(role, text string) Message {
	return Message{Role: role, Content: []Part{{Type: PartText, Text: text}}}
}

// Part types.
const (
	PartText  = "text"
	PartImage = "image_url"
	// PartThinking is the model's visible reasoning: Text holds it, and
	// Signature, when the provider issued one, authenticates it. A thinking
	// part goes back to a provider only with its signature intact, and only
	// to the family that signed it; toward other families it is dropped.
	PartThinking = "thinking"
	// PartRedactedThinking is reasoning the provider hands out only
	// encrypted (Anthropic redacted_thinking, OpenAI encrypted reasoning):
	// Data holds it verbatim, and only its own family can read it back.
	PartRedactedThinking = "redacted_thinking"
)

// Part is one piece of message content.
type Part struct {
	Type string
	Text string
	// ImageURL is an http(s) URL or a data: URL with base64 data.
	ImageURL string
	Detail   string
	// Signature authenticates a thinking part; it travels byte for byte.
	Signature string
	// Data is the opaque payload of a redacted thinking part.
	Data string
	// Family is the provider family that produced a thinking part
	// (anthropic, openai, gemini), so that adapters of another family
	// know to drop it rather than send a signature they cannot verify.
	Family string
	// CacheControl is a prompt-caching breakpoint as the client wrote it
	// (Anthropic's cache_control object), kept verbatim for adapters that
	// understand it.
	CacheControl json.RawMessage
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage // JSON Schema
	Strict      *bool
}

// ToolChoice modes.
const (
	ToolChoiceAuto     = "auto"
	ToolChoiceNone     = "none"
	ToolChoiceRequired = "required"
	ToolChoiceFunction = "function"
)

// ToolChoice says whether and which tool the model must call.
type ToolChoice struct {
	Mode string
	Name string // with ToolChoiceFunction
}

// ToolCall is a call the model made.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string // JSON text, as the model produced it
}

// Response format types.
const (
	FormatText       = "text"
	FormatJSONObject = "json_object"
	FormatJSONSchema = "json_schema"
)

// ResponseFormat asks for JSON output.
type ResponseFormat struct {
	Type   string
	Name   string          // json_schema
	Schema json.RawMessage // json_schema
	Strict *bool
}

// Usage counts tokens. Estimated is true when the gateway counted them itself.
//
// It follows OpenAI's accounting whatever the provider: PromptTokens is the
// whole input, cache reads and cache writes included, and CompletionTokens
// includes ReasoningTokens. Adapters of providers that count otherwise
// (Anthropic's input_tokens excludes both cache reads and writes) convert.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	// CachedTokens are prompt tokens read from the provider's prompt cache.
	CachedTokens int
	// CacheWriteTokens are prompt tokens written to the prompt cache with
	// the default lifetime (Anthropic: 5 minutes); CacheWrite1hTokens with
	// the one-hour lifetime. Both are part of PromptTokens.
	CacheWriteTokens   int
	CacheWrite1hTokens int
	ReasoningTokens    int
	Estimated          bool
}

// Total returns prompt + completion tokens.
func (u Usage) Total() int { return u.PromptTokens + u.CompletionTokens }

// Choice is one generated answer.
type Choice struct {
	Index        int
	Message      Message
	FinishReason string
}

// ChatResponse is a complete chat answer.
type ChatResponse struct {
	ID      string
	Model   string // as reported by upstream
	Created int64
	Choices []Choice
	Usage   Usage
	// HasUsage is false when upstream reported no usage.
	HasUsage bool
}

// Chunk is one stream delta. A chunk may carry text, tool call fragments, a
// finish reason, usage, or several of these.
type Chunk struct {
	ID           string
	Model        string
	Index        int
	Role         string
	Text         string
	ToolCalls    []ToolCallDelta
	FinishReason string
	Usage        *Usage
	// Thinking is a fragment of the model's reasoning; Signature, when set,
	// closes the current thinking block with its signature (Anthropic's
	// signature_delta). RedactedThinking carries a whole redacted block.
	// Dialects that frame content in blocks (Anthropic, Responses) open a
	// new block whenever the kind of content changes, so a flat sequence of
	// chunks is enough to rebuild well-formed, non-overlapping blocks.
	Thinking         string
	Signature        string
	RedactedThinking string
	// ThinkingFamily is the provider family that produced Thinking.
	ThinkingFamily string
}

// ThinkingOnly reports whether c carries thinking and nothing else, a chunk
// that dialects without thinking blocks skip.
func (c *Chunk) ThinkingOnly() bool {
	return (c.Thinking != "" || c.Signature != "" || c.RedactedThinking != "") &&
		c.Text == "" && c.Role == "" && c.FinishReason == "" && len(c.ToolCalls) == 0 && c.Usage == nil
}

// ToolCallDelta is a fragment of a tool call in a stream. The first fragment
// of a call carries ID and Name; later ones append to Arguments.
type ToolCallDelta struct {
	Index     int
	ID        string
	Name      string
	Arguments string
}

// EmbedRequest asks for embeddings of each input string.
type EmbedRequest struct {
	Model          string
	Input          []string
	Dimensions     *int
	EncodingFormat string
	User           string
}

// EmbedResponse holds one vector per input, in order.
type EmbedResponse struct {
	Model    string
	Vectors  [][]float32
	Usage    Usage
	HasUsage bool
}
