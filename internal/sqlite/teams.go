package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.TeamStore = (*DB)(nil)

const teamColumns = storesql.TeamColumns

// CreateTeam inserts t, stamping CreatedAt with Now when it is zero and
// rounding it to the stored millisecond. Conflict if the ID is taken.
func (db *DB) CreateTeam(ctx context.Context, t *llmservice.Team) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = db.now()
	}
	t.CreatedAt = fromMS(toMS(t.CreatedAt))
	_, err := db.writer.ExecContext(ctx,
		`INSERT INTO teams (`+teamColumns+`) VALUES (?, ?, ?, ?, 0, ?)`,
		t.ID, t.Name, storesql.EncodeList(t.Models), storesql.EncodeTeamPolicy(t), toMS(t.CreatedAt))
	t.Credits = 0
	if isUnique(err) {
		err = conflict("team", err)
	}
	if err != nil {
		return errorf("create team %s: %w", t.ID, err)
	}
	return nil
}

// FindTeamByID returns NotFound when there is no such team.
func (db *DB) FindTeamByID(ctx context.Context, id string) (*llmservice.Team, error) {
	row := db.reader.QueryRowContext(ctx,
		`SELECT `+teamColumns+` FROM teams WHERE id = ?`, id)
	t, err := scanTeam(row)
	if err != nil {
		return nil, errorf("find team %s: %w", id, err)
	}
	return t, nil
}

// FindTeams returns every team, oldest first.
func (db *DB) FindTeams(ctx context.Context) ([]*llmservice.Team, error) {
	rows, err := db.reader.QueryContext(ctx,
		`SELECT `+teamColumns+` FROM teams ORDER BY created_at, id`)
	if err != nil {
		return nil, errorf("find teams: %w", err)
	}
	defer rows.Close()
	var teams []*llmservice.Team
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			return nil, errorf("find teams: %w", err)
		}
		teams = append(teams, t)
	}
	if err := rows.Err(); err != nil {
		return nil, errorf("find teams: %w", err)
	}
	return teams, nil
}

// UpdateTeam applies fn inside a write transaction (SQLite allows one
// writer at a time, so two updates cannot interleave). NotFound when absent.
func (db *DB) UpdateTeam(ctx context.Context, id string, fn func(*llmservice.Team) error) (*llmservice.Team, error) {
	var out *llmservice.Team
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		t, err := scanTeam(tx.QueryRowContext(ctx, `SELECT `+teamColumns+` FROM teams WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
		t.ID = id
		_, err = tx.ExecContext(ctx, `UPDATE teams SET name = ?, models = ?, policy = ? WHERE id = ?`,
			t.Name, storesql.EncodeList(t.Models), storesql.EncodeTeamPolicy(t), id)
		out = t
		return err
	})
	if err != nil {
		return nil, errorf("update team %s: %w", id, err)
	}
	return out, nil
}

// DeleteTeam deletes the team; its keys go with it (ON DELETE CASCADE), its
// usage records stay. NotFound when absent.
func (db *DB) DeleteTeam(ctx context.Context, id string) error {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM teams WHERE id = ?`, id)
	if err == nil {
		err = mustAffect(res, "team")
	}
	if err != nil {
		return errorf("delete team %s: %w", id, err)
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func scanTeam(s scanner) (*llmservice.Team, error) {
	var (
		t       llmservice.Team
		models  string
		policy  string
		created int64
	)
	if err := s.Scan(&t.ID, &t.Name, &models, &policy, &t.Credits, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("team", err)
		}
		return nil, err
	}
	var err error
	if t.Models, err = storesql.DecodeList(models); err != nil {
		return nil, err
	}
	if err := storesql.DecodeTeamPolicy(policy, &t); err != nil {
		return nil, err
	}
	t.CreatedAt = fromMS(created)
	return &t, nil
}

// mustAffect returns NotFound for what when res changed no row.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(what, nil)
	}
	return nil
}
