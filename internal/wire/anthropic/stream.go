package anthropic

// Stream event types. A stream is message_start, then for each content block
// content_block_start, content_block_delta*, content_block_stop, then one
// message_delta and message_stop; ping and error may come at any point, and
// new event types may be added, so unknown types must be skipped.
// https://platform.claude.com/docs/en/build-with-claude/streaming
const (
	EventMessageStart      = "message_start"
	EventContentBlockStart = "content_block_start"
	EventContentBlockDelta = "content_block_delta"
	EventContentBlockStop  = "content_block_stop"
	EventMessageDelta      = "message_delta"
	EventMessageStop       = "message_stop"
	EventPing              = "ping"
	EventError             = "error"
)

// Delta types in content_block_delta events.
const (
	DeltaText      = "text_delta"
	DeltaInputJSON = "input_json_delta" // partial JSON of a tool_use input
	DeltaThinking  = "thinking_delta"
	DeltaSignature = "signature_delta"
	DeltaCitations = "citations_delta"
)

// StreamEvent is the data of any stream event, for decoding: Type says which
// of the other fields are set. The event types below are its encodable views.
type StreamEvent struct {
	Type string `json:"type"`
	// Message is set on message_start.
	Message *Message `json:"message,omitempty"`
	// Index is the content block's index on content_block_* events.
	Index int `json:"index"`
	// ContentBlock is set on content_block_start: a text block with empty
	// text, or a tool_use block whose Input is {} (the input follows as
	// input_json_delta fragments).
	ContentBlock *ContentBlock `json:"content_block,omitempty"`
	// Delta is set on content_block_delta and message_delta.
	Delta *Delta `json:"delta,omitempty"`
	// Usage is set on message_delta.
	Usage *DeltaUsage `json:"usage,omitempty"`
	// Error is set on error events.
	Error *ErrorDetail `json:"error,omitempty"`
}

// Delta is a content_block_delta's delta (Type plus Text or PartialJSON) or a
// message_delta's delta (StopReason, StopSequence).
type Delta struct {
	Type        string `json:"type,omitempty"`
	Text        string `json:"text,omitempty"`
	PartialJSON string `json:"partial_json,omitempty"`
	// Thinking is a thinking_delta's fragment; Signature a signature_delta's
	// whole signature, sent just before the thinking block stops.
	Thinking     string  `json:"thinking,omitempty"`
	Signature    string  `json:"signature,omitempty"`
	StopReason   string  `json:"stop_reason,omitempty"`
	StopSequence *string `json:"stop_sequence,omitempty"`
}

// DeltaUsage is message_delta's usage. Counts are cumulative for the whole
// message. OutputTokens is always present; the input counts are pointers
// because older API versions omit them, and an absent count must not
// overwrite the one message_start reported.
type DeltaUsage struct {
	OutputTokens             int  `json:"output_tokens"`
	InputTokens              *int `json:"input_tokens,omitempty"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens,omitempty"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens,omitempty"`
	// CacheCreation splits the cache writes by lifetime, when present.
	CacheCreation *CacheCreation `json:"cache_creation,omitempty"`
}

// MessageStartEvent opens a stream.
type MessageStartEvent struct {
	Type    string  `json:"type"` // message_start
	Message Message `json:"message"`
}

// ContentBlockStartEvent opens content block Index.
type ContentBlockStartEvent struct {
	Type         string       `json:"type"` // content_block_start
	Index        int          `json:"index"`
	ContentBlock ContentBlock `json:"content_block"`
}

// ContentBlockDeltaEvent extends content block Index.
type ContentBlockDeltaEvent struct {
	Type  string `json:"type"` // content_block_delta
	Index int    `json:"index"`
	Delta Delta  `json:"delta"`
}

// ContentBlockStopEvent closes content block Index.
type ContentBlockStopEvent struct {
	Type  string `json:"type"` // content_block_stop
	Index int    `json:"index"`
}

// MessageDeltaEvent carries the stop reason and the final usage.
type MessageDeltaEvent struct {
	Type  string     `json:"type"` // message_delta
	Delta Delta      `json:"delta"`
	Usage DeltaUsage `json:"usage"`
}

// TypeOnlyEvent is an event with no fields but its type: message_stop, ping.
type TypeOnlyEvent struct {
	Type string `json:"type"`
}
