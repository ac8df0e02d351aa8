package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.TaskStore = (*DB)(nil)

const taskColumns = storesql.TaskColumns

// enqueueChunk bounds the rows of one INSERT: a batch of 50,000 items goes
// in as a few statements rather than one message of its whole payload.
const enqueueChunk = 1000

// EnqueueTasks inserts tasks and applies charge in one transaction. The
// tasks go in first, so that the team's row, which every charge of the
// team waits for, stays locked only for the end of the transaction.
func (db *DB) EnqueueTasks(ctx context.Context, tasks []*llmservice.Task, charge *llmservice.CreditChange) error {
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		if err := db.insertTasksTx(ctx, tx, tasks); err != nil {
			return err
		}
		if charge != nil {
			_, err := addCredits(ctx, tx, *charge, db.now())
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enqueue tasks: %w", err)
	}
	return nil
}

// insertTasksTx inserts tasks as queued, a chunk at a time through unnest.
// ON CONFLICT skips a task whose (grp, item_key) exists, even one repeated
// within the chunk; a duplicate task ID is still a Conflict, since IDs are
// generated and a clash means a bug, not a retry.
func (db *DB) insertTasksTx(ctx context.Context, tx pgx.Tx, tasks []*llmservice.Task) error {
	now := db.now()
	for _, t := range tasks {
		if err := storesql.PrepareTask(t, now); err != nil {
			return err
		}
		t.RunAfter = ms(t.RunAfter)
	}
	for start := 0; start < len(tasks); start += enqueueChunk {
		chunk := tasks[start:min(start+enqueueChunk, len(tasks))]
		var (
			ids, kinds, teams, keys, groups, items = make([]string, len(chunk)), make([]string, len(chunk)),
				make([]string, len(chunk)), make([]string, len(chunk)), make([]string, len(chunk)), make([]string, len(chunk))
			seqs, maxAttempts = make([]int32, len(chunk)), make([]int32, len(chunk))
			payloads          = make([][]byte, len(chunk))
			runAfter          = make([]time.Time, len(chunk))
		)
		for i, t := range chunk {
			ids[i], kinds[i], teams[i], keys[i], groups[i], items[i] = t.ID, t.Kind, t.TeamID, t.KeyID, t.Group, t.Key
			seqs[i], maxAttempts[i], payloads[i], runAfter[i] = int32(t.Seq), int32(t.MaxAttempts), t.Payload, t.RunAfter
		}
		_, err := tx.Exec(ctx, `INSERT INTO jobs_queue (id, kind, team_id, key_id, grp, item_key, seq, payload,
				max_attempts, run_after, state, created_at, updated_at)
			SELECT u.*, 'queued', $11::timestamptz, $11::timestamptz
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::integer[],
				$8::bytea[], $9::integer[], $10::timestamptz[]) AS u
			ON CONFLICT (grp, item_key) WHERE grp <> '' DO NOTHING`,
			ids, kinds, teams, keys, groups, items, seqs, payloads, maxAttempts, runAfter, now)
		if isUnique(err) {
			return conflict("task", err)
		}
		if err != nil {
			return fmt.Errorf("insert tasks: %w", err)
		}
	}
	return nil
}

