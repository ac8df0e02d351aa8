package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

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
	err := db.withTx(ctx, func(tx *sql.Tx) error { return db.insertFileTx(ctx, tx, f) })
	if err != nil {
		return errorf("create file %s: %w", f.ID, err)
	}
	return nil
}

func (db *DB) insertFileTx(ctx context.Context, tx *sql.Tx, f *llmservice.File) error {
	if f.CreatedAt.IsZero() {
		f.CreatedAt = db.now()
	}
	f.Bytes = int64(len(f.Content))
	content := f.Content
	if content == nil {
		content = []byte{} // the column is NOT NULL; an empty file is allowed
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO batch_files (`+fileColumns+`, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.TeamID, f.Purpose, f.Filename, f.Bytes, toMS(f.CreatedAt), optMS(f.ExpiresAt), content)
	if isUnique(err) {
		return conflict("file "+f.ID, err)
	}
	return err
}

// FindFileByID returns a team's file without its content.
func (db *DB) FindFileByID(ctx context.Context, teamID, id string) (*llmservice.File, error) {
	f, err := scanFile(db.reader.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM batch_files WHERE id = ? AND team_id = ?`, id, teamID))
	if err != nil {
		return nil, errorf("find file %s: %w", id, err)
	}
	return f, nil
}

// FindFileContent returns a team's file's bytes.
func (db *DB) FindFileContent(ctx context.Context, teamID, id string) ([]byte, error) {
	var b []byte
	err := db.reader.QueryRowContext(ctx, `SELECT content FROM batch_files WHERE id = ? AND team_id = ?`, id, teamID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf("find file content %s: %w", id, notFound("file", err))
	}
	if err != nil {
		return nil, errorf("find file content %s: %w", id, err)
	}
	return b, nil
}

// FindFiles lists a team's files, newest first unless f.Asc.
func (db *DB) FindFiles(ctx context.Context, f llmservice.FileFilter) ([]*llmservice.File, bool, error) {
	if f.TeamID == "" {
		return nil, false, llmservice.Errorf(llmservice.Invalid, "find files: team is required")
	}
	limit := storesql.PageLimit(f.Limit, storesql.FilePageSize)
	where := []string{"team_id = ?"}
	args := []any{f.TeamID}
	if f.Purpose != "" {
		where = append(where, "purpose = ?")
		args = append(args, f.Purpose)
	}
	cmp, order := "<", "DESC"
	if f.Asc {
		cmp, order = ">", "ASC"
	}
	if f.After != "" {
		var created int64
		err := db.reader.QueryRowContext(ctx, `SELECT created_at FROM batch_files WHERE id = ? AND team_id = ?`, f.After, f.TeamID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, storesql.NoCursor("file", f.After)
		}
		if err != nil {
			return nil, false, errorf("find files: %w", err)
		}
		where = append(where, "(created_at, id) "+cmp+" (?, ?)")
		args = append(args, created, f.After)
	}
	args = append(args, limit+1)
	rows, err := db.reader.QueryContext(ctx, `SELECT `+fileColumns+` FROM batch_files WHERE `+strings.Join(where, " AND ")+`
		ORDER BY created_at `+order+`, id `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, false, errorf("find files: %w", err)
	}
	defer rows.Close()
	var out []*llmservice.File
	for rows.Next() {
		file, err := scanFile(rows)
		if err != nil {
			return nil, false, errorf("find files: %w", err)
		}
		out = append(out, file)
	}
	if err := rows.Err(); err != nil {
		return nil, false, errorf("find files: %w", err)
	}
	out, more := storesql.Page(out, limit)
	return out, more, nil
}

// DeleteFile deletes a team's file.
func (db *DB) DeleteFile(ctx context.Context, teamID, id string) error {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM batch_files WHERE id = ? AND team_id = ?`, id, teamID)
	if err == nil {
		err = mustAffect(res, "file")
	}
	if err != nil {
		return errorf("delete file %s: %w", id, err)
	}
	return nil
}

func scanFile(s scanner) (*llmservice.File, error) {
	var (
		f                llmservice.File
		created, expires int64
	)
	if err := s.Scan(&f.ID, &f.TeamID, &f.Purpose, &f.Filename, &f.Bytes, &created, &expires); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("file", err)
		}
		return nil, err
	}
	f.CreatedAt, f.ExpiresAt = fromMS(created), optTime(expires)
	return &f, nil
}

// InsertWebhookDelivery records one delivery attempt.
func (db *DB) InsertWebhookDelivery(ctx context.Context, d *llmservice.WebhookDelivery) error {
	if d.Time.IsZero() {
		d.Time = db.now()
	}
	err := db.writer.QueryRowContext(ctx, `INSERT INTO batch_webhook_deliveries
		(team_id, batch_id, message_id, attempt, url, status_code, error, duration_ms, time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		d.TeamID, d.BatchID, d.MessageID, d.Attempt, d.URL, d.StatusCode, d.Error, d.DurationMS, toMS(d.Time)).Scan(&d.ID)
	if err != nil {
		return errorf("insert webhook delivery: %w", err)
	}
	return nil
}

// FindWebhookDeliveries lists a team's batch's delivery attempts, oldest first.
func (db *DB) FindWebhookDeliveries(ctx context.Context, teamID, batchID string) ([]*llmservice.WebhookDelivery, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT id, team_id, batch_id, message_id, attempt, url, status_code, error, duration_ms, time
		FROM batch_webhook_deliveries WHERE batch_id = ? AND team_id = ? ORDER BY id`, batchID, teamID)
	if err != nil {
		return nil, errorf("find webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []*llmservice.WebhookDelivery
	for rows.Next() {
		var (
			d  llmservice.WebhookDelivery
			ms int64
		)
		if err := rows.Scan(&d.ID, &d.TeamID, &d.BatchID, &d.MessageID, &d.Attempt, &d.URL, &d.StatusCode, &d.Error, &d.DurationMS, &ms); err != nil {
			return nil, errorf("find webhook deliveries: %w", err)
		}
		d.Time = fromMS(ms)
		out = append(out, &d)
	}
	return out, rows.Err()
}
