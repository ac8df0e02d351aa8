package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.ConversationStore = (*DB)(nil)

const conversationColumns = `id, team_id, key_id, model, system_message, metadata, message_count, created_at, updated_at`

// CreateConversation inserts c; an empty ID gets a random one.
func (db *DB) CreateConversation(ctx context.Context, c *llmservice.Conversation) error {
	meta, err := storesql.PrepareConversation(c, db.now())
	if err != nil {
		return err
	}
	_, err = db.writer.ExecContext(ctx, `INSERT INTO conversations (`+conversationColumns+`) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)`,
		c.ID, c.TeamID, c.KeyID, c.Model, c.SystemMessage, meta, toMS(c.CreatedAt), toMS(c.UpdatedAt))
	switch {
	case isUnique(err):
		err = conflict("conversation", err)
	case isForeignKey(err):
		err = notFound("team", err)
	}
	if err != nil {
		return errorf("create conversation: %w", err)
	}
	return nil
}

// FindConversation returns NotFound when absent or another team's.
func (db *DB) FindConversation(ctx context.Context, teamID, id string) (*llmservice.Conversation, error) {
	c, err := scanConversation(db.reader.QueryRowContext(ctx,
		`SELECT `+conversationColumns+` FROM conversations WHERE id = ? AND team_id = ?`, id, teamID))
	if err != nil {
		return nil, errorf("find conversation %s: %w", id, err)
	}
	return c, nil
}

// FindConversations returns a page of the team's conversations, newest first.
func (db *DB) FindConversations(ctx context.Context, f llmservice.ConversationFilter) ([]*llmservice.Conversation, string, error) {
	p, err := storesql.CheckConversationFilter(f)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT ` + conversationColumns + ` FROM conversations WHERE team_id = ?`
	args := []any{f.TeamID}
	if p.After != nil {
		q += ` AND (created_at, id) < (?, ?)`
		args = append(args, toMS(p.After.CreatedAt), p.After.ID)
	}
	// One row more than the page says whether another page follows.
	q += ` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`
	args = append(args, p.Limit+1, p.Offset)
	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", errorf("find conversations: %w", err)
	}
	defer rows.Close()
	var out []*llmservice.Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, "", errorf("find conversations: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", errorf("find conversations: %w", err)
	}
	out, next := p.Trim(out)
	return out, next, nil
}

// DeleteConversation deletes it; its messages go by the foreign key.
func (db *DB) DeleteConversation(ctx context.Context, teamID, id string) error {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM conversations WHERE id = ? AND team_id = ?`, id, teamID)
	if err == nil {
		err = mustAffect(res, "conversation")
	}
	if err != nil {
		return errorf("delete conversation %s: %w", id, err)
	}
	return nil
}

// AppendConversationMessages stores msgs after the conversation's last one.
// Bumping message_count first takes the seq range under the write lock, so
// two turns appended at once never interleave or collide.
func (db *DB) AppendConversationMessages(ctx context.Context, teamID, id string, msgs []*llmservice.ConversationMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	// The conversation was updated when its last message was written.
	updated := storesql.PrepareConversationMessages(msgs, db.now())
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var count int
		err := tx.QueryRowContext(ctx,
			`UPDATE conversations SET message_count = message_count + ?, updated_at = ? WHERE id = ? AND team_id = ? RETURNING message_count`,
			len(msgs), toMS(updated), id, teamID).Scan(&count)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("conversation", err)
		}
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO conversation_messages
			(conversation_id, seq, id, role, content, tokens, model, prompt_tokens, completion_tokens, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		seq := count - len(msgs)
		for _, m := range msgs {
			seq++
			if _, err := stmt.ExecContext(ctx, id, seq, m.ID, m.Role, m.Content, m.Tokens, m.Model,
				m.PromptTokens, m.CompletionTokens, toMS(m.CreatedAt)); err != nil {
				return err
			}
			m.ConversationID, m.Seq = id, seq
		}
		return nil
	})
	if err != nil {
		return errorf("append to conversation %s: %w", id, err)
	}
	return nil
}

// FindConversationMessages returns the conversation's messages in order, or
// with maxTokens > 0 the newest ones that fit in it. Those are read newest
// first down the primary key and the read stops at the first message that
// does not fit, so a turn of a long conversation reads only what it sends.
func (db *DB) FindConversationMessages(ctx context.Context, teamID, id string, maxTokens int) ([]*llmservice.ConversationMessage, error) {
	var one int
	err := db.reader.QueryRowContext(ctx, `SELECT 1 FROM conversations WHERE id = ? AND team_id = ?`, id, teamID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		err = notFound("conversation", err)
	}
	if err != nil {
		return nil, errorf("find messages of conversation %s: %w", id, err)
	}
	order := "ASC"
	if maxTokens > 0 {
		order = "DESC"
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT conversation_id, seq, id, role, content, tokens, model,
		prompt_tokens, completion_tokens, created_at FROM conversation_messages
		WHERE conversation_id = ? ORDER BY seq `+order, id)
	if err != nil {
		return nil, errorf("find messages of conversation %s: %w", id, err)
	}
	defer rows.Close()
	var (
		out []*llmservice.ConversationMessage
		sum int
	)
	for rows.Next() {
		var (
			m  llmservice.ConversationMessage
			ms int64
		)
		if err := rows.Scan(&m.ConversationID, &m.Seq, &m.ID, &m.Role, &m.Content, &m.Tokens, &m.Model,
			&m.PromptTokens, &m.CompletionTokens, &ms); err != nil {
			return nil, errorf("find messages of conversation %s: %w", id, err)
		}
		if maxTokens > 0 {
			if sum += m.Tokens; sum > maxTokens {
				break
			}
		}
		m.CreatedAt = fromMS(ms)
		out = append(out, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, errorf("find messages of conversation %s: %w", id, err)
	}
	if maxTokens > 0 {
		slices.Reverse(out)
	}
	return out, nil
}

func scanConversation(s scanner) (*llmservice.Conversation, error) {
	var (
		c                llmservice.Conversation
		meta             string
		created, updated int64
	)
	if err := s.Scan(&c.ID, &c.TeamID, &c.KeyID, &c.Model, &c.SystemMessage, &meta, &c.MessageCount, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("conversation", err)
		}
		return nil, err
	}
	c.Metadata = json.RawMessage(meta)
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	return &c, nil
}