// ClaimTask takes the due task with the earliest run_after in one UPDATE.
// FOR UPDATE SKIP LOCKED makes replicas that claim at once each lock a
// different row instead of queueing behind one: a row another claim holds
// is passed over, and one it already took is no longer due when re-read.
func (db *DB) ClaimTask(ctx context.Context, c llmservice.TaskClaim) (*llmservice.Task, error) {
	now := db.now()
	// The first term is jobs_queue_due's predicate, verbatim, so that the
	// planner uses that index.
	q := sqlBuilder{args: []any{c.Lease, ms(now.Add(c.For)), now}}
	q.sql = `(state = 'queued' OR state = 'running') AND run_after <= ` + q.arg(now)
	if len(c.Kinds) > 0 {
		q.and("kind = ANY(" + q.arg(c.Kinds) + "::text[])")
	}
	if len(c.SkipTeams) > 0 {
		q.and("team_id <> ALL(" + q.arg(c.SkipTeams) + "::text[])")
	}
	task, err := scanTask(db.pool.QueryRow(ctx, `UPDATE jobs_queue
		SET state = 'running', attempts = attempts + 1, lease = $1, run_after = $2, updated_at = $3
		WHERE id = (SELECT id FROM jobs_queue WHERE `+q.sql+`
			ORDER BY run_after LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+taskColumns, q.args...))
	if err != nil {
		if llmservice.ErrorKind(err) == llmservice.NotFound {
			return nil, err
		}
		return nil, fmt.Errorf("claim task: %w", err)
	}
	return task, nil
}

// ExtendTaskLease moves a running task's lease end to now+d.
func (db *DB) ExtendTaskLease(ctx context.Context, id, lease string, d time.Duration) error {
	now := db.now()
	tag, err := db.pool.Exec(ctx, `UPDATE jobs_queue SET run_after = $1, updated_at = $2
		WHERE id = $3 AND lease = $4 AND state = 'running'`, ms(now.Add(d)), now, id, lease)
	if err == nil && tag.RowsAffected() == 0 {
		err = storesql.LeaseLost(id)
	}
	if err != nil {
		return fmt.Errorf("extend lease of task %s: %w", id, err)
	}
	return nil
}

// CompleteTask writes the result and the final state, and applies the
// credit change, in one transaction conditional on the lease. The task's
// row is locked before the team's, as everywhere.
func (db *DB) CompleteTask(ctx context.Context, id, lease string, c llmservice.TaskCompletion) error {
	if err := storesql.CheckCompletion(c.State); err != nil {
		return err
	}
	now := db.now()
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE jobs_queue SET state = $1, result = $2, error = $3, finished_at = $4, updated_at = $4
			WHERE id = $5 AND lease = $6 AND state = 'running'`, string(c.State), c.Result, c.Error, now, id, lease)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return storesql.LeaseLost(id)
		}
		if c.Credit != nil {
			_, err := addCredits(ctx, tx, *c.Credit, now)
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("complete task %s: %w", id, err)
	}
	return nil
}

// RetryTask queues a running task again at r.RunAfter, unless its group was
// cancelled meanwhile: then it ends cancelled, so that a cancel cannot be
// undone by a retry.
func (db *DB) RetryTask(ctx context.Context, id, lease string, r llmservice.TaskRetry) error {
	now := db.now()
	back := 0
	if r.Snooze {
		back = 1
	}
	tag, err := db.pool.Exec(ctx, `UPDATE jobs_queue SET
			state = CASE WHEN cancel <> '' THEN 'cancelled' ELSE 'queued' END,
			error = CASE WHEN cancel <> '' THEN cancel ELSE $1 END,
			finished_at = CASE WHEN cancel <> '' THEN $2::timestamptz END,
			attempts = greatest(attempts - $3, 0), run_after = $4, updated_at = $2
		WHERE id = $5 AND lease = $6 AND state = 'running'`,
		r.Error, now, back, ms(r.RunAfter), id, lease)
	if err == nil && tag.RowsAffected() == 0 {
		err = storesql.LeaseLost(id)
	}
	if err != nil {
		return fmt.Errorf("retry task %s: %w", id, err)
	}
	return nil
}

// FindTaskByID returns a team's task.
func (db *DB) FindTaskByID(ctx context.Context, teamID, id string) (*llmservice.Task, error) {
	t, err := scanTask(db.pool.QueryRow(ctx, `SELECT `+taskColumns+` FROM jobs_queue WHERE id = $1 AND team_id = $2`, id, teamID))
	if err != nil {
		return nil, fmt.Errorf("find task %s: %w", id, err)
	}
	return t, nil
}

// FindTasks lists a group's tasks in seq order.
func (db *DB) FindTasks(ctx context.Context, f llmservice.TaskFilter) ([]*llmservice.Task, error) {
	if f.TeamID == "" || f.Group == "" {
		return nil, llmservice.Errorf(llmservice.Invalid, "find tasks: team and group are required")
	}
	var q sqlBuilder
	q.sql = `SELECT ` + taskColumns + ` FROM jobs_queue WHERE grp = ` + q.arg(f.Group) + ` AND team_id = ` + q.arg(f.TeamID)
	q.and("seq > " + q.arg(f.AfterSeq))
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, s := range f.States {
			states[i] = string(s)
		}
		q.and("state = ANY(" + q.arg(states) + "::text[])")
	}
	q.sql += ` ORDER BY seq`
	if f.Limit > 0 {
		q.sql += ` LIMIT ` + q.arg(f.Limit)
	}
	out, err := queryAll(ctx, db, scanTask, q.sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("find tasks: %w", err)
	}
	return out, nil
}

