// Package anthropic holds the JSON shapes of Anthropic's Messages API, shared
// by the provider adapter and any dialect that speaks the same protocol. It
// has no behaviour beyond JSON encoding.
//
// Reference: https://platform.claude.com/docs/en/api/messages
// Field names were checked against the official Go SDK
// (github.com/anthropics/anthropic-sdk-go, message.go, MessageNewParams).
package anthropic

import "encoding/json"

// Version is the anthropic-version header value this package's shapes follow.
// https://platform.claude.com/docs/en/api/versioning
const Version = "2023-06-01"

// Roles a message may have. The API has no system role in messages: the
// system prompt is the top-level System field.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// MessagesRequest is the body of POST /v1/messages.
// https://platform.claude.com/docs/en/api/messages/create
type MessagesRequest struct {
	Model string `json:"model"`
	// MaxTokens is required by the API (unlike OpenAI's max_tokens); 0 has a
	// special meaning there (pre-warm the prompt cache without generating).
	MaxTokens int            `json:"max_tokens"`
	Messages  []MessageParam `json:"messages"`
	// System is sent as an array of text blocks; the API also accepts a plain
	// string, which Contents decodes too.
	System        Contents  `json:"system,omitempty"`
	Metadata      *Metadata `json:"metadata,omitempty"`
	StopSequences []string  `json:"stop_sequences,omitempty"`
	Stream        bool      `json:"stream,omitempty"`
	Temperature   *float64  `json:"temperature,omitempty"`
	TopP          *float64  `json:"top_p,omitempty"`
	TopK          *int      `json:"top_k,omitempty"`
	Tools         []Tool    `json:"tools,omitempty"`
	// ToolChoice is only meaningful with Tools.
	ToolChoice   *ToolChoice   `json:"tool_choice,omitempty"`
	OutputConfig *OutputConfig `json:"output_config,omitempty"`
	// Thinking turns extended thinking on ({"type":"enabled",
	// "budget_tokens":N}, or {"type":"adaptive"}); kept verbatim.
	// https://platform.claude.com/docs/en/build-with-claude/extended-thinking
	Thinking json.RawMessage `json:"thinking,omitempty"`
}

// MessageParam is one input turn. Consecutive turns of the same role are
// combined by the API; this package's users merge them before sending.
type MessageParam struct {
	Role    string   `json:"role"`
	Content Contents `json:"content"`
}

// Metadata describes the request. UserID should be an opaque identifier
// (uuid or hash); Anthropic uses it to detect abuse.
type Metadata struct {
	UserID string `json:"user_id,omitempty"`
}

// Tool is a client tool the model may call.
// https://platform.claude.com/docs/en/agents-and-tools/tool-use/overview
type Tool struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// InputSchema is a JSON Schema whose top-level type must be "object".
	InputSchema json.RawMessage `json:"input_schema"`
	// Strict asks for grammar-constrained tool input (structured outputs).
	Strict *bool `json:"strict,omitempty"`
	// CacheControl is a prompt-caching breakpoint after the tools.
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// Tool choice types.
const (
	ToolChoiceAuto = "auto"
	ToolChoiceAny  = "any" // the model must call some tool
	ToolChoiceTool = "tool"
	ToolChoiceNone = "none"
)

// ToolChoice says whether and which tool the model must use.
type ToolChoice struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"` // with ToolChoiceTool
	// DisableParallelToolUse limits the answer to at most one tool call.
	DisableParallelToolUse *bool `json:"disable_parallel_tool_use,omitempty"`
}

// OutputConfig holds output options. Format is structured outputs, generally
// available without a beta header since the output_format beta moved here.
// https://platform.claude.com/docs/en/build-with-claude/structured-outputs
type OutputConfig struct {
	Format *OutputFormat `json:"format,omitempty"`
}

// OutputFormatJSONSchema is the only output format type.
const OutputFormatJSONSchema = "json_schema"

// OutputFormat constrains the answer to a JSON schema.
type OutputFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}
