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

var _ llmservice.TaskStore = (*DB)(nil)

const taskColumns = storesql.TaskColumns

// EnqueueTasks inserts tasks (and applies charge) in one transaction.
func (db *DB) EnqueueTasks(ctx context.Context, tasks []*llmservice.Task, charge *llmservice.CreditChange) error {
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if charge != nil {
			if err := db.addCreditsTx(ctx, tx, charge); err != nil {
				return err
			}
		}
		return db.insertTasksTx(ctx, tx, tasks)
	})
	if err != nil {
		return errorf("enqueue tasks: %w", err)
	}
	return nil
}

// insertTasksTx inserts tasks as queued. INSERT OR IGNORE skips a task whose
// (grp, item_key) exists; a duplicate task ID is still a Conflict, since IDs
// are generated and a clash means a bug, not a retry.
func (db *DB) insertTasksTx(ctx context.Context, tx *sql.Tx, tasks []*llmservice.Task) error {
	if len(tasks) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO jobs_queue (`+taskColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, '', '', NULL, '', ?, ?, 0)
		ON CONFLICT (grp, item_key) WHERE grp <> '' DO NOTHING`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	now := db.now()
	for _, t := range tasks {
		if err := storesql.PrepareTask(t, now); err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, t.ID, t.Kind, t.TeamID, t.KeyID, t.Group, t.Key, t.Seq, t.Payload,
			t.MaxAttempts, toMS(t.RunAfter), toMS(now), toMS(now)); err != nil {
			if isUnique(err) {
				return conflict("task "+t.ID, err)
			}
			return errorf("task %s: %w", t.ID, err)
		}
	}
	return nil
}

// ClaimTask takes the due task with the earliest run_after in one UPDATE, so
// two workers can never take the same one: the single writer connection
// serializes claims, and the subquery reads the claim's own snapshot.
func (db *DB) ClaimTask(ctx context.Context, c llmservice.TaskClaim) (*llmservice.Task, error) {
	now := db.now()
	// The first term is jobs_queue_due's predicate, verbatim, so that the
	// planner uses that index.
	where := []string{`(state = 'queued' OR state = 'running')`, `run_after <= ?`}
	args := []any{c.Lease, toMS(now.Add(c.For)), toMS(now), toMS(now)}
	if len(c.Kinds) > 0 {
		where = append(where, `kind IN (`+placeholders(len(c.Kinds))+`)`)
		for _, k := range c.Kinds {
			args = append(args, k)
		}
	}
	if len(c.SkipTeams) > 0 {
		where = append(where, `team_id NOT IN (`+placeholders(len(c.SkipTeams))+`)`)
		for _, t := range c.SkipTeams {
			args = append(args, t)
		}
	}
	var task *llmservice.Task
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		task, err = scanTask(tx.QueryRowContext(ctx, `UPDATE jobs_queue
			SET state = 'running', attempts = attempts + 1, lease = ?, run_after = ?, updated_at = ?
			WHERE id = (SELECT id FROM jobs_queue WHERE `+strings.Join(where, " AND ")+`
				ORDER BY run_after LIMIT 1)
			RETURNING `+taskColumns, args...))
		return err
	})
	if err != nil {
		if llmservice.ErrorKind(err) == llmservice.NotFound {
			return nil, err
		}
		return nil, errorf("claim task: %w", err)
	}
	return task, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// ExtendTaskLease moves a running task's lease end to now+d.
func (db *DB) ExtendTaskLease(ctx context.Context, id, lease string, d time.Duration) error {
	now := db.now()
	res, err := db.writer.ExecContext(ctx, `UPDATE jobs_queue SET run_after = ?, updated_at = ?
		WHERE id = ? AND lease = ? AND state = 'running'`, toMS(now.Add(d)), toMS(now), id, lease)
	if err == nil {
		err = leaseHeld(res, id)
	}
	if err != nil {
		return errorf("extend lease of task %s: %w", id, err)
	}
	return nil
}

// leaseHeld turns "no row changed" into the Conflict of a lost lease.
func leaseHeld(res sql.Result, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return storesql.LeaseLost(id)
	}
	return nil
}

