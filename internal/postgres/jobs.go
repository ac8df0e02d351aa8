package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.CreditJobStore = (*DB)(nil)

const creditJobColumns = `id, team_id, user_id, job_type, status, metadata, error_message, credit_applied, created_at, started_at, completed_at`

const creditJobCallColumns = `id, job_id, team_id, model_group, model, purpose, stream, prompt_tokens,
	completion_tokens, cost, latency_ms, error, created_at`

// CreateCreditJob inserts j, stamping CreatedAt when it is zero.
func (db *DB) CreateCreditJob(ctx context.Context, j *llmservice.CreditJob) error {
	if j.CreatedAt.IsZero() {
		j.CreatedAt = db.now()
	}
	j.CreatedAt, j.StartedAt, j.CompletedAt = ms(j.CreatedAt), msOrNil(j.StartedAt), msOrNil(j.CompletedAt)
	meta, err := storesql.EncodeCreditJobMeta(j.Metadata)
	if err != nil {
		return fmt.Errorf("create job: %w", err)
	}
	_, err = db.pool.Exec(ctx,
		`INSERT INTO credit_jobs (`+creditJobColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		j.ID, j.TeamID, j.UserID, j.JobType, j.Status, meta, j.ErrorMessage, j.CreditApplied,
		j.CreatedAt, j.StartedAt, j.CompletedAt)
	if isUnique(err) {
		err = conflict("job", err)
	}
	if err != nil {
		return fmt.Errorf("create job %s: %w", j.ID, err)
	}
	return nil
}

// FindCreditJob reads the job by its ID alone and only then compares teams,
// so that another team's job is told apart from a missing one (403, not
// 404, as the jobs API documents) without handing out any of it.
func (db *DB) FindCreditJob(ctx context.Context, teamID, id string) (*llmservice.CreditJob, error) {
	j, err := findCreditJob(ctx, db.pool, teamID, id, "")
	if err != nil {
		return nil, fmt.Errorf("find job %s: %w", id, err)
	}
	return j, nil
}

// rowQueryer is a pool or a transaction.
type rowQueryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// findCreditJob reads job id of teamID; lock is "" or a locking clause
// such as "FOR UPDATE".
func findCreditJob(ctx context.Context, q rowQueryer, teamID, id, lock string) (*llmservice.CreditJob, error) {
	j, err := scanCreditJob(q.QueryRow(ctx, `SELECT `+creditJobColumns+` FROM credit_jobs WHERE id = $1 `+lock, id))
	if err != nil {
		return nil, err
	}
	if err := storesql.CheckCreditJobTeam(j, teamID); err != nil {
		return nil, err
	}
	return j, nil
}

// AddCreditJobCall records c and starts a pending job in one transaction.
// The start is a guarded UPDATE, so a job a replica is closing meanwhile
// is left as that replica leaves it.
func (db *DB) AddCreditJobCall(ctx context.Context, c *llmservice.CreditJobCall) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = db.now()
	}
	c.CreatedAt = ms(c.CreatedAt)
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := findCreditJob(ctx, tx, c.TeamID, c.JobID, ""); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx,
			`UPDATE credit_jobs SET status = $1, started_at = $2 WHERE id = $3 AND status = $4`,
			llmservice.CreditJobInProgress, c.CreatedAt, c.JobID, llmservice.CreditJobPending); err != nil {
			return err
		}
		_, err := tx.Exec(ctx,
			`INSERT INTO credit_job_calls (`+creditJobCallColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			c.ID, c.JobID, c.TeamID, c.ModelGroup, c.Model, c.Purpose, c.Stream, c.PromptTokens,
			c.CompletionTokens, int64(c.Cost), c.LatencyMS, c.Error, c.CreatedAt)
		if isUnique(err) {
			return conflict("job call", err)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("add call to job %s: %w", c.JobID, err)
	}
	return nil
}