// CountTasks counts a group's tasks by state.
func (db *DB) CountTasks(ctx context.Context, teamID, group string) (llmservice.TaskCounts, error) {
	var c llmservice.TaskCounts
	rows, err := db.pool.Query(ctx, `SELECT state, count(*) FROM jobs_queue WHERE grp = $1 AND team_id = $2 GROUP BY state`, group, teamID)
	if err != nil {
		return c, fmt.Errorf("count tasks: %w", err)
	}
	var (
		state string
		n     int
	)
	_, err = pgx.ForEachRow(rows, []any{&state, &n}, func() error {
		storesql.AddTaskCount(&c, state, n)
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("count tasks: %w", err)
	}
	return c, nil
}

// QueueDepth counts open tasks by kind and state (the partial index of
// open tasks serves the predicate).
func (db *DB) QueueDepth(ctx context.Context) ([]llmservice.QueueDepth, error) {
	rows, err := db.pool.Query(ctx, `SELECT kind, state, count(*) FROM jobs_queue
		WHERE state = 'queued' OR state = 'running' GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	var (
		d   llmservice.QueueDepth
		out []llmservice.QueueDepth
	)
	_, err = pgx.ForEachRow(rows, []any{&d.Kind, &d.State, &d.Tasks}, func() error {
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	return out, nil
}

// GroupOpen looks for one open task of the group through the (grp, state)
// index.
func (db *DB) GroupOpen(ctx context.Context, teamID, group string) (bool, error) {
	var open bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM jobs_queue
		WHERE grp = $1 AND state IN ('queued', 'running') AND team_id = $2)`, group, teamID).Scan(&open)
	if err != nil {
		return false, fmt.Errorf("group open: %w", err)
	}
	return open, nil
}

// CancelTasks cancels a group's queued tasks and flags its running ones.
func (db *DB) CancelTasks(ctx context.Context, teamID, group, reason string) (int, error) {
	var n int
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = cancelTasksTx(ctx, tx, teamID, group, reason, db.now())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("cancel tasks of %s: %w", group, err)
	}
	return n, nil
}

// cancelTasksTx locks the group's rows in ID order before changing them,
// so that two cancels of one group (or a cancel and an expiry) take their
// locks in the same order and cannot deadlock. A row a claim holds is
// waited for, and then re-read: if the claim took it, the second statement
// flags it instead.
func cancelTasksTx(ctx context.Context, tx pgx.Tx, teamID, group, reason string, now time.Time) (int, error) {
	if group == "" {
		return 0, llmservice.Errorf(llmservice.Invalid, "cancel tasks: group is required")
	}
	tag, err := tx.Exec(ctx, `UPDATE jobs_queue SET state = 'cancelled', error = $1, finished_at = $2, updated_at = $2
		WHERE id IN (SELECT id FROM jobs_queue WHERE grp = $3 AND team_id = $4 AND state = 'queued' ORDER BY id FOR UPDATE)
			AND state = 'queued'`, reason, now, group, teamID)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE jobs_queue SET cancel = $1, updated_at = $2
		WHERE id IN (SELECT id FROM jobs_queue WHERE grp = $3 AND team_id = $4 AND state = 'running' AND cancel = '' ORDER BY id FOR UPDATE)
			AND state = 'running'`, reason, now, group, teamID); err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// PurgeTasks deletes finished standalone tasks older than before. Grouped
// tasks go with their group (a batch keeps its items' results).
func (db *DB) PurgeTasks(ctx context.Context, before time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM jobs_queue
		WHERE grp = '' AND state <> 'queued' AND state <> 'running' AND finished_at < $1`, ms(before))
	if err != nil {
		return 0, fmt.Errorf("purge tasks: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// sqlBuilder builds a statement whose conditions depend on a filter,
// numbering its parameters as it goes.
type sqlBuilder struct {
	sql  string
	args []any
}

// arg adds v as the next parameter and returns its placeholder.
func (q *sqlBuilder) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// and appends a condition, whose values were added with arg.
func (q *sqlBuilder) and(cond string) { q.sql += " AND " + cond }

func scanTask(s pgx.Row) (*llmservice.Task, error) {
	var (
		t                          llmservice.Task
		state                      string
		runAfter, created, updated time.Time
		finished                   *time.Time
	)
	err := s.Scan(&t.ID, &t.Kind, &t.TeamID, &t.KeyID, &t.Group, &t.Key, &t.Seq, &t.Payload, &state, &t.Attempts,
		&t.MaxAttempts, &runAfter, &t.Lease, &t.Cancel, &t.Result, &t.Error, &created, &updated, &finished)
	if err != nil {
		if isNoRows(err) {
			return nil, notFound("task", err)
		}
		return nil, err
	}
	t.State = llmservice.TaskState(state)
	t.RunAfter, t.CreatedAt, t.UpdatedAt = runAfter.UTC(), created.UTC(), updated.UTC()
	if finished != nil {
		t.FinishedAt = finished.UTC()
	}
	return &t, nil
}