// CompleteTask writes the result and the final state, and applies the
// credit change, in one transaction conditional on the lease.
func (db *DB) CompleteTask(ctx context.Context, id, lease string, c llmservice.TaskCompletion) error {
	if err := storesql.CheckCompletion(c.State); err != nil {
		return err
	}
	now := toMS(db.now())
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs_queue SET state = ?, result = ?, error = ?, finished_at = ?, updated_at = ?
			WHERE id = ? AND lease = ? AND state = 'running'`, string(c.State), c.Result, c.Error, now, now, id, lease)
		if err != nil {
			return err
		}
		if err := leaseHeld(res, id); err != nil {
			return err
		}
		if c.Credit != nil {
			return db.addCreditsTx(ctx, tx, c.Credit)
		}
		return nil
	})
	if err != nil {
		return errorf("complete task %s: %w", id, err)
	}
	return nil
}

// RetryTask queues a running task again at r.RunAfter, unless its group was
// cancelled meanwhile: then it ends cancelled, so that a cancel cannot be
// undone by a retry.
func (db *DB) RetryTask(ctx context.Context, id, lease string, r llmservice.TaskRetry) error {
	now := toMS(db.now())
	back := 0
	if r.Snooze {
		back = 1
	}
	res, err := db.writer.ExecContext(ctx, `UPDATE jobs_queue SET
			state = CASE WHEN cancel <> '' THEN 'cancelled' ELSE 'queued' END,
			error = CASE WHEN cancel <> '' THEN cancel ELSE ? END,
			finished_at = CASE WHEN cancel <> '' THEN ? ELSE 0 END,
			attempts = max(attempts - ?, 0), run_after = ?, updated_at = ?
		WHERE id = ? AND lease = ? AND state = 'running'`,
		r.Error, now, back, toMS(r.RunAfter), now, id, lease)
	if err == nil {
		err = leaseHeld(res, id)
	}
	if err != nil {
		return errorf("retry task %s: %w", id, err)
	}
	return nil
}

// FindTaskByID returns a team's task.
func (db *DB) FindTaskByID(ctx context.Context, teamID, id string) (*llmservice.Task, error) {
	t, err := scanTask(db.reader.QueryRowContext(ctx, `SELECT `+taskColumns+` FROM jobs_queue WHERE id = ? AND team_id = ?`, id, teamID))
	if err != nil {
		return nil, errorf("find task %s: %w", id, err)
	}
	return t, nil
}

// FindTasks lists a group's tasks in seq order.
func (db *DB) FindTasks(ctx context.Context, f llmservice.TaskFilter) ([]*llmservice.Task, error) {
	if f.TeamID == "" || f.Group == "" {
		return nil, llmservice.Errorf(llmservice.Invalid, "find tasks: team and group are required")
	}
	q := `SELECT ` + taskColumns + ` FROM jobs_queue WHERE grp = ? AND team_id = ? AND seq > ?`
	args := []any{f.Group, f.TeamID, f.AfterSeq}
	if len(f.States) > 0 {
		q += ` AND state IN (` + placeholders(len(f.States)) + `)`
		for _, s := range f.States {
			args = append(args, string(s))
		}
	}
	q += ` ORDER BY seq`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, errorf("find tasks: %w", err)
	}
	defer rows.Close()
	var out []*llmservice.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, errorf("find tasks: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CountTasks counts a group's tasks by state.
func (db *DB) CountTasks(ctx context.Context, teamID, group string) (llmservice.TaskCounts, error) {
	var c llmservice.TaskCounts
	rows, err := db.reader.QueryContext(ctx, `SELECT state, count(*) FROM jobs_queue WHERE grp = ? AND team_id = ? GROUP BY state`, group, teamID)
	if err != nil {
		return c, errorf("count tasks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			state string
			n     int
		)
		if err := rows.Scan(&state, &n); err != nil {
			return c, errorf("count tasks: %w", err)
		}
		storesql.AddTaskCount(&c, state, n)
	}
	return c, rows.Err()
}

// QueueDepth counts open tasks by kind and state through the index of
// open tasks (jobs_queue_due, whose predicate the query repeats).
func (db *DB) QueueDepth(ctx context.Context) ([]llmservice.QueueDepth, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT kind, state, count(*) FROM jobs_queue INDEXED BY jobs_queue_due
		WHERE state = 'queued' OR state = 'running' GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return nil, errorf("queue depth: %w", err)
	}
	defer rows.Close()
	var out []llmservice.QueueDepth
	for rows.Next() {
		var d llmservice.QueueDepth
		if err := rows.Scan(&d.Kind, &d.State, &d.Tasks); err != nil {
			return nil, errorf("queue depth: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, errorf("queue depth: %w", err)
	}
	return out, nil
}

// GroupOpen looks for one open task of the group through the (grp, state)
// index.
func (db *DB) GroupOpen(ctx context.Context, teamID, group string) (bool, error) {
	var one int
	err := db.reader.QueryRowContext(ctx, `SELECT 1 FROM jobs_queue WHERE grp = ? AND state IN ('queued', 'running') AND team_id = ? LIMIT 1`,
		group, teamID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, errorf("group open: %w", err)
	}
	return true, nil
}

// CancelTasks cancels a group's queued tasks and flags its running ones.
func (db *DB) CancelTasks(ctx context.Context, teamID, group, reason string) (int, error) {
	var n int
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = cancelTasksTx(ctx, tx, teamID, group, reason, toMS(db.now()))
		return err
	})
	if err != nil {
		return 0, errorf("cancel tasks of %s: %w", group, err)
	}
	return n, nil
}

func cancelTasksTx(ctx context.Context, tx *sql.Tx, teamID, group, reason string, now int64) (int, error) {
	if group == "" {
		return 0, llmservice.Errorf(llmservice.Invalid, "cancel tasks: group is required")
	}
	res, err := tx.ExecContext(ctx, `UPDATE jobs_queue SET state = 'cancelled', error = ?, finished_at = ?, updated_at = ?
		WHERE grp = ? AND team_id = ? AND state = 'queued'`, reason, now, now, group, teamID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE jobs_queue SET cancel = ?, updated_at = ?
		WHERE grp = ? AND team_id = ? AND state = 'running' AND cancel = ''`, reason, now, group, teamID); err != nil {
		return 0, err
	}
	return int(n), nil
}

