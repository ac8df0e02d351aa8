package postgres

import (
	"context"
	"fmt"

	"github.com/llmservice/llmservice"
)

var _ llmservice.ResponseStore = (*DB)(nil)

// PutResponse stores a response document, replacing any earlier one.
func (db *DB) PutResponse(ctx context.Context, team, id string, doc []byte) error {
	if _, err := db.pool.Exec(ctx,
		`INSERT INTO responses (team_id, id, doc) VALUES ($1, $2, $3)
		 ON CONFLICT (team_id, id) DO UPDATE SET doc = excluded.doc`, team, id, string(doc)); err != nil {
		return fmt.Errorf("put response %s: %w", id, err)
	}
	return nil
}

// GetResponse returns NotFound when the team has no such response.
func (db *DB) GetResponse(ctx context.Context, team, id string) ([]byte, error) {
	var doc string
	err := db.pool.QueryRow(ctx, `SELECT doc FROM responses WHERE team_id = $1 AND id = $2`, team, id).Scan(&doc)
	if isNoRows(err) {
		err = notFound("response", err)
	}
	if err != nil {
		return nil, fmt.Errorf("response %s: %w", id, err)
	}
	return []byte(doc), nil
}

// DeleteResponse returns NotFound when the team has no such response.
func (db *DB) DeleteResponse(ctx context.Context, team, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM responses WHERE team_id = $1 AND id = $2`, team, id)
	if err != nil {
		return fmt.Errorf("delete response %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("response", nil)
	}
	return nil
}
