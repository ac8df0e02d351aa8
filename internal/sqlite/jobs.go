package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.CreditJobStore = (*DB)(nil)

const creditJobColumns = `id, team_id, user_id, job_type, status, metadata, error_message, credit_applied, created_at, started_at, completed_at`

// CreateCreditJob inserts j, stamping CreatedAt when it is zero.
func (db *DB) CreateCreditJob(ctx context.Context, j *llmservice.CreditJob) error {
	if j.CreatedAt.IsZero() {
		j.CreatedAt = db.now()
	}
	meta, err := storesql.EncodeCreditJobMeta(j.Metadata)
	if err != nil {
		return errorf("create job: %w", err)
	}
	_, err = db.writer.ExecContext(ctx,
		`INSERT INTO credit_jobs (`+creditJobColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.ID, j.TeamID, j.UserID, j.JobType, j.Status, meta, j.ErrorMessage, j.CreditApplied,
		toMS(j.CreatedAt), toNullMS(j.StartedAt), toNullMS(j.CompletedAt))
	if isUnique(err) {
		return errorf("create job %s: %w", j.ID, conflict("job", err))
	}
	if err != nil {
		return errorf("create job %s: %w", j.ID, err)
	}
	return nil
}

// FindCreditJob reads the job by its ID alone and only then compares teams,
// so that another team's job is told apart from a missing one (403, not
// 404, as the jobs API documents) without handing out any of it.
func (db *DB) FindCreditJob(ctx context.Context, teamID, id string) (*llmservice.CreditJob, error) {
	j, err := findCreditJob(ctx, db.reader, teamID, id)
	if err != nil {
		return nil, errorf("find job %s: %w", id, err)
	}
	return j, nil
}

// creditJobQueryer is a pool or a transaction.
type creditJobQueryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func findCreditJob(ctx context.Context, q creditJobQueryer, teamID, id string) (*llmservice.CreditJob, error) {
	j, err := scanCreditJob(q.QueryRowContext(ctx, `SELECT `+creditJobColumns+` FROM credit_jobs WHERE id = ?`, id))
	if err != nil {
		return nil, err
	}
	if err := storesql.CheckCreditJobTeam(j, teamID); err != nil {
		return nil, err
	}
	return j, nil
}

