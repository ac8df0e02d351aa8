package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.ConversationStore = (*DB)(nil)

const conversationColumns = `id, team_id, key_id, model, system_message, metadata, message_count, created_at, updated_at`

const conversationMessageColumns = `conversation_id, seq, id, role, content, tokens, model, prompt_tokens, completion_tokens, created_at`

// CreateConversation inserts c; an empty ID gets a random one.
func (db *DB) CreateConversation(ctx context.Context, c *llmservice.Conversation) error {
	meta, err := storesql.PrepareConversation(c, db.now())
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx,
		`INSERT INTO conversations (`+conversationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)`,
		c.ID, c.TeamID, c.KeyID, c.Model, c.SystemMessage, meta, c.CreatedAt, c.UpdatedAt)
	switch {
	case isUnique(err):
		err = conflict("conversation", err)
	case isForeignKey(err):
		err = notFound("team", err)
	}
	if err != nil {
		return fmt.Errorf("create conversation: %w", err)
	}
	return nil
}

// FindConversation returns NotFound when absent or another team's.
func (db *DB) FindConversation(ctx context.Context, teamID, id string) (*llmservice.Conversation, error) {
	c, err := scanConversation(db.pool.QueryRow(ctx,
		`SELECT `+conversationColumns+` FROM conversations WHERE id = $1 AND team_id = $2`, id, teamID))
	if err != nil {
		return nil, fmt.Errorf("find conversation %s: %w", id, err)
	}
	return c, nil
}

// FindConversations returns a page of the team's conversations, newest
// first, reading one row more than the page to tell whether another follows.
func (db *DB) FindConversations(ctx context.Context, f llmservice.ConversationFilter) ([]*llmservice.Conversation, string, error) {
	p, err := storesql.CheckConversationFilter(f)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT ` + conversationColumns + ` FROM conversations WHERE team_id = $1`
	args := []any{f.TeamID, p.Limit + 1, p.Offset}
	if p.After != nil {
		q += ` AND (created_at, id) < ($4, $5)`
		args = append(args, p.After.CreatedAt, p.After.ID)
	}
	rows, err := db.pool.Query(ctx, q+` ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("find conversations: %w", err)
	}
	out, err := pgx.AppendRows([]*llmservice.Conversation(nil), rows,
		func(r pgx.CollectableRow) (*llmservice.Conversation, error) { return scanConversation(r) })
	if err != nil {
		return nil, "", fmt.Errorf("find conversations: %w", err)
	}
	out, next := p.Trim(out)
	return out, next, nil
}

// DeleteConversation deletes it; its messages go by the foreign key.
func (db *DB) DeleteConversation(ctx context.Context, teamID, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM conversations WHERE id = $1 AND team_id = $2`, id, teamID)
	if err == nil && tag.RowsAffected() == 0 {
		err = notFound("conversation", nil)
	}
	if err != nil {
		return fmt.Errorf("delete conversation %s: %w", id, err)
	}
	return nil
}

// AppendConversationMessages stores msgs after the conversation's last one.
// Bumping message_count first locks the conversation's row and takes the
// seq range, so turns appended at once by any replicas queue up behind
// each other and never interleave or collide.
func (db *DB) AppendConversationMessages(ctx context.Context, teamID, id string, msgs []*llmservice.ConversationMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	// The conversation was updated when its last message was written.
	updated := storesql.PrepareConversationMessages(msgs, db.now())
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		var count int
		err := tx.QueryRow(ctx,
			`UPDATE conversations SET message_count = message_count + $1, updated_at = $2
			WHERE id = $3 AND team_id = $4 RETURNING message_count`,
			len(msgs), updated, id, teamID).Scan(&count)
		if isNoRows(err) {
			return notFound("conversation", err)
		}
		if err != nil {
			return err
		}
		// One round trip for the whole turn.
		batch := &pgx.Batch{}
		seq := count - len(msgs)
		for _, m := range msgs {
			seq++
			m.ConversationID, m.Seq = id, seq
			batch.Queue(`INSERT INTO conversation_messages (`+conversationMessageColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				id, seq, m.ID, m.Role, m.Content, m.Tokens, m.Model, m.PromptTokens, m.CompletionTokens, m.CreatedAt)
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("append to conversation %s: %w", id, err)
	}
	return nil
}

// FindConversationMessages returns the conversation's messages in order, or
// with maxTokens > 0 the newest ones that fit in it. The window is found
// from seq and tokens alone: the newest message that does not fit is the
// last one left out, so only the messages sent are read in full.
func (db *DB) FindConversationMessages(ctx context.Context, teamID, id string, maxTokens int) ([]*llmservice.ConversationMessage, error) {
	var one int
	err := db.pool.QueryRow(ctx, `SELECT 1 FROM conversations WHERE id = $1 AND team_id = $2`, id, teamID).Scan(&one)
	if isNoRows(err) {
		err = notFound("conversation", err)
	}
	if err != nil {
		return nil, fmt.Errorf("find messages of conversation %s: %w", id, err)
	}
	q := `SELECT ` + conversationMessageColumns + ` FROM conversation_messages WHERE conversation_id = $1`
	args := []any{id}
	if maxTokens > 0 {
		q += ` AND seq > COALESCE((SELECT max(seq) FROM (
				SELECT seq, sum(tokens) OVER (ORDER BY seq DESC) AS running
				FROM conversation_messages WHERE conversation_id = $1) w
			WHERE running > $2), 0)`
		args = append(args, maxTokens)
	}
	rows, err := db.pool.Query(ctx, q+` ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("find messages of conversation %s: %w", id, err)
	}
	out, err := pgx.AppendRows([]*llmservice.ConversationMessage(nil), rows, scanConversationMessage)
	if err != nil {
		return nil, fmt.Errorf("find messages of conversation %s: %w", id, err)
	}
	return out, nil
}

func scanConversationMessage(row pgx.CollectableRow) (*llmservice.ConversationMessage, error) {
	var m llmservice.ConversationMessage
	if err := row.Scan(&m.ConversationID, &m.Seq, &m.ID, &m.Role, &m.Content, &m.Tokens, &m.Model,
		&m.PromptTokens, &m.CompletionTokens, &m.CreatedAt); err != nil {
		return nil, err
	}
	m.CreatedAt = m.CreatedAt.UTC()
	return &m, nil
}

func scanConversation(row pgx.Row) (*llmservice.Conversation, error) {
	var (
		c                llmservice.Conversation
		meta             string
		created, updated time.Time
	)
	if err := row.Scan(&c.ID, &c.TeamID, &c.KeyID, &c.Model, &c.SystemMessage, &meta, &c.MessageCount, &created, &updated); err != nil {
		if isNoRows(err) {
			return nil, notFound("conversation", err)
		}
		return nil, err
	}
	c.Metadata = json.RawMessage(meta)
	c.CreatedAt, c.UpdatedAt = created.UTC(), updated.UTC()
	return &c, nil
}
