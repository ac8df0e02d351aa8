package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.DjangoUserStore = (*DB)(nil)

const djangoUserColumns = `id, username, password_hash, team_id, key_id, created_at`

// CreateDjangoUser inserts the team, the key and the user in one IMMEDIATE
// transaction. The existence checks run inside it, and the write lock is
// held from BEGIN, so they cannot race another signup; they are what lets
// the error say which of the two names is taken (both would otherwise be
// the same SQLITE_CONSTRAINT_UNIQUE code).
func (db *DB) CreateDjangoUser(ctx context.Context, u *llmservice.DjangoUser, t *llmservice.Team, k *llmservice.Key) error {
	storesql.PrepareDjangoUser(u, t, k, db.now())
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM django_users WHERE username = ?`, u.Username).Scan(&one)
		if err == nil {
			return storesql.DjangoUsernameTaken(nil)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM teams WHERE id = ?`, t.ID).Scan(&one)
		if err == nil {
			return storesql.DjangoTeamTaken(nil)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO teams (`+teamColumns+`) VALUES (?, ?, ?, ?, 0, ?)`,
			t.ID, t.Name, storesql.EncodeList(t.Models), storesql.EncodeTeamPolicy(t), toMS(t.CreatedAt)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.TeamID, k.Name, k.Prefix, k.KeyHash, k.SecretHash, storesql.EncodeList(k.Models),
			toNullMS(k.ExpiresAt), toNullMS(k.RevokedAt), toMS(k.CreatedAt), storesql.EncodeKeyPolicy(k)); err != nil {
			if isUnique(err) {
				return conflict("key", err)
			}
			return err
		}
		return tx.QueryRowContext(ctx,
			`INSERT INTO django_users (username, password_hash, team_id, key_id, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`,
			u.Username, u.PasswordHash, u.TeamID, u.KeyID, toMS(u.CreatedAt)).Scan(&u.ID)
	})
	if err != nil {
		return errorf("create django user %q: %w", u.Username, err)
	}
	return nil
}

// FindDjangoUserByUsername returns NotFound when no user has that username.
func (db *DB) FindDjangoUserByUsername(ctx context.Context, username string) (*llmservice.DjangoUser, error) {
	u, err := scanDjangoUser(db.reader.QueryRowContext(ctx,
		`SELECT `+djangoUserColumns+` FROM django_users WHERE username = ?`, username))
	if err != nil {
		return nil, errorf("find django user %q: %w", username, err)
	}
	return u, nil
}

// FindDjangoUserByID returns NotFound when there is no such user.
func (db *DB) FindDjangoUserByID(ctx context.Context, id int64) (*llmservice.DjangoUser, error) {
	u, err := scanDjangoUser(db.reader.QueryRowContext(ctx,
		`SELECT `+djangoUserColumns+` FROM django_users WHERE id = ?`, id))
	if err != nil {
		return nil, errorf("find django user %d: %w", id, err)
	}
	return u, nil
}

func scanDjangoUser(s scanner) (*llmservice.DjangoUser, error) {
	var (
		u       llmservice.DjangoUser
		created int64
	)
	if err := s.Scan(&u.ID, &u.Username, &u.PasswordHash, &u.TeamID, &u.KeyID, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("user", err)
		}
		return nil, err
	}
	u.CreatedAt = fromMS(created)
	return &u, nil
}