// PurgeTasks deletes finished standalone tasks older than before. Grouped
// tasks go with their group (a batch keeps its items' results).
func (db *DB) PurgeTasks(ctx context.Context, before time.Time) (int, error) {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM jobs_queue
		WHERE grp = '' AND state <> 'queued' AND state <> 'running' AND finished_at < ?`, toMS(before))
	if err != nil {
		return 0, errorf("purge tasks: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// addCreditsTx is AddCredits inside a caller's transaction, with the same
// guard: the balance never goes below zero.
func (db *DB) addCreditsTx(ctx context.Context, tx *sql.Tx, c *llmservice.CreditChange) error {
	var balance int64
	err := tx.QueryRowContext(ctx,
		`UPDATE teams SET credits = credits + ? WHERE id = ? AND credits + ? >= 0 RETURNING credits`,
		c.Amount, c.TeamID, c.Amount).Scan(&balance)
	if errors.Is(err, sql.ErrNoRows) {
		var exists int
		if e := tx.QueryRowContext(ctx, `SELECT 1 FROM teams WHERE id = ?`, c.TeamID).Scan(&exists); errors.Is(e, sql.ErrNoRows) {
			return notFound("team", e)
		}
		return &llmservice.Error{Kind: llmservice.PaymentRequired, Code: "insufficient_credits", Message: insufficientCredits}
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO credit_movements (team_id, amount, balance_after, reason, ref, time) VALUES (?, ?, ?, ?, ?, ?)`,
		c.TeamID, c.Amount, balance, c.Reason, c.Ref, toMS(db.now()))
	return err
}

func scanTask(s scanner) (*llmservice.Task, error) {
	var (
		t                                    llmservice.Task
		state                                string
		runAfter, created, updated, finished int64
	)
	err := s.Scan(&t.ID, &t.Kind, &t.TeamID, &t.KeyID, &t.Group, &t.Key, &t.Seq, &t.Payload, &state, &t.Attempts,
		&t.MaxAttempts, &runAfter, &t.Lease, &t.Cancel, &t.Result, &t.Error, &created, &updated, &finished)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("task", err)
		}
		return nil, err
	}
	t.State = llmservice.TaskState(state)
	t.RunAfter, t.CreatedAt, t.UpdatedAt = fromMS(runAfter), fromMS(created), fromMS(updated)
	if finished > 0 {
		t.FinishedAt = fromMS(finished)
	}
	return &t, nil
}