// AddCreditJobCall records c and starts a pending job in one transaction.
func (db *DB) AddCreditJobCall(ctx context.Context, c *llmservice.CreditJobCall) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = db.now()
	}
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := findCreditJob(ctx, tx, c.TeamID, c.JobID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE credit_jobs SET status = ?, started_at = ? WHERE id = ? AND status = ?`,
			llmservice.CreditJobInProgress, toMS(c.CreatedAt), c.JobID, llmservice.CreditJobPending); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO credit_job_calls (id, job_id, team_id, model_group, model, purpose, stream, prompt_tokens,
			completion_tokens, cost, latency_ms, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.JobID, c.TeamID, c.ModelGroup, c.Model, c.Purpose, c.Stream, c.PromptTokens,
			c.CompletionTokens, int64(c.Cost), c.LatencyMS, c.Error, toMS(c.CreatedAt))
		if isUnique(err) {
			return conflict("job call", err)
		}
		return err
	})
	if err != nil {
		return errorf("add call to job %s: %w", c.JobID, err)
	}
	return nil
}

// FindCreditJobCalls lists a job's calls in the order they were recorded.
func (db *DB) FindCreditJobCalls(ctx context.Context, teamID, jobID string) ([]*llmservice.CreditJobCall, error) {
	rows, err := db.reader.QueryContext(ctx,
		`SELECT id, job_id, team_id, model_group, model, purpose, stream, prompt_tokens, completion_tokens,
		cost, latency_ms, error, created_at FROM credit_job_calls WHERE job_id = ? AND team_id = ? ORDER BY rowid`,
		jobID, teamID)
	if err != nil {
		return nil, errorf("find calls of job %s: %w", jobID, err)
	}
	defer rows.Close()
	var out []*llmservice.CreditJobCall
	for rows.Next() {
		var (
			c       llmservice.CreditJobCall
			cost    int64
			created int64
		)
		if err := rows.Scan(&c.ID, &c.JobID, &c.TeamID, &c.ModelGroup, &c.Model, &c.Purpose, &c.Stream,
			&c.PromptTokens, &c.CompletionTokens, &cost, &c.LatencyMS, &c.Error, &created); err != nil {
			return nil, errorf("find calls of job %s: %w", jobID, err)
		}
		c.Cost = llmservice.Nanos(cost)
		c.CreatedAt = fromMS(created)
		out = append(out, &c)
	}
	return out, rows.Err()
}

// CompleteCreditJob closes a job and, for a completed one, spends the team's
// credit in the same transaction: two concurrent completions cannot both
// charge, and a refused charge leaves the job open, as if nothing happened.
// The credit movement is the same one AddCredits writes (reason "job", the
// job ID as ref), so the credit ledger shows every job that was paid for.
func (db *DB) CompleteCreditJob(ctx context.Context, teamID, id string, c llmservice.CreditJobCompletion) (*llmservice.CreditJob, int64, error) {
	if err := storesql.CheckCreditJobCompletion(c); err != nil {
		return nil, 0, err
	}
	now := db.now()
	if !c.Now.IsZero() {
		now = fromMS(toMS(c.Now))
	}
	var (
		j       *llmservice.CreditJob
		balance int64
	)
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		if j, err = findCreditJob(ctx, tx, teamID, id); err != nil {
			return err
		}
		meta, err := storesql.CloseCreditJob(j, c, now)
		if err != nil {
			return err
		}
		if j.CreditApplied {
			if balance, err = chargeCreditJob(ctx, tx, teamID, id, now); err != nil {
				return err
			}
		} else if err = tx.QueryRowContext(ctx, `SELECT credits FROM teams WHERE id = ?`, teamID).Scan(&balance); errors.Is(err, sql.ErrNoRows) {
			// A deleted team's job may still be closed as failed.
			balance, err = 0, nil
		} else if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE credit_jobs SET status = ?, error_message = ?, metadata = ?, credit_applied = ?, completed_at = ? WHERE id = ?`,
			j.Status, j.ErrorMessage, meta, j.CreditApplied, toMS(now), id)
		return err
	})
	if err != nil {
		return nil, 0, errorf("complete job %s: %w", id, err)
	}
	return j, balance, nil
}

// chargeCreditJob takes one credit, guarded in the UPDATE itself like
// AddCredits, and records the movement.
func chargeCreditJob(ctx context.Context, tx *sql.Tx, teamID, jobID string, now time.Time) (int64, error) {
	var balance int64
	err := tx.QueryRowContext(ctx,
		`UPDATE teams SET credits = credits - 1 WHERE id = ? AND credits >= 1 RETURNING credits`, teamID).Scan(&balance)
	if errors.Is(err, sql.ErrNoRows) {
		var exists int
		if e := tx.QueryRowContext(ctx, `SELECT 1 FROM teams WHERE id = ?`, teamID).Scan(&exists); errors.Is(e, sql.ErrNoRows) {
			return 0, notFound("team", e)
		}
		return 0, &llmservice.Error{Kind: llmservice.PaymentRequired, Code: "insufficient_credits", Message: insufficientCredits}
	}
	if err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO credit_movements (team_id, amount, balance_after, reason, ref, time) VALUES (?, -1, ?, 'job', ?, ?)`,
		teamID, balance, jobID, toMS(now))
	return balance, err
}

func scanCreditJob(s scanner) (*llmservice.CreditJob, error) {
	var (
		j                  llmservice.CreditJob
		meta               string
		created            int64
		started, completed sql.NullInt64
	)
	if err := s.Scan(&j.ID, &j.TeamID, &j.UserID, &j.JobType, &j.Status, &meta, &j.ErrorMessage,
		&j.CreditApplied, &created, &started, &completed); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, storesql.CreditJobNotFound(err)
		}
		return nil, err
	}
	j.Metadata = storesql.DecodeCreditJobMeta(meta)
	j.CreatedAt = fromMS(created)
	j.StartedAt = fromNullMS(started)
	j.CompletedAt = fromNullMS(completed)
	return &j, nil
}
