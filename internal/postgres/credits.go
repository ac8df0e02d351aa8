package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/llmservice/llmservice"
)

var _ llmservice.CreditStore = (*DB)(nil)

// insufficientCredits is the seeds' wording for a balance that cannot pay.
const insufficientCredits = "Insufficient credits"

// AddCredits changes a team's balance and records the movement in one
// transaction.
func (db *DB) AddCredits(ctx context.Context, teamID string, amount int64, reason, ref string) (int64, error) {
	var balance int64
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		var err error
		balance, err = addCredits(ctx, tx, llmservice.CreditChange{TeamID: teamID, Amount: amount, Reason: reason, Ref: ref}, db.now())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("add credits to team %s: %w", teamID, err)
	}
	return balance, nil
}

// addCredits changes the balance and records the movement inside tx, for
// every store that moves credits. The guard "credits + amount >= 0" sits in
// the UPDATE itself: a replica's concurrent UPDATE of the row waits for this
// one and then re-checks the guard against the new balance, so spends from
// any number of replicas never take the balance below zero. PaymentRequired
// when the balance cannot pay; NotFound when the team is absent.
func addCredits(ctx context.Context, tx pgx.Tx, c llmservice.CreditChange, now time.Time) (int64, error) {
	var balance int64
	err := tx.QueryRow(ctx,
		`UPDATE teams SET credits = credits + $1 WHERE id = $2 AND credits + $1 >= 0 RETURNING credits`,
		c.Amount, c.TeamID).Scan(&balance)
	if isNoRows(err) {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1)`, c.TeamID).Scan(&exists); err != nil {
			return 0, err
		}
		if !exists {
			return 0, notFound("team", nil)
		}
		return 0, &llmservice.Error{Kind: llmservice.PaymentRequired, Code: "insufficient_credits", Message: insufficientCredits}
	}
	if err != nil {
		return 0, err
	}
	_, err = tx.Exec(ctx,
		`INSERT INTO credit_movements (team_id, amount, balance_after, reason, ref, time) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.TeamID, c.Amount, balance, c.Reason, c.Ref, ms(now))
	if err != nil {
		return 0, err
	}
	return balance, nil
}

// FindCreditMovements returns the newest movements first, at most limit
// (100 when limit is not positive).
func (db *DB) FindCreditMovements(ctx context.Context, teamID string, limit int) ([]*llmservice.CreditMovement, error) {
	if limit <= 0 {
		limit = 100
	}
	out, err := queryAll(ctx, db, scanCreditMovement,
		`SELECT id, team_id, amount, balance_after, reason, ref, time FROM credit_movements
		WHERE team_id = $1 ORDER BY id DESC LIMIT $2`, teamID, limit)
	if err != nil {
		return nil, fmt.Errorf("find credit movements: %w", err)
	}
	return out, nil
}

func scanCreditMovement(row pgx.Row) (*llmservice.CreditMovement, error) {
	var m llmservice.CreditMovement
	if err := row.Scan(&m.ID, &m.TeamID, &m.Amount, &m.BalanceAfter, &m.Reason, &m.Ref, &m.Time); err != nil {
		return nil, err
	}
	m.Time = m.Time.UTC()
	return &m, nil
}
