package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.KeyStore = (*DB)(nil)

const keyColumns = storesql.KeyColumns

// CreateKey inserts k, stamping CreatedAt with Now when it is zero and
// rounding k's times to the stored millisecond. Conflict
// if the ID or a hash exists; NotFound if the team does not.
func (db *DB) CreateKey(ctx context.Context, k *llmservice.Key) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.now()
	}
	k.CreatedAt = fromMS(toMS(k.CreatedAt))
	k.ExpiresAt = fromNullMS(toNullMS(k.ExpiresAt))
	k.RevokedAt = fromNullMS(toNullMS(k.RevokedAt))
	_, err := db.writer.ExecContext(ctx,
		`INSERT INTO keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.TeamID, k.Name, k.Prefix, k.KeyHash, k.SecretHash, storesql.EncodeList(k.Models),
		toNullMS(k.ExpiresAt), toNullMS(k.RevokedAt), toMS(k.CreatedAt), storesql.EncodeKeyPolicy(k))
	switch {
	case isUnique(err):
		err = conflict("key", err)
	case isForeignKey(err):
		err = notFound("team", err)
	}
	if err != nil {
		return errorf("create key %s: %w", k.ID, err)
	}
	return nil
}

// FindKeyByHash returns the key with that hash, revoked or not. NotFound when
// no key has it. The hash stays out of the error: it identifies a credential.
func (db *DB) FindKeyByHash(ctx context.Context, hash string) (*llmservice.Key, error) {
	row := db.reader.QueryRowContext(ctx,
		`SELECT `+keyColumns+` FROM keys WHERE key_hash = ?`, hash)
	k, err := scanKey(row)
	if err != nil {
		return nil, errorf("find key by hash: %w", err)
	}
	return k, nil
}

// FindKeyByID returns NotFound when there is no such key.
func (db *DB) FindKeyByID(ctx context.Context, id string) (*llmservice.Key, error) {
	row := db.reader.QueryRowContext(ctx,
		`SELECT `+keyColumns+` FROM keys WHERE id = ?`, id)
	k, err := scanKey(row)
	if err != nil {
		return nil, errorf("find key %s: %w", id, err)
	}
	return k, nil
}

// FindKeys returns the keys f selects, oldest first.
func (db *DB) FindKeys(ctx context.Context, f llmservice.KeyFilter) ([]*llmservice.Key, error) {
	q := `SELECT ` + keyColumns + ` FROM keys`
	var args []any
	if f.TeamID != "" {
		q += ` WHERE team_id = ?`
		args = append(args, f.TeamID)
	}
	q += ` ORDER BY created_at, id`
	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, errorf("find keys: %w", err)
	}
	defer rows.Close()
	var keys []*llmservice.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, errorf("find keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, errorf("find keys: %w", err)
	}
	return keys, nil
}

// UpdateKey applies fn inside a write transaction. Identity, hashes and
// revocation are not fn's to change. NotFound when absent.
func (db *DB) UpdateKey(ctx context.Context, id string, fn func(*llmservice.Key) error) (*llmservice.Key, error) {
	var out *llmservice.Key
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		k, err := scanKey(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM keys WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
		k.ExpiresAt = fromNullMS(toNullMS(k.ExpiresAt))
		_, err = tx.ExecContext(ctx, `UPDATE keys SET name = ?, models = ?, expires_at = ?, policy = ? WHERE id = ?`,
			k.Name, storesql.EncodeList(k.Models), toNullMS(k.ExpiresAt), storesql.EncodeKeyPolicy(k), id)
		out = k
		return err
	})
	if err != nil {
		return nil, errorf("update key %s: %w", id, err)
	}
	return out, nil
}

// RevokeKey marks the key revoked at now. Revoking twice keeps the first
// time, so the audit trail shows when the key really stopped working.
// NotFound when absent.
func (db *DB) RevokeKey(ctx context.Context, id string, now time.Time) error {
	res, err := db.writer.ExecContext(ctx,
		`UPDATE keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, toMS(now), id)
	if err == nil {
		err = mustAffect(res, "key")
	}
	if err != nil {
		return errorf("revoke key %s: %w", id, err)
	}
	return nil
}

func scanKey(s scanner) (*llmservice.Key, error) {
	var (
		k                llmservice.Key
		models           string
		expires, revoked sql.NullInt64
		created          int64
		policy           string
	)
	err := s.Scan(&k.ID, &k.TeamID, &k.Name, &k.Prefix, &k.KeyHash, &k.SecretHash,
		&models, &expires, &revoked, &created, &policy)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
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
	k.ExpiresAt = fromNullMS(expires)
	k.RevokedAt = fromNullMS(revoked)
	k.CreatedAt = fromMS(created)
	return &k, nil
}
