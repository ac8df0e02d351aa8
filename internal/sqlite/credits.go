package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/llmservice/llmservice"
)

var _ llmservice.CreditStore = (*DB)(nil)

// insufficientCredits is the seeds' wording for a balance that cannot pay.
const insufficientCredits = "Insufficient credits"

// AddCredits changes a team's balance and records the movement in one
// transaction. The guard "credits + amount >= 0" sits in the UPDATE itself,
// so concurrent spends can never take the balance below zero.
func (db *DB) AddCredits(ctx context.Context, teamID string, amount int64, reason, ref string) (int64, error) {
	var balance int64
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx,
			`UPDATE teams SET credits = credits + ? WHERE id = ? AND credits + ? >= 0 RETURNING credits`,
			amount, teamID, amount).Scan(&balance)
		if errors.Is(err, sql.ErrNoRows) {
			var exists int
			if e := tx.QueryRowContext(ctx, `SELECT 1 FROM teams WHERE id = ?`, teamID).Scan(&exists); errors.Is(e, sql.ErrNoRows) {
				return notFound("team", e)
			}
			return &llmservice.Error{Kind: llmservice.PaymentRequired, Code: "insufficient_credits", Message: insufficientCredits}
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO credit_movements (team_id, amount, balance_after, reason, ref, time) VALUES (?, ?, ?, ?, ?, ?)`,
			teamID, amount, balance, reason, ref, toMS(db.now()))
		return err
	})
	if err != nil {
		return 0, errorf("add credits to team %s: %w", teamID, err)
	}
	return balance, nil
}

// FindCreditMovements returns the newest movements first.
func (db *DB) FindCreditMovements(ctx context.Context, teamID string, limit int) ([]*llmservice.CreditMovement, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.reader.QueryContext(ctx,
		`SELECT id, team_id, amount, balance_after, reason, ref, time FROM credit_movements
		WHERE team_id = ? ORDER BY id DESC LIMIT ?`, teamID, limit)
	if err != nil {
		return nil, errorf("find credit movements: %w", err)
	}
	defer rows.Close()
	var out []*llmservice.CreditMovement
	for rows.Next() {
		var (
			m  llmservice.CreditMovement
			ms int64
		)
		if err := rows.Scan(&m.ID, &m.TeamID, &m.Amount, &m.BalanceAfter, &m.Reason, &m.Ref, &ms); err != nil {
			return nil, errorf("find credit movements: %w", err)
		}
		m.Time = fromMS(ms)
		out = append(out, &m)
	}
	return out, rows.Err()
}