// FindCreditJobCalls lists a job's calls in the order they were recorded.
func (db *DB) FindCreditJobCalls(ctx context.Context, teamID, jobID string) ([]*llmservice.CreditJobCall, error) {
	rows, err := db.pool.Query(ctx,
		`SELECT `+creditJobCallColumns+` FROM credit_job_calls WHERE job_id = $1 AND team_id = $2 ORDER BY seq`,
		jobID, teamID)
	if err != nil {
		return nil, fmt.Errorf("find calls of job %s: %w", jobID, err)
	}
	out, err := pgx.AppendRows([]*llmservice.CreditJobCall(nil), rows, scanCreditJobCall)
	if err != nil {
		return nil, fmt.Errorf("find calls of job %s: %w", jobID, err)
	}
	return out, nil
}

func scanCreditJobCall(row pgx.CollectableRow) (*llmservice.CreditJobCall, error) {
	var (
		c    llmservice.CreditJobCall
		cost int64
	)
	if err := row.Scan(&c.ID, &c.JobID, &c.TeamID, &c.ModelGroup, &c.Model, &c.Purpose, &c.Stream,
		&c.PromptTokens, &c.CompletionTokens, &cost, &c.LatencyMS, &c.Error, &c.CreatedAt); err != nil {
		return nil, err
	}
	c.Cost = llmservice.Nanos(cost)
	c.CreatedAt = c.CreatedAt.UTC()
	return &c, nil
}

// CompleteCreditJob closes a job and, for a completed one, spends the team's
// credit in the same transaction. The job's row is locked first (then the
// team's, by the charge: always in that order), so concurrent completions
// from any replicas queue up and all but the first find the job closed; a
// refused charge rolls back and leaves the job open. The credit movement is
// the one AddCredits writes (reason "job", the job ID as ref), so the credit
// ledger shows every job that was paid for.
func (db *DB) CompleteCreditJob(ctx context.Context, teamID, id string, c llmservice.CreditJobCompletion) (*llmservice.CreditJob, int64, error) {
	if err := storesql.CheckCreditJobCompletion(c); err != nil {
		return nil, 0, err
	}
	now := db.now()
	if !c.Now.IsZero() {
		now = ms(c.Now)
	}
	var (
		j       *llmservice.CreditJob
		balance int64
	)
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		var err error
		if j, err = findCreditJob(ctx, tx, teamID, id, "FOR UPDATE"); err != nil {
			return err
		}
		meta, err := storesql.CloseCreditJob(j, c, now)
		if err != nil {
			return err
		}
		if j.CreditApplied {
			balance, err = addCredits(ctx, tx, llmservice.CreditChange{TeamID: teamID, Amount: -1, Reason: "job", Ref: id}, now)
		} else {
			// A deleted team's job may still be closed as failed: balance 0.
			err = tx.QueryRow(ctx, `SELECT COALESCE((SELECT credits FROM teams WHERE id = $1), 0)`, teamID).Scan(&balance)
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx,
			`UPDATE credit_jobs SET status = $1, error_message = $2, metadata = $3, credit_applied = $4, completed_at = $5 WHERE id = $6`,
			j.Status, j.ErrorMessage, meta, j.CreditApplied, now, id)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("complete job %s: %w", id, err)
	}
	return j, balance, nil
}

func scanCreditJob(row pgx.Row) (*llmservice.CreditJob, error) {
	var (
		j       llmservice.CreditJob
		meta    string
		created time.Time
	)
	if err := row.Scan(&j.ID, &j.TeamID, &j.UserID, &j.JobType, &j.Status, &meta, &j.ErrorMessage,
		&j.CreditApplied, &created, &j.StartedAt, &j.CompletedAt); err != nil {
		if isNoRows(err) {
			return nil, storesql.CreditJobNotFound(err)
		}
		return nil, err
	}
	j.Metadata = storesql.DecodeCreditJobMeta(meta)
	j.CreatedAt = created.UTC()
	j.StartedAt, j.CompletedAt = utcOrNil(j.StartedAt), utcOrNil(j.CompletedAt)
	return &j, nil
}
