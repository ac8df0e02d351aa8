package anthropic

import (
	"encoding/json"

	"github.com/llmservice/llmservice/internal/wire/shorthand"
)

// Content block types, in requests and responses.
// https://platform.claude.com/docs/en/api/messages/create (content blocks)
const (
	BlockText       = "text"
	BlockImage      = "image"
	BlockToolUse    = "tool_use"
	BlockToolResult = "tool_result"
	// BlockThinking and BlockRedactedThinking only appear when extended
	// thinking is enabled in the request.
	BlockThinking         = "thinking"
	BlockRedactedThinking = "redacted_thinking"
)

// ContentBlock is one block of message content. The API validates blocks
// strictly (a field that does not belong to the type is a 400), so every field
// but Type is omitted when empty and only the fields of Type are set.
type ContentBlock struct {
	Type string `json:"type"`
	// Text is set on text blocks.
	Text string `json:"text,omitempty"`
	// Source is set on image blocks.
	Source *ImageSource `json:"source,omitempty"`
	// ID, Name and Input are set on tool_use blocks. Input is a JSON object.
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	// ToolUseID, Content and IsError are set on tool_result blocks; Content
	// holds text and image blocks.
	ToolUseID string   `json:"tool_use_id,omitempty"`
	Content   Contents `json:"content,omitempty"`
	IsError   bool     `json:"is_error,omitempty"`
	// Thinking and Signature are set on thinking blocks. The signature
	// authenticates the thinking text and must come back byte for byte when
	// the block is sent on a later turn.
	// https://platform.claude.com/docs/en/build-with-claude/extended-thinking
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	// Data is set on redacted_thinking blocks: encrypted reasoning, opaque.
	Data string `json:"data,omitempty"`
	// CacheControl is a prompt-caching breakpoint ({"type":"ephemeral"},
	// optionally with "ttl":"1h"), kept as the client wrote it.
	// https://platform.claude.com/docs/en/build-with-claude/prompt-caching
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// MarshalJSON writes a thinking block with both of its required fields, even
// when the thinking text is empty (a model may return a signed block with no
// visible text), and every other block with its non-empty fields only.
func (b ContentBlock) MarshalJSON() ([]byte, error) {
	if b.Type == BlockThinking {
		return json.Marshal(struct {
			Type      string `json:"type"`
			Thinking  string `json:"thinking"`
			Signature string `json:"signature"`
		}{b.Type, b.Thinking, b.Signature})
	}
	type plain ContentBlock
	return json.Marshal(plain(b))
}

// Image source types.
const (
	SourceBase64 = "base64"
	SourceURL    = "url"
)

// ImageSource is where an image block's bytes come from: inline base64 data
// with its media type, or a URL the API fetches.
// https://platform.claude.com/docs/en/build-with-claude/vision
type ImageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"` // base64: image/jpeg, image/png, image/gif, image/webp
	Data      string `json:"data,omitempty"`       // base64
	URL       string `json:"url,omitempty"`        // url
}

// Contents is a list of content blocks. The API accepts a plain string as
// shorthand for one text block (message content, system, tool_result
// content), so Contents decodes both forms; it always encodes as an array.
type Contents []ContentBlock

// UnmarshalJSON accepts a string or an array of blocks.
func (c *Contents) UnmarshalJSON(b []byte) error {
	return shorthand.List(b, (*[]ContentBlock)(c), func(s string) ContentBlock { return ContentBlock{Type: BlockText, Text: s} })
}

// Text returns the concatenated text of the text blocks.
func (c Contents) Text() string {
	var b []byte
	for _, bl := range c {
		if bl.Type == BlockText {
			b = append(b, bl.Text...)
		}
	}
	return string(b)
}
