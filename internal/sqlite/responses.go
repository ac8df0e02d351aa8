package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/llmservice/llmservice"
)

var _ llmservice.ResponseStore = (*DB)(nil)

// PutResponse stores a response document, replacing any earlier one.
func (db *DB) PutResponse(ctx context.Context, team, id string, doc []byte) error {
	if _, err := db.writer.ExecContext(ctx,
		`INSERT INTO responses (team_id, id, doc) VALUES (?, ?, ?)
		 ON CONFLICT (team_id, id) DO UPDATE SET doc = excluded.doc`, team, id, string(doc)); err != nil {
		return errorf("put response %s: %w", id, err)
	}
	return nil
}

// GetResponse returns NotFound when the team has no such response.
func (db *DB) GetResponse(ctx context.Context, team, id string) ([]byte, error) {
	var doc string
	err := db.reader.QueryRowContext(ctx, `SELECT doc FROM responses WHERE team_id = ? AND id = ?`, team, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		err = notFound("response", err)
	}
	if err != nil {
		return nil, errorf("response %s: %w", id, err)
	}
	return []byte(doc), nil
}

// DeleteResponse returns NotFound when the team has no such response.
func (db *DB) DeleteResponse(ctx context.Context, team, id string) error {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM responses WHERE team_id = ? AND id = ?`, team, id)
	if err != nil {
		return errorf("delete response %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("response", nil)
	}
	return nil
}
