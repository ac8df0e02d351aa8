package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.BatchStore = (*DB)(nil)

const batchColumns = storesql.BatchColumns

// openTasks is the SQL condition of a batch that still has a task to run.
const openTasks = `EXISTS (SELECT 1 FROM jobs_queue WHERE grp = batches.id AND state IN ('queued', 'running'))`

// CreateBatch inserts b and its tasks in one transaction: a batch is never
// visible without all of its items queued.
func (db *DB) CreateBatch(ctx context.Context, b *llmservice.Batch, tasks []*llmservice.Task) error {
	if b.CreatedAt.IsZero() {
		b.CreatedAt = db.now()
	}
	meta, errs, err := storesql.EncodeBatch(b)
	if err != nil {
		return fmt.Errorf("create batch %s: %w", b.ID, err)
	}
	err = db.withTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO batches (`+batchColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)`,
			b.ID, b.TeamID, b.KeyID, b.API, b.Project, b.Endpoint, b.InputFileID, b.CompletionWindow, meta,
			b.WebhookURL, b.WebhookSecret, string(b.Status), b.Total, b.OutputFileID, b.ErrorFileID, errs,
			b.InputTokens, b.OutputTokens, ms(b.CreatedAt), nullIfZero(b.ExpiresAt), nullIfZero(b.InProgressAt),
			nullIfZero(b.FinalizingAt), nullIfZero(b.CompletedAt), nullIfZero(b.FailedAt), nullIfZero(b.ExpiredAt),
			nullIfZero(b.CancellingAt), nullIfZero(b.CancelledAt))
		if isUnique(err) {
			return conflict("batch "+b.ID, err)
		}
		if err != nil {
			return err
		}
		return db.insertTasksTx(ctx, tx, tasks)
	})
	if err != nil {
		return fmt.Errorf("create batch %s: %w", b.ID, err)
	}
	return nil
}

// FindBatchByID returns a team's batch.
func (db *DB) FindBatchByID(ctx context.Context, teamID, id string) (*llmservice.Batch, error) {
	b, err := scanBatch(db.pool.QueryRow(ctx, `SELECT `+batchColumns+` FROM batches WHERE id = $1 AND team_id = $2`, id, teamID))
	if err != nil {
		return nil, fmt.Errorf("find batch %s: %w", id, err)
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
	var q sqlBuilder
	q.sql = `SELECT ` + batchColumns + ` FROM batches WHERE true`
	if f.TeamID != "" {
		q.and("team_id = " + q.arg(f.TeamID))
	}
	if f.API != "" {
		q.and("api = " + q.arg(f.API))
	}
	if len(f.Statuses) > 0 {
		statuses := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			statuses[i] = string(s)
		}
		q.and("status = ANY(" + q.arg(statuses) + "::text[])")
	}
	if f.After != "" {
		if err := db.afterCursor(ctx, &q, "batches", "batch", f.TeamID, f.After, "<"); err != nil {
			return nil, false, fmt.Errorf("find batches: %w", err)
		}
	}
	q.sql += ` ORDER BY created_at DESC, id DESC LIMIT ` + q.arg(limit+1)
	out, err := queryAll(ctx, db, scanBatch, q.sql, q.args...)
	if err != nil {
		return nil, false, fmt.Errorf("find batches: %w", err)
	}
	out, more := storesql.Page(out, limit)
	return out, more, nil
}

// afterCursor adds the condition of a page that continues after the
// team's row id of table (any team's for teamID ""), in (created_at, id)
// order: cmp is "<" for newest first. An id that names no such row is the
// caller's InvalidParam.
func (db *DB) afterCursor(ctx context.Context, q *sqlBuilder, table, what, teamID, id, cmp string) error {
	var created time.Time
	err := db.pool.QueryRow(ctx, `SELECT created_at FROM `+table+` WHERE id = $1 AND ($2 = '' OR team_id = $2)`, id, teamID).Scan(&created)
	if isNoRows(err) {
		return storesql.NoCursor(what, id)
	}
	if err != nil {
		return err
	}
	q.and("(created_at, id) " + cmp + " (" + q.arg(created) + ", " + q.arg(id) + ")")
	return nil
}

