package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.DjangoUserStore = (*DB)(nil)

const djangoUserColumns = `id, username, password_hash, team_id, key_id, created_at`

// CreateDjangoUser inserts the team, the key and the user in one
// transaction. A signup racing another for the same username waits on the
// unique index and then fails on it; the violated constraint's name is what
// tells a taken username from a taken team ID. The username is also looked
// up first, so that when both are taken the username is the one reported,
// as SQLite does.
func (db *DB) CreateDjangoUser(ctx context.Context, u *llmservice.DjangoUser, t *llmservice.Team, k *llmservice.Key) error {
	storesql.PrepareDjangoUser(u, t, k, db.now())
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM django_users WHERE username = $1)`, u.Username).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return storesql.DjangoUsernameTaken(nil)
		}
		if err := insertTeam(ctx, tx, t); err != nil {
			return err
		}
		if err := insertKey(ctx, tx, k); err != nil {
			return err
		}
		return tx.QueryRow(ctx,
			`INSERT INTO django_users (username, password_hash, team_id, key_id, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			u.Username, u.PasswordHash, u.TeamID, u.KeyID, u.CreatedAt).Scan(&u.ID)
	})
	if isUnique(err) {
		err = db.djangoSignupConflict(ctx, u.Username, err)
	}
	if err != nil {
		return fmt.Errorf("create django user %q: %w", u.Username, err)
	}
	return nil
}

// djangoSignupConflict names what a signup's unique violation was about.
// Two signups for one name race past the username check together; the
// loser may then trip over any unique index the winner filled first (a
// team ID or a key hash), so the username is looked up again once the
// winner has committed, and reported when it is taken, as SQLite does.
func (db *DB) djangoSignupConflict(ctx context.Context, username string, err error) error {
	var taken bool
	if qerr := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM django_users WHERE username = $1)`, username).Scan(&taken); qerr == nil && taken {
		return storesql.DjangoUsernameTaken(err)
	}
	switch constraint(err) {
	case "django_users_username_key":
		return storesql.DjangoUsernameTaken(err)
	case "teams_pkey":
		return storesql.DjangoTeamTaken(err)
	default: // the key's ID or one of its hashes
		return conflict("key", err)
	}
}

// FindDjangoUserByUsername returns NotFound when no user has that username.
func (db *DB) FindDjangoUserByUsername(ctx context.Context, username string) (*llmservice.DjangoUser, error) {
	u, err := scanDjangoUser(db.pool.QueryRow(ctx,
		`SELECT `+djangoUserColumns+` FROM django_users WHERE username = $1`, username))
	if err != nil {
		return nil, fmt.Errorf("find django user %q: %w", username, err)
	}
	return u, nil
}

// FindDjangoUserByID returns NotFound when there is no such user.
func (db *DB) FindDjangoUserByID(ctx context.Context, id int64) (*llmservice.DjangoUser, error) {
	u, err := scanDjangoUser(db.pool.QueryRow(ctx,
		`SELECT `+djangoUserColumns+` FROM django_users WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("find django user %d: %w", id, err)
	}
	return u, nil
}

func scanDjangoUser(row pgx.Row) (*llmservice.DjangoUser, error) {
	var (
		u       llmservice.DjangoUser
		created time.Time
	)
	if err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &u.TeamID, &u.KeyID, &created); err != nil {
		if isNoRows(err) {
			return nil, notFound("user", err)
		}
		return nil, err
	}
	u.CreatedAt = created.UTC()
	return &u, nil
}
