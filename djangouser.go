package llmservice

import (
	"context"
	"time"
)

// DjangoUser is an account of the Django LLM Service API (seed 001): a
// username and password that log in for JWTs. Each user owns a personal team
// and one key; the key is never shown to anyone (only its hash is kept) and
// is what the user's access tokens stand for, so tokens get the key's limits,
// budgets and usage ledger like any other credential.
type DjangoUser struct {
	// ID is Django's integer primary key, the user_id claim of tokens.
	ID       int64  `json:"id"`
	Username string `json:"username"`
	// PasswordHash is a self-describing password hash (algorithm,
	// parameters, salt and digest); the password itself is never stored.
	PasswordHash string    `json:"-"`
	TeamID       string    `json:"team_id"`
	KeyID        string    `json:"key_id"`
	CreatedAt    time.Time `json:"created_at"`
}

// DjangoUserStore persists Django API users. Users are identities, not
// tenant data: login looks them up by username before any team is known.
// Deleting a user's team deletes the user.
type DjangoUserStore interface {
	// CreateDjangoUser creates u together with its personal team t and key
	// k, in one transaction, so that no user exists without its team and
	// key. It sets u.ID and stamps zero CreatedAt times. Conflict with Param
	// "username" when the username is taken, with Param "team_id" when t.ID
	// is; nothing is created then.
	CreateDjangoUser(ctx context.Context, u *DjangoUser, t *Team, k *Key) error
	// FindDjangoUserByUsername returns NotFound when no user has that
	// username (compared exactly, as Django does).
	FindDjangoUserByUsername(ctx context.Context, username string) (*DjangoUser, error)
	// FindDjangoUserByID returns NotFound when there is no such user.
	FindDjangoUserByID(ctx context.Context, id int64) (*DjangoUser, error)
}
