package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.TaskBrowser = (*DB)(nil)

// FindStandaloneTasks lists tasks without a group through the
// jobs_queue_standalone indexes, newest first.
func (db *DB) FindStandaloneTasks(ctx context.Context, f llmservice.StandaloneTaskFilter) ([]*llmservice.Task, bool, error) {
	limit, err := storesql.StandaloneLimit(f)
	if err != nil {
		return nil, false, fmt.Errorf("find standalone tasks: %w", err)
	}
	var q sqlBuilder
	q.sql = `SELECT ` + taskColumns + ` FROM jobs_queue WHERE grp = '' AND kind = ` + q.arg(f.Kind)
	if f.TeamID != "" {
		q.and("team_id = " + q.arg(f.TeamID))
	}
	if f.Before != "" {
		var created time.Time
		err := db.pool.QueryRow(ctx, `SELECT created_at FROM jobs_queue WHERE id = $1 AND grp = ''`, f.Before).Scan(&created)
		if isNoRows(err) {
			return nil, false, storesql.NoCursor("task", f.Before)
		}
		if err != nil {
			return nil, false, fmt.Errorf("find standalone tasks: %w", err)
		}
		q.and("(created_at, id) < (" + q.arg(created) + ", " + q.arg(f.Before) + ")")
	}
	q.sql += ` ORDER BY created_at DESC, id DESC LIMIT ` + q.arg(limit+1)
	out, err := queryAll(ctx, db, scanTask, q.sql, q.args...)
	if err != nil {
		return nil, false, fmt.Errorf("find standalone tasks: %w", err)
	}
	out, more := storesql.Page(out, limit)
	return out, more, nil
}

// CancelTask cancels a queued standalone task and refunds it in one
// transaction; a worker that claims it later finds it cancelled.
func (db *DB) CancelTask(ctx context.Context, teamID, id, reason string, refund *llmservice.CreditChange) (*llmservice.Task, error) {
	var t *llmservice.Task
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		now := ms(db.now())
		tag, err := tx.Exec(ctx, `UPDATE jobs_queue SET state = 'cancelled', error = $1, finished_at = $2, updated_at = $2
			WHERE id = $3 AND ($4 = '' OR team_id = $4) AND grp = '' AND state = 'queued'`, reason, now, id, teamID)
		if err != nil {
			return err
		}
		if t, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` FROM jobs_queue
			WHERE id = $1 AND ($2 = '' OR team_id = $2) AND grp = ''`, id, teamID)); err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return storesql.TaskNotCancellable(t)
		}
		if refund != nil {
			_, err = addCredits(ctx, tx, *refund, now)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cancel task %s: %w", id, err)
	}
	return t, nil
}
