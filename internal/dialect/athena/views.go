package athena

import (
	"encoding/json"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// The JSON shapes of the REST API. GraphQL resolvers read the same values,
// so the two surfaces cannot drift apart.

// chatCompletion is an OpenAI chat.completion plus the top-level "content"
// that Athena's Python SDK reads (print(response["content"])).
type chatCompletion struct {
	*wire.ChatCompletion
	Content string `json:"content"`
}

// newChatCompletion renders a finished call; created is unix seconds.
func newChatCompletion(resp *llm.ChatResponse, u llm.Usage, id, model string, created int64) *chatCompletion {
	r := *resp
	r.Usage = u
	if r.Created == 0 {
		r.Created = created
	}
	c := wire.CompletionFromLLM(&r, id, model)
	out := &chatCompletion{ChatCompletion: c}
	if len(resp.Choices) > 0 {
		out.Content = resp.Choices[0].Message.Text()
	}
	return out
}

// finishReason is the first choice's finish reason, or "".
func (c *chatCompletion) finishReason() string {
	if len(c.Choices) > 0 {
		return c.Choices[0].FinishReason
	}
	return ""
}

// usageView is OpenAI's usage triple.
type usageView struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func newUsage(prompt, completion int) *usageView {
	return &usageView{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion}
}

// timeString is how the API writes times: RFC 3339 in UTC, milliseconds
// kept (the store's precision).
func timeString(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// conversationView is a conversation without its messages.
type conversationView struct {
	ID            string          `json:"id"`
	Object        string          `json:"object"`
	Model         string          `json:"model"`
	SystemMessage *string         `json:"system_message"`
	Metadata      json.RawMessage `json:"metadata"`
	MessageCount  int             `json:"message_count"`
	CreatedAt     string          `json:"created_at"`
	UpdatedAt     string          `json:"updated_at"`
}

func newConversationView(c *llmservice.Conversation) *conversationView {
	v := &conversationView{ID: c.ID, Object: "conversation", Model: c.Model, Metadata: c.Metadata,
		MessageCount: c.MessageCount, CreatedAt: timeString(c.CreatedAt), UpdatedAt: timeString(c.UpdatedAt)}
	if c.SystemMessage != "" {
		s := c.SystemMessage
		v.SystemMessage = &s
	}
	if len(v.Metadata) == 0 {
		v.Metadata = json.RawMessage("{}")
	}
	return v
}

// conversationDetail is a conversation with its messages (GET by id).
type conversationDetail struct {
	*conversationView
	Messages []*messageView `json:"messages"`
}

// messageView is one stored message; model and usage describe the call
// that produced an assistant message.
type messageView struct {
	ID        string     `json:"id"`
	Object    string     `json:"object"`
	Role      string     `json:"role"`
	Content   string     `json:"content"`
	Model     string     `json:"model,omitempty"`
	Usage     *usageView `json:"usage,omitempty"`
	CreatedAt string     `json:"created_at"`
}

func newMessageView(m *llmservice.ConversationMessage) *messageView {
	v := &messageView{ID: m.ID, Object: "conversation.message", Role: m.Role, Content: m.Content, Model: m.Model,
		CreatedAt: timeString(m.CreatedAt)}
	if m.Role == llm.RoleAssistant {
		v.Usage = newUsage(m.PromptTokens, m.CompletionTokens)
	}
	return v
}

func newMessageViews(ms []*llmservice.ConversationMessage) []*messageView {
	out := make([]*messageView, len(ms))
	for i, m := range ms {
		out[i] = newMessageView(m)
	}
	return out
}

// turnView answers a message sent to a conversation: the reply as a
// chat.completion (with "content", like chat completions), plus the stored
// user and assistant messages and how much history was trimmed to fit the
// model's context window.
type turnView struct {
	*chatCompletion
	ConversationID  string       `json:"conversation_id"`
	Message         *messageView `json:"message"`
	UserMessage     *messageView `json:"user_message"`
	ContextWindow   int          `json:"context_window"`
	TrimmedMessages int          `json:"trimmed_messages"`
}

// conversationList is a page of conversations.
type conversationList struct {
	Object     string              `json:"object"`
	Data       []*conversationView `json:"data"`
	HasMore    bool                `json:"has_more"`
	NextCursor *string             `json:"next_cursor"`
}

// modelView is a model the caller may use, with the catalog's prices and
// limits when it has an entry.
type modelView struct {
	ID            string   `json:"id"`
	Object        string   `json:"object"`
	Created       int64    `json:"created"`
	OwnedBy       string   `json:"owned_by"`
	InputPerMTok  *float64 `json:"input_per_mtok,omitempty"`
	OutputPerMTok *float64 `json:"output_per_mtok,omitempty"`
	RPM           int      `json:"rpm,omitempty"`
	ContextWindow int      `json:"context_window"`
}

// usageTotal is one group of the usage report: the ledger's totals plus
// the error rate.
type usageTotal struct {
	Group            string  `json:"group,omitempty"`
	Requests         int64   `json:"requests"`
	Errors           int64   `json:"errors"`
	ErrorRate        float64 `json:"error_rate"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	TotalTokens      int64   `json:"total_tokens"`
	// Parts of the prompt and completion counts, priced on their own.
	CacheReadTokens    int64   `json:"cache_read_tokens"`
	CacheWriteTokens   int64   `json:"cache_write_tokens"`
	CacheWrite1hTokens int64   `json:"cache_write_1h_tokens"`
	ReasoningTokens    int64   `json:"reasoning_tokens"`
	CostUSD            float64 `json:"cost_usd"`
	AvgLatencyMS       float64 `json:"avg_latency_ms"`
	// CacheHits are the calls the response cache answered (cost 0),
	// CacheHitRate hits/requests, SavedUSD what the hits cost when first
	// served.
	CacheHits    int64   `json:"cache_hits"`
	CacheHitRate float64 `json:"cache_hit_rate"`
	SavedUSD     float64 `json:"saved_usd"`
}

func newUsageTotal(t llmservice.UsageTotal) usageTotal {
	out := usageTotal{Group: t.Group, Requests: t.Requests, Errors: t.Errors, PromptTokens: t.PromptTokens,
		CompletionTokens: t.CompletionTokens, TotalTokens: t.TotalTokens, CostUSD: t.CostUSD, AvgLatencyMS: t.AvgLatencyMS,
		CacheReadTokens: t.CacheReadTokens, CacheWriteTokens: t.CacheWriteTokens, CacheWrite1hTokens: t.CacheWrite1hTokens,
		ReasoningTokens: t.ReasoningTokens, CacheHits: t.CacheHits, SavedUSD: t.SavedUSD}
	if t.Requests > 0 {
		out.ErrorRate = float64(t.Errors) / float64(t.Requests)
		out.CacheHitRate = float64(t.CacheHits) / float64(t.Requests)
	}
	return out
}

// usageReport is the caller's team's usage over a window.
type usageReport struct {
	Object  string       `json:"object"`
	From    *string      `json:"from"`
	To      *string      `json:"to"`
	GroupBy *string      `json:"group_by"`
	Total   usageTotal   `json:"total"`
	Data    []usageTotal `json:"data"`
	// ByModel breaks the total down by model whatever group_by says: the
	// seed promises a "model usage distribution".
	ByModel []usageTotal `json:"by_model"`
	// Partial says the newest calls may be missing: the ledger could not
	// be written within gateway.UsageFlushWait.
	Partial bool `json:"partial,omitempty"`
}
