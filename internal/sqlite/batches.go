package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.BatchStore = (*DB)(nil)

const batchColumns = storesql.BatchColumns

// openBatch is the SQL condition of a batch that may still change.
const openBatch = storesql.OpenBatchSQL

// CreateBatch inserts b and its tasks in one transaction: a batch is never
// visible without all of its items queued.
func (db *DB) CreateBatch(ctx context.Context, b *llmservice.Batch, tasks []*llmservice.Task) error {
	if b.CreatedAt.IsZero() {
		b.CreatedAt = db.now()
	}
	meta, errs, err := storesql.EncodeBatch(b)
	if err != nil {
		return errorf("create batch %s: %w", b.ID, err)
	}
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO batches (`+batchColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			b.ID, b.TeamID, b.KeyID, b.API, b.Project, b.Endpoint, b.InputFileID, b.CompletionWindow, meta,
			b.WebhookURL, b.WebhookSecret, string(b.Status), b.Total, b.OutputFileID, b.ErrorFileID, errs,
			b.InputTokens, b.OutputTokens, toMS(b.CreatedAt), optMS(b.ExpiresAt), optMS(b.InProgressAt),
			optMS(b.FinalizingAt), optMS(b.CompletedAt), optMS(b.FailedAt), optMS(b.ExpiredAt),
			optMS(b.CancellingAt), optMS(b.CancelledAt))
		if err != nil {
			if isUnique(err) {
				return conflict("batch "+b.ID, err)
			}
			return err
		}
		return db.insertTasksTx(ctx, tx, tasks)
	})
	if err != nil {
		return errorf("create batch %s: %w", b.ID, err)
	}
	return nil
}

// FindBatchByID returns a team's batch.
func (db *DB) FindBatchByID(ctx context.Context, teamID, id string) (*llmservice.Batch, error) {
	b, err := scanBatch(db.reader.QueryRowContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE id = ? AND team_id = ?`, id, teamID))
	if err != nil {
		return nil, errorf("find batch %s: %w", id, err)
	}
	return b, nil
}

// FindBatches lists a team's batches newest first. The cursor is a batch
// ID; the page continues after that batch's (created_at, id).
func (db *DB) FindBatches(ctx context.Context, f llmservice.BatchFilter) ([]*llmservice.Batch, bool, error) {
	if f.TeamID == "" && !f.AllTeams {
		return nil, false, llmservice.Errorf(llmservice.Invalid, "find batches: team is required")
	}
	limit := storesql.PageLimit(f.Limit, storesql.BatchPageSize)
	where := []string{"(? = '' OR team_id = ?)"}
	args := []any{f.TeamID, f.TeamID}
	if f.API != "" {
		where = append(where, "api = ?")
		args = append(args, f.API)
	}
	if len(f.Statuses) > 0 {
		where = append(where, "status IN ("+placeholders(len(f.Statuses))+")")
		for _, s := range f.Statuses {
			args = append(args, string(s))
		}
	}
	if f.After != "" {
		var created int64
		err := db.reader.QueryRowContext(ctx, `SELECT created_at FROM batches WHERE id = ? AND (? = '' OR team_id = ?)`,
			f.After, f.TeamID, f.TeamID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, storesql.NoCursor("batch", f.After)
		}
		if err != nil {
			return nil, false, errorf("find batches: %w", err)
		}
		where = append(where, "(created_at, id) < (?, ?)")
		args = append(args, created, f.After)
	}
	args = append(args, limit+1)
	rows, err := db.reader.QueryContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE `+strings.Join(where, " AND ")+`
		ORDER BY created_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, false, errorf("find batches: %w", err)
	}
	defer rows.Close()
	var out []*llmservice.Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, false, errorf("find batches: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, false, errorf("find batches: %w", err)
	}
	out, more := storesql.Page(out, limit)
	return out, more, nil
}

// CancelBatch moves an open batch to cancelling and cancels its queued
// tasks, in one transaction.
func (db *DB) CancelBatch(ctx context.Context, teamID, id string) (*llmservice.Batch, error) {
	now := toMS(db.now())
	var b *llmservice.Batch
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		b, err = scanBatch(tx.QueryRowContext(ctx, `UPDATE batches SET status = 'cancelling', cancelling_at = ?
			WHERE id = ? AND team_id = ? AND `+openBatch+` RETURNING `+batchColumns, now, id, teamID))
		if llmservice.ErrorKind(err) == llmservice.NotFound {
			var status string
			if e := tx.QueryRowContext(ctx, `SELECT status FROM batches WHERE id = ? AND team_id = ?`, id, teamID).Scan(&status); e != nil {
				return notFound("batch", e)
			}
			return storesql.NotCancellable(id, status)
		}
		if err != nil {
			return err
		}
		_, err = cancelTasksTx(ctx, tx, teamID, id, "batch_cancelled", now)
		return err
	})
	if err != nil {
		return nil, errorf("cancel batch %s: %w", id, err)
	}
	return b, nil
}

