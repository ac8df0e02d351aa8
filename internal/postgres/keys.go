package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.KeyStore = (*DB)(nil)

const keyColumns = storesql.KeyColumns

// CreateKey inserts k, stamping CreatedAt with Now when it is zero and
// rounding k's times to the stored millisecond. Conflict if the ID or a hash
// exists; NotFound if the team does not.
func (db *DB) CreateKey(ctx context.Context, k *llmservice.Key) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.now()
	}
	err := insertKey(ctx, db.pool, k)
	switch {
	case isUnique(err):
		err = conflict("key", err)
	case isForeignKey(err):
		err = notFound("team", err)
	}
	if err != nil {
		return fmt.Errorf("create key %s: %w", k.ID, err)
	}
	return nil
}

// insertKey inserts k, rounding its times to the stored millisecond; q is
// the pool or the transaction of a store that creates keys with other rows.
// The error is the server's.
func insertKey(ctx context.Context, q execer, k *llmservice.Key) error {
	k.CreatedAt = ms(k.CreatedAt)
	k.ExpiresAt = msOrNil(k.ExpiresAt)
	k.RevokedAt = msOrNil(k.RevokedAt)
	_, err := q.Exec(ctx,
		`INSERT INTO keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		k.ID, k.TeamID, k.Name, k.Prefix, k.KeyHash, k.SecretHash, storesql.EncodeList(k.Models),
		k.ExpiresAt, k.RevokedAt, k.CreatedAt, storesql.EncodeKeyPolicy(k))
	return err
}

// FindKeyByHash returns the key with that hash, revoked or not. NotFound when
// no key has it. The hash stays out of the error: it identifies a credential.
func (db *DB) FindKeyByHash(ctx context.Context, hash string) (*llmservice.Key, error) {
	k, err := scanKey(db.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM keys WHERE key_hash = $1`, hash))
	if err != nil {
		return nil, fmt.Errorf("find key by hash: %w", err)
	}
	return k, nil
}

// FindKeyByID returns NotFound when there is no such key.
func (db *DB) FindKeyByID(ctx context.Context, id string) (*llmservice.Key, error) {
	k, err := scanKey(db.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM keys WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("find key %s: %w", id, err)
	}
	return k, nil
}

// FindKeys returns the keys f selects, oldest first.
func (db *DB) FindKeys(ctx context.Context, f llmservice.KeyFilter) ([]*llmservice.Key, error) {
	q := `SELECT ` + keyColumns + ` FROM keys`
	var args []any
	if f.TeamID != "" {
		q += ` WHERE team_id = $1`
		args = append(args, f.TeamID)
	}
	keys, err := queryAll(ctx, db, scanKey, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("find keys: %w", err)
	}
	return keys, nil
}

// UpdateKey applies fn to the key under a row lock (see updateLocked).
// Identity, hashes and revocation are not fn's to change. NotFound when
// absent.
func (db *DB) UpdateKey(ctx context.Context, id string, fn func(*llmservice.Key) error) (*llmservice.Key, error) {
	k, err := updateLocked(ctx, db, scanKey, `SELECT `+keyColumns+` FROM keys WHERE id = $1 FOR UPDATE`, id, fn,
		func(tx pgx.Tx, k *llmservice.Key) error {
			k.ExpiresAt = msOrNil(k.ExpiresAt)
			_, err := tx.Exec(ctx, `UPDATE keys SET name = $1, models = $2, expires_at = $3, policy = $4 WHERE id = $5`,
				k.Name, storesql.EncodeList(k.Models), k.ExpiresAt, storesql.EncodeKeyPolicy(k), id)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("update key %s: %w", id, err)
	}
	return k, nil
}

// RevokeKey marks the key revoked at now. Revoking twice keeps the first
// time, so the audit trail shows when the key really stopped working.
// NotFound when absent.
func (db *DB) RevokeKey(ctx context.Context, id string, now time.Time) error {
	err := db.execOne(ctx, "key", `UPDATE keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`, ms(now), id)
	if err != nil {
		return fmt.Errorf("revoke key %s: %w", id, err)
	}
	return nil
}

func scanKey(row pgx.Row) (*llmservice.Key, error) {
	var (
		k                llmservice.Key
		models, policy   string
		expires, revoked *time.Time
		created          time.Time
	)
	err := row.Scan(&k.ID, &k.TeamID, &k.Name, &k.Prefix, &k.KeyHash, &k.SecretHash,
		&models, &expires, &revoked, &created, &policy)
	if err != nil {
		if isNoRows(err) {
			return nil, notFound("key", err)
		}
		return nil, err
	}
	if k.Models, err = storesql.DecodeList(models); err != nil {
		return nil, err
	}
	if err := storesql.DecodeKeyPolicy(policy, &k); err != nil {
		return nil, err
	}
	k.ExpiresAt = utcOrNil(expires)
	k.RevokedAt = utcOrNil(revoked)
	k.CreatedAt = created.UTC()
	return &k, nil
}

// msOrNil is ms for a nullable time.
func msOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ms(*t)
	return &v
}

// utcOrNil returns a scanned nullable time in UTC.
func utcOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}
