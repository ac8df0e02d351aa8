package anthropic

// Message is the answer of POST /v1/messages, and the "message" of a stream's
// message_start event (with empty Content and StopReason there).
// https://platform.claude.com/docs/en/api/messages/create (response)
type Message struct {
	ID      string         `json:"id"`
	Type    string         `json:"type"` // "message"
	Role    string         `json:"role"` // "assistant"
	Model   string         `json:"model"`
	Content []ContentBlock `json:"content"`
	// StopReason is empty (null on the wire) only in message_start.
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Usage        Usage   `json:"usage"`
}

// Stop reasons.
// https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons
const (
	StopEndTurn      = "end_turn"
	StopMaxTokens    = "max_tokens"
	StopSequence     = "stop_sequence"
	StopToolUse      = "tool_use"
	StopPauseTurn    = "pause_turn" // a server-tool turn was paused; resend to continue
	StopRefusal      = "refusal"
	StopContextLimit = "model_context_window_exceeded"
)

// Usage counts tokens. InputTokens excludes cached input: the total input of a
// request is InputTokens + CacheCreationInputTokens + CacheReadInputTokens.
// CacheCreation, when present, splits the cache writes by lifetime; without
// it every write has the default 5-minute lifetime.
// https://platform.claude.com/docs/en/build-with-claude/prompt-caching#tracking-cache-performance
type Usage struct {
	InputTokens              int            `json:"input_tokens"`
	OutputTokens             int            `json:"output_tokens"`
	CacheCreationInputTokens int            `json:"cache_creation_input_tokens,omitempty"`
	CacheReadInputTokens     int            `json:"cache_read_input_tokens,omitempty"`
	CacheCreation            *CacheCreation `json:"cache_creation,omitempty"`
}

// CacheCreation is the cache writes of a request per lifetime.
type CacheCreation struct {
	Ephemeral5mInputTokens int `json:"ephemeral_5m_input_tokens"`
	Ephemeral1hInputTokens int `json:"ephemeral_1h_input_tokens"`
}