// CancelBatch moves an open batch to cancelling and cancels its queued
// tasks, in one transaction. The batch's row is locked first, so a cancel
// and the sweeper's expiry or finish of one batch take turns.
func (db *DB) CancelBatch(ctx context.Context, teamID, id string) (*llmservice.Batch, error) {
	now := db.now()
	var b *llmservice.Batch
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		var err error
		b, err = scanBatch(tx.QueryRow(ctx, `UPDATE batches SET status = 'cancelling', cancelling_at = $1
			WHERE id = $2 AND team_id = $3 AND `+storesql.OpenBatchSQL+` RETURNING `+batchColumns, now, id, teamID))
		if llmservice.ErrorKind(err) == llmservice.NotFound {
			var status string
			if e := tx.QueryRow(ctx, `SELECT status FROM batches WHERE id = $1 AND team_id = $2`, id, teamID).Scan(&status); e != nil {
				if isNoRows(e) {
					return notFound("batch", e)
				}
				return e
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
		return nil, fmt.Errorf("cancel batch %s: %w", id, err)
	}
	return b, nil
}

// ExpireBatch marks an open batch expired and cancels its queued tasks.
func (db *DB) ExpireBatch(ctx context.Context, id string) error {
	now := db.now()
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		var team string
		err := tx.QueryRow(ctx, `UPDATE batches SET expired_at = $1 WHERE id = $2 AND expired_at IS NULL AND `+storesql.OpenBatchSQL+`
			RETURNING team_id`, now, id).Scan(&team)
		if isNoRows(err) {
			return nil // already expired or ended: nothing to do
		}
		if err != nil {
			return err
		}
		_, err = cancelTasksTx(ctx, tx, team, id, "batch_expired", now)
		return err
	})
	if err != nil {
		return fmt.Errorf("expire batch %s: %w", id, err)
	}
	return nil
}

// FinishBatch ends an open batch with no open task: its files, its final
// status and its webhook task are written together or not at all. Two
// replicas finishing one batch queue on its row; the second re-reads it
// ended and gets the Conflict, so files and webhook are written once.
func (db *DB) FinishBatch(ctx context.Context, id string, f llmservice.BatchFinish) (*llmservice.Batch, error) {
	col, err := storesql.FinishColumn(f.Status)
	if err != nil {
		return nil, err
	}
	now := db.now()
	var b *llmservice.Batch
	err = db.withTx(ctx, func(tx pgx.Tx) error {
		var err error
		// expired_at may already hold when expiry began; the final time
		// of an expired batch is when it was marked.
		b, err = scanBatch(tx.QueryRow(ctx, `UPDATE batches SET status = $1, `+col+` = coalesce(`+col+`, $2),
				finalizing_at = coalesce(finalizing_at, $2),
				output_file_id = $3, error_file_id = $4, input_tokens = $5, output_tokens = $6
			WHERE id = $7 AND `+storesql.OpenBatchSQL+` AND NOT `+openTasks+`
			RETURNING `+batchColumns,
			string(f.Status), now, f.OutputFileID, f.ErrorFileID, f.InputTokens, f.OutputTokens, id))
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
		return nil, fmt.Errorf("finish batch %s: %w", id, err)
	}
	return b, nil
}

// FindBatchesToFinish lists open batches of any team with no open task left
// or past their expiry.
func (db *DB) FindBatchesToFinish(ctx context.Context, now time.Time) ([]*llmservice.Batch, error) {
	out, err := queryAll(ctx, db, scanBatch, `SELECT `+batchColumns+` FROM batches
		WHERE `+storesql.OpenBatchSQL+` AND ((expires_at <= $1 AND expired_at IS NULL) OR NOT `+openTasks+`)
		ORDER BY created_at LIMIT 100`, ms(now))
	if err != nil {
		return nil, fmt.Errorf("find batches to finish: %w", err)
	}
	return out, nil
}

// nullIfZero stores a zero time as NULL ("not yet" or "never").
func nullIfZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = ms(t)
	return &t
}

// zeroIfNull reads a nullable time back, NULL as the zero time.
func zeroIfNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func scanBatch(s pgx.Row) (*llmservice.Batch, error) {
	var (
		b                          llmservice.Batch
		status, meta, errs         string
		created                    time.Time
		expires, inProgress, final *time.Time
		completed, failed, expired *time.Time
		cancelling, cancelled      *time.Time
	)
	err := s.Scan(&b.ID, &b.TeamID, &b.KeyID, &b.API, &b.Project, &b.Endpoint, &b.InputFileID, &b.CompletionWindow, &meta,
		&b.WebhookURL, &b.WebhookSecret, &status, &b.Total, &b.OutputFileID, &b.ErrorFileID, &errs, &b.InputTokens, &b.OutputTokens,
		&created, &expires, &inProgress, &final, &completed, &failed, &expired, &cancelling, &cancelled)
	if err != nil {
		if isNoRows(err) {
			return nil, notFound("batch", err)
		}
		return nil, err
	}
	b.Status = llmservice.BatchStatus(status)
	if err := storesql.DecodeBatch(&b, meta, errs); err != nil {
		return nil, err
	}
	b.CreatedAt = created.UTC()
	b.ExpiresAt, b.InProgressAt, b.FinalizingAt = zeroIfNull(expires), zeroIfNull(inProgress), zeroIfNull(final)
	b.CompletedAt, b.FailedAt, b.ExpiredAt = zeroIfNull(completed), zeroIfNull(failed), zeroIfNull(expired)
	b.CancellingAt, b.CancelledAt = zeroIfNull(cancelling), zeroIfNull(cancelled)
	return &b, nil
}
