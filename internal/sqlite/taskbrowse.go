package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
	q := `SELECT ` + taskColumns + ` FROM jobs_queue WHERE grp = '' AND kind = ?`
	args := []any{f.Kind}
	if f.TeamID != "" {
		q += ` AND team_id = ?`
		args = append(args, f.TeamID)
	}
	if f.Before != "" {
		var created int64
		err := db.reader.QueryRowContext(ctx, `SELECT created_at FROM jobs_queue WHERE id = ? AND grp = ''`, f.Before).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, storesql.NoCursor("task", f.Before)
		}
		if err != nil {
			return nil, false, fmt.Errorf("find standalone tasks: %w", err)
		}
		q += ` AND (created_at, id) < (?, ?)`
		args = append(args, created, f.Before)
	}
	rows, err := db.reader.QueryContext(ctx, q+` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, false, fmt.Errorf("find standalone tasks: %w", err)
	}
	defer rows.Close()
	var out []*llmservice.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, false, fmt.Errorf("find standalone tasks: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("find standalone tasks: %w", err)
	}
	out, more := storesql.Page(out, limit)
	return out, more, nil
}

// CancelTask cancels a queued standalone task and refunds it in one
// transaction; a worker that claims it later finds it cancelled.
func (db *DB) CancelTask(ctx context.Context, teamID, id, reason string, refund *llmservice.CreditChange) (*llmservice.Task, error) {
	var t *llmservice.Task
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		now := toMS(db.now())
		res, err := tx.ExecContext(ctx, `UPDATE jobs_queue SET state = 'cancelled', error = ?, finished_at = ?, updated_at = ?
			WHERE id = ? AND (? = '' OR team_id = ?) AND grp = '' AND state = 'queued'`, reason, now, now, id, teamID, teamID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if t, err = scanTask(tx.QueryRowContext(ctx, `SELECT `+taskColumns+` FROM jobs_queue
			WHERE id = ? AND (? = '' OR team_id = ?) AND grp = ''`, id, teamID, teamID)); err != nil {
			return err
		}
		if n == 0 {
			return storesql.TaskNotCancellable(t)
		}
		if refund != nil {
			return db.addCreditsTx(ctx, tx, refund)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cancel task %s: %w", id, err)
	}
	return t, nil
}
