package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var (
	_ llmservice.FileStore    = (*DB)(nil)
	_ llmservice.WebhookStore = (*DB)(nil)
)

const fileColumns = storesql.FileColumns

// CreateFile inserts f with its content.
func (db *DB) CreateFile(ctx context.Context, f *llmservice.File) error {
	err := db.withTx(ctx, func(tx pgx.Tx) error { return db.insertFileTx(ctx, tx, f) })
	if err != nil {
		return fmt.Errorf("create file %s: %w", f.ID, err)
	}
	return nil
}

func (db *DB) insertFileTx(ctx context.Context, tx pgx.Tx, f *llmservice.File) error {
	if f.CreatedAt.IsZero() {
		f.CreatedAt = db.now()
	}
	f.Bytes = int64(len(f.Content))
	content := f.Content
	if content == nil {
		content = []byte{} // the column is NOT NULL; an empty file is allowed
	}
	_, err := tx.Exec(ctx, `INSERT INTO batch_files (`+fileColumns+`, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		f.ID, f.TeamID, f.Purpose, f.Filename, f.Bytes, ms(f.CreatedAt), nullIfZero(f.ExpiresAt), content)
	if isUnique(err) {
		return conflict("file "+f.ID, err)
	}
	return err
}

// FindFileByID returns a team's file without its content.
func (db *DB) FindFileByID(ctx context.Context, teamID, id string) (*llmservice.File, error) {
	f, err := scanFile(db.pool.QueryRow(ctx, `SELECT `+fileColumns+` FROM batch_files WHERE id = $1 AND team_id = $2`, id, teamID))
	if err != nil {
		return nil, fmt.Errorf("find file %s: %w", id, err)
	}
	return f, nil
}

// FindFileContent returns a team's file's bytes.
func (db *DB) FindFileContent(ctx context.Context, teamID, id string) ([]byte, error) {
	var b []byte
	err := db.pool.QueryRow(ctx, `SELECT content FROM batch_files WHERE id = $1 AND team_id = $2`, id, teamID).Scan(&b)
	if isNoRows(err) {
		return nil, fmt.Errorf("find file content %s: %w", id, notFound("file", err))
	}
	if err != nil {
		return nil, fmt.Errorf("find file content %s: %w", id, err)
	}
	return b, nil
}

// FindFiles lists a team's files, newest first unless f.Asc.
func (db *DB) FindFiles(ctx context.Context, f llmservice.FileFilter) ([]*llmservice.File, bool, error) {
	if f.TeamID == "" {
		return nil, false, llmservice.Errorf(llmservice.Invalid, "find files: team is required")
	}
	limit := storesql.PageLimit(f.Limit, storesql.FilePageSize)
	var q sqlBuilder
	q.sql = `SELECT ` + fileColumns + ` FROM batch_files WHERE team_id = ` + q.arg(f.TeamID)
	if f.Purpose != "" {
		q.and("purpose = " + q.arg(f.Purpose))
	}
	cmp, order := "<", "DESC"
	if f.Asc {
		cmp, order = ">", "ASC"
	}
	if f.After != "" {
		if err := db.afterCursor(ctx, &q, "batch_files", "file", f.TeamID, f.After, cmp); err != nil {
			return nil, false, fmt.Errorf("find files: %w", err)
		}
	}
	q.sql += ` ORDER BY created_at ` + order + `, id ` + order + ` LIMIT ` + q.arg(limit+1)
	out, err := queryAll(ctx, db, scanFile, q.sql, q.args...)
	if err != nil {
		return nil, false, fmt.Errorf("find files: %w", err)
	}
	out, more := storesql.Page(out, limit)
	return out, more, nil
}

// DeleteFile deletes a team's file.
func (db *DB) DeleteFile(ctx context.Context, teamID, id string) error {
	if err := db.execOne(ctx, "file", `DELETE FROM batch_files WHERE id = $1 AND team_id = $2`, id, teamID); err != nil {
		return fmt.Errorf("delete file %s: %w", id, err)
	}
	return nil
}

func scanFile(s pgx.Row) (*llmservice.File, error) {
	var (
		f       llmservice.File
		created time.Time
		expires *time.Time
	)
	if err := s.Scan(&f.ID, &f.TeamID, &f.Purpose, &f.Filename, &f.Bytes, &created, &expires); err != nil {
		if isNoRows(err) {
			return nil, notFound("file", err)
		}
		return nil, err
	}
	f.CreatedAt, f.ExpiresAt = created.UTC(), zeroIfNull(expires)
	return &f, nil
}

// InsertWebhookDelivery records one delivery attempt.
func (db *DB) InsertWebhookDelivery(ctx context.Context, d *llmservice.WebhookDelivery) error {
	if d.Time.IsZero() {
		d.Time = db.now()
	}
	err := db.pool.QueryRow(ctx, `INSERT INTO batch_webhook_deliveries
		(team_id, batch_id, message_id, attempt, url, status_code, error, duration_ms, time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		d.TeamID, d.BatchID, d.MessageID, d.Attempt, d.URL, d.StatusCode, d.Error, d.DurationMS, ms(d.Time)).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("insert webhook delivery: %w", err)
	}
	return nil
}

// FindWebhookDeliveries lists a team's batch's delivery attempts, oldest first.
func (db *DB) FindWebhookDeliveries(ctx context.Context, teamID, batchID string) ([]*llmservice.WebhookDelivery, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, team_id, batch_id, message_id, attempt, url, status_code, error, duration_ms, time
		FROM batch_webhook_deliveries WHERE batch_id = $1 AND team_id = $2 ORDER BY id`, batchID, teamID)
	if err != nil {
		return nil, fmt.Errorf("find webhook deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*llmservice.WebhookDelivery, error) {
		var d llmservice.WebhookDelivery
		if err := r.Scan(&d.ID, &d.TeamID, &d.BatchID, &d.MessageID, &d.Attempt, &d.URL, &d.StatusCode, &d.Error, &d.DurationMS, &d.Time); err != nil {
			return nil, err
		}
		d.Time = d.Time.UTC()
		return &d, nil
	})
	if err != nil {
		return nil, fmt.Errorf("find webhook deliveries: %w", err)
	}
	return out, nil
}
