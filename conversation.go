package llmservice

import (
	"context"
	"encoding/json"
	"time"
)

// Conversation is a persisted multi-turn chat (Athena's conversation API).
// Its messages live apart, so that listing conversations reads no text.
type Conversation struct {
	ID     string
	TeamID string
	// KeyID is the key that created the conversation; any key of the team
	// may continue it.
	KeyID         string
	Model         string
	SystemMessage string
	// Metadata is the caller's JSON object, kept as sent.
	Metadata     json.RawMessage
	MessageCount int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// ConversationMessage is one stored turn of a conversation.
type ConversationMessage struct {
	ID             string
	ConversationID string
	// Seq orders a conversation's messages from 1; the store assigns it.
	Seq     int
	Role    string
	Content string
	// Tokens is the message's share of a prompt, counted once when it is
	// stored, so that trimming a long history re-tokenizes nothing.
	Tokens int
	// Model, PromptTokens and CompletionTokens describe the call that
	// produced an assistant message; they are zero on user messages.
	Model            string
	PromptTokens     int
	CompletionTokens int
	CreatedAt        time.Time
}

// ConversationFilter selects a page of a team's conversations, newest first.
type ConversationFilter struct {
	TeamID string // required: conversations never cross teams
	Limit  int    // page size (default 20, at most 100)
	// Cursor continues after the last conversation of a previous page; it is
	// the NextCursor the previous call returned. Offset skips that many
	// conversations instead; a store rejects both at once.
	Cursor string
	Offset int
}

// ConversationStore persists conversations. Every method takes the caller's
// team: a conversation of another team is NotFound, exactly like a missing
// one, so that IDs leak nothing across teams.
type ConversationStore interface {
	// CreateConversation inserts c, stamping CreatedAt and UpdatedAt when
	// zero. Conflict if the ID is taken.
	CreateConversation(ctx context.Context, c *Conversation) error
	// FindConversation returns NotFound when absent or another team's.
	FindConversation(ctx context.Context, teamID, id string) (*Conversation, error)
	// FindConversations returns a page and the cursor of the next one ("" at
	// the end). Invalid (param cursor) for a cursor it did not issue.
	FindConversations(ctx context.Context, f ConversationFilter) ([]*Conversation, string, error)
	// DeleteConversation deletes it and its messages. NotFound when absent
	// or another team's.
	DeleteConversation(ctx context.Context, teamID, id string) error
	// AppendConversationMessages stores msgs at the end of the conversation
	// in one transaction, assigning Seq and stamping CreatedAt when zero;
	// it updates the conversation's MessageCount, and its UpdatedAt to the
	// last message's CreatedAt. NotFound
	// when absent or another team's.
	AppendConversationMessages(ctx context.Context, teamID, id string, msgs []*ConversationMessage) error
	// FindConversationMessages returns messages in order. With maxTokens > 0
	// only the newest ones whose Tokens add up to at most maxTokens come
	// back, so a long history is not read in full to be trimmed. NotFound
	// when the conversation is absent or another team's.
	FindConversationMessages(ctx context.Context, teamID, id string, maxTokens int) ([]*ConversationMessage, error)
}
