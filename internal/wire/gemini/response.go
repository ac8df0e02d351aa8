package gemini

// GenerateContentResponse is the answer of models.generateContent and each
// SSE event of models.streamGenerateContent?alt=sse. In a stream, every event
// carries the new parts only, and usageMetadata holds running totals; the
// last event of a candidate has its finishReason.
// https://ai.google.dev/api/generate-content#generatecontentresponse
type GenerateContentResponse struct {
	Candidates     []Candidate     `json:"candidates,omitempty"`
	PromptFeedback *PromptFeedback `json:"promptFeedback,omitempty"`
	UsageMetadata  *UsageMetadata  `json:"usageMetadata,omitempty"`
	ModelVersion   string          `json:"modelVersion,omitempty"`
	ResponseID     string          `json:"responseId,omitempty"`
}

// Candidate is one generated answer. Content is absent when the candidate
// was blocked before producing anything.
// https://ai.google.dev/api/generate-content#candidate
type Candidate struct {
	Content       *Content `json:"content,omitempty"`
	FinishReason  string   `json:"finishReason,omitempty"`
	FinishMessage string   `json:"finishMessage,omitempty"`
	Index         int      `json:"index,omitempty"`
	TokenCount    int      `json:"tokenCount,omitempty"`
}

// Finish reasons.
// https://ai.google.dev/api/generate-content#FinishReason
const (
	FinishUnspecified            = "FINISH_REASON_UNSPECIFIED"
	FinishStop                   = "STOP"
	FinishMaxTokens              = "MAX_TOKENS"
	FinishSafety                 = "SAFETY"
	FinishRecitation             = "RECITATION"
	FinishLanguage               = "LANGUAGE"
	FinishOther                  = "OTHER"
	FinishBlocklist              = "BLOCKLIST"
	FinishProhibitedContent      = "PROHIBITED_CONTENT"
	FinishSPII                   = "SPII"
	FinishMalformedFunctionCall  = "MALFORMED_FUNCTION_CALL"
	FinishImageSafety            = "IMAGE_SAFETY"
	FinishImageProhibitedContent = "IMAGE_PROHIBITED_CONTENT"
	FinishUnexpectedToolCall     = "UNEXPECTED_TOOL_CALL"
)

// PromptFeedback reports a prompt blocked before any candidate was
// generated: BlockReason is set and Candidates is empty.
// https://ai.google.dev/api/generate-content#PromptFeedback
type PromptFeedback struct {
	BlockReason string `json:"blockReason,omitempty"`
}

// Block reasons.
// https://ai.google.dev/api/generate-content#BlockReason
const (
	BlockSafety            = "SAFETY"
	BlockOther             = "OTHER"
	BlockBlocklist         = "BLOCKLIST"
	BlockProhibitedContent = "PROHIBITED_CONTENT"
	BlockImageSafety       = "IMAGE_SAFETY"
)

// UsageMetadata counts tokens. TotalTokenCount is the sum of the prompt,
// candidates, tool-use prompt and thoughts counts; thoughts are billed as
// output but are not part of CandidatesTokenCount.
// https://ai.google.dev/api/generate-content#UsageMetadata
type UsageMetadata struct {
	PromptTokenCount        int `json:"promptTokenCount,omitempty"`
	CachedContentTokenCount int `json:"cachedContentTokenCount,omitempty"`
	CandidatesTokenCount    int `json:"candidatesTokenCount,omitempty"`
	ToolUsePromptTokenCount int `json:"toolUsePromptTokenCount,omitempty"`
	ThoughtsTokenCount      int `json:"thoughtsTokenCount,omitempty"`
	TotalTokenCount         int `json:"totalTokenCount,omitempty"`
}
