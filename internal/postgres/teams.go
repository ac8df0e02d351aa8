package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	err := insertTeam(ctx, db.pool, t)
	if isUnique(err) {
		err = conflict("team", err)
	}
	if err != nil {
		return fmt.Errorf("create team %s: %w", t.ID, err)
	}
	return nil
}

// insertTeam inserts t with no credits, rounding CreatedAt to the stored
// millisecond; q is the pool or the transaction of a store that creates
// teams with other rows. The error is the server's.
func insertTeam(ctx context.Context, q execer, t *llmservice.Team) error {
	t.CreatedAt = ms(t.CreatedAt)
	t.Credits = 0
	_, err := q.Exec(ctx,
		`INSERT INTO teams (`+teamColumns+`) VALUES ($1, $2, $3, $4, 0, $5)`,
		t.ID, t.Name, storesql.EncodeList(t.Models), storesql.EncodeTeamPolicy(t), t.CreatedAt)
	return err
}

// FindTeamByID returns NotFound when there is no such team.
func (db *DB) FindTeamByID(ctx context.Context, id string) (*llmservice.Team, error) {
	t, err := scanTeam(db.pool.QueryRow(ctx, `SELECT `+teamColumns+` FROM teams WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("find team %s: %w", id, err)
	}
	return t, nil
}

// FindTeams returns every team, oldest first.
func (db *DB) FindTeams(ctx context.Context) ([]*llmservice.Team, error) {
	teams, err := queryAll(ctx, db, scanTeam, `SELECT `+teamColumns+` FROM teams ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("find teams: %w", err)
	}
	return teams, nil
}

// UpdateTeam applies fn to the team under a row lock (see updateLocked).
// NotFound when absent.
func (db *DB) UpdateTeam(ctx context.Context, id string, fn func(*llmservice.Team) error) (*llmservice.Team, error) {
	t, err := updateLocked(ctx, db, scanTeam, `SELECT `+teamColumns+` FROM teams WHERE id = $1 FOR UPDATE`, id, fn,
		func(tx pgx.Tx, t *llmservice.Team) error {
			t.ID = id
			// Credits are AddCredits' alone: neither written here nor taken from fn.
			return tx.QueryRow(ctx,
				`UPDATE teams SET name = $1, models = $2, policy = $3 WHERE id = $4 RETURNING credits`,
				t.Name, storesql.EncodeList(t.Models), storesql.EncodeTeamPolicy(t), id).Scan(&t.Credits)
		})
	if err != nil {
		return nil, fmt.Errorf("update team %s: %w", id, err)
	}
	return t, nil
}

// DeleteTeam deletes the team; its keys go with it (ON DELETE CASCADE), its
// usage records stay. NotFound when absent.
func (db *DB) DeleteTeam(ctx context.Context, id string) error {
	if err := db.execOne(ctx, "team", `DELETE FROM teams WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete team %s: %w", id, err)
	}
	return nil
}

func scanTeam(row pgx.Row) (*llmservice.Team, error) {
	var (
		t       llmservice.Team
		models  string
		policy  string
		created time.Time
	)
	if err := row.Scan(&t.ID, &t.Name, &models, &policy, &t.Credits, &created); err != nil {
		if isNoRows(err) {
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
	t.CreatedAt = created.UTC()
	return &t, nil
}

// execer is the pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// updateLocked reads the row id with selectSQL (a SELECT ... FOR UPDATE),
// applies fn and saves the result with write, in one transaction: an update
// from another replica waits for the row lock and then reads this one's
// result instead of undoing it. fn's error is returned and nothing is saved.
func updateLocked[T any](ctx context.Context, db *DB, scan func(pgx.Row) (T, error), selectSQL, id string,
	fn func(T) error, write func(pgx.Tx, T) error) (T, error) {
	var out T
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		v, err := scan(tx.QueryRow(ctx, selectSQL, id))
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
		if err := write(tx, v); err != nil {
			return err
		}
		out = v
		return nil
	})
	return out, err
}

// queryAll runs a query and scans every row with scan. No row is a nil
// slice, as in SQLite.
func queryAll[T any](ctx context.Context, db *DB, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.AppendRows([]T(nil), rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}

// execOne runs a statement that must change a row: NotFound for what when
// it changed none.
func (db *DB) execOne(ctx context.Context, what, sql string, args ...any) error {
	tag, err := db.pool.Exec(ctx, sql, args...)
	if err == nil && tag.RowsAffected() == 0 {
		err = notFound(what, nil)
	}
	return err
}