// ExpireBatch marks an open batch expired and cancels its queued tasks.
func (db *DB) ExpireBatch(ctx context.Context, id string) error {
	now := toMS(db.now())
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var team string
		err := tx.QueryRowContext(ctx, `UPDATE batches SET expired_at = ? WHERE id = ? AND expired_at = 0 AND `+openBatch+`
			RETURNING team_id`, now, id).Scan(&team)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // already expired or ended: nothing to do
		}
		if err != nil {
			return err
		}
		_, err = cancelTasksTx(ctx, tx, team, id, "batch_expired", now)
		return err
	})
	if err != nil {
		return errorf("expire batch %s: %w", id, err)
	}
	return nil
}

// FinishBatch ends an open batch with no open task: its files, its final
// status and its webhook task are written together or not at all.
func (db *DB) FinishBatch(ctx context.Context, id string, f llmservice.BatchFinish) (*llmservice.Batch, error) {
	col, err := storesql.FinishColumn(f.Status)
	if err != nil {
		return nil, err
	}
	now := toMS(db.now())
	var b *llmservice.Batch
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		// expired_at may already hold when expiry began; the final time
		// of an expired batch is when it was marked.
		b, err = scanBatch(tx.QueryRowContext(ctx, `UPDATE batches SET status = ?, `+col+` = CASE WHEN `+col+` = 0 THEN ? ELSE `+col+` END,
				finalizing_at = CASE WHEN finalizing_at = 0 THEN ? ELSE finalizing_at END,
				output_file_id = ?, error_file_id = ?, input_tokens = ?, output_tokens = ?
			WHERE id = ? AND `+openBatch+`
				AND NOT EXISTS (SELECT 1 FROM jobs_queue WHERE grp = batches.id AND state IN ('queued', 'running'))
			RETURNING `+batchColumns,
			string(f.Status), now, now, f.OutputFileID, f.ErrorFileID, f.InputTokens, f.OutputTokens, id))
		if llmservice.ErrorKind(err) == llmservice.NotFound {
			return storesql.NotFinishable(id)
		}
		if err != nil {
			return err
		}
		for _, file := range f.Files {
			if err := db.insertFileTx(ctx, tx, file); err != nil {
				return err
			}
		}
		if f.Webhook != nil {
			return db.insertTasksTx(ctx, tx, []*llmservice.Task{f.Webhook})
		}
		return nil
	})
	if err != nil {
		return nil, errorf("finish batch %s: %w", id, err)
	}
	return b, nil
}

// FindBatchesToFinish lists open batches of any team with no open task left
// or past their expiry.
func (db *DB) FindBatchesToFinish(ctx context.Context, now time.Time) ([]*llmservice.Batch, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+batchColumns+` FROM batches
		WHERE `+openBatch+` AND ((expires_at > 0 AND expires_at <= ? AND expired_at = 0)
			OR NOT EXISTS (SELECT 1 FROM jobs_queue WHERE grp = batches.id AND state IN ('queued', 'running')))
		ORDER BY created_at LIMIT 100`, toMS(now))
	if err != nil {
		return nil, errorf("find batches to finish: %w", err)
	}
	defer rows.Close()
	var out []*llmservice.Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, errorf("find batches to finish: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// optMS stores a zero time as 0 ("not yet").
func optMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return toMS(t)
}

func optTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return fromMS(ms)
}

func scanBatch(s scanner) (*llmservice.Batch, error) {
	var (
		b                   llmservice.Batch
		status, meta, errs  string
		created, expires    int64
		inProgress, final   int64
		completed, failed   int64
		expired, cancelling int64
		cancelled           int64
	)
	err := s.Scan(&b.ID, &b.TeamID, &b.KeyID, &b.API, &b.Project, &b.Endpoint, &b.InputFileID, &b.CompletionWindow, &meta,
		&b.WebhookURL, &b.WebhookSecret, &status, &b.Total, &b.OutputFileID, &b.ErrorFileID, &errs, &b.InputTokens, &b.OutputTokens,
		&created, &expires, &inProgress, &final, &completed, &failed, &expired, &cancelling, &cancelled)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("batch", err)
		}
		return nil, err
	}
	b.Status = llmservice.BatchStatus(status)
	if err := storesql.DecodeBatch(&b, meta, errs); err != nil {
		return nil, err
	}
	b.CreatedAt = fromMS(created)
	b.ExpiresAt, b.InProgressAt, b.FinalizingAt = optTime(expires), optTime(inProgress), optTime(final)
	b.CompletedAt, b.FailedAt, b.ExpiredAt = optTime(completed), optTime(failed), optTime(expired)
	b.CancellingAt, b.CancelledAt = optTime(cancelling), optTime(cancelled)
	return &b, nil
}
