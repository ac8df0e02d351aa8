package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.ProviderCredentialStore = (*DB)(nil)

const credentialColumns = `team_id, provider_type, ciphertext, hint, created_at, updated_at`

// UpsertProviderCredential creates or replaces the team's credential for one
// provider type, keeping the first CreatedAt. NotFound when the team does
// not exist.
func (db *DB) UpsertProviderCredential(ctx context.Context, c *llmservice.ProviderCredential) error {
	storesql.PrepareProviderCredential(c, db.now())
	var created int64
	err := db.writer.QueryRowContext(ctx,
		`INSERT INTO provider_credentials (`+credentialColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (team_id, provider_type) DO UPDATE SET
			ciphertext = excluded.ciphertext, hint = excluded.hint, updated_at = excluded.updated_at
		RETURNING created_at`,
		c.TeamID, c.ProviderType, c.Ciphertext, c.Hint, toMS(c.CreatedAt), toMS(c.UpdatedAt)).Scan(&created)
	if isForeignKey(err) {
		err = notFound("team", err)
	}
	if err != nil {
		return errorf("upsert %s credential of team %s: %w", c.ProviderType, c.TeamID, err)
	}
	c.CreatedAt = fromMS(created)
	return nil
}

// FindProviderCredential returns NotFound when the team has no credential
// for that provider type.
func (db *DB) FindProviderCredential(ctx context.Context, teamID, providerType string) (*llmservice.ProviderCredential, error) {
	c, err := scanCredential(db.reader.QueryRowContext(ctx,
		`SELECT `+credentialColumns+` FROM provider_credentials WHERE team_id = ? AND provider_type = ?`,
		teamID, providerType))
	if err != nil {
		return nil, errorf("find %s credential of team %s: %w", providerType, teamID, err)
	}
	return c, nil
}

// FindProviderCredentials lists the team's credentials ordered by type.
func (db *DB) FindProviderCredentials(ctx context.Context, teamID string) ([]*llmservice.ProviderCredential, error) {
	rows, err := db.reader.QueryContext(ctx,
		`SELECT `+credentialColumns+` FROM provider_credentials WHERE team_id = ? ORDER BY provider_type`, teamID)
	if err != nil {
		return nil, errorf("find credentials of team %s: %w", teamID, err)
	}
	defer rows.Close()
	var out []*llmservice.ProviderCredential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, errorf("find credentials of team %s: %w", teamID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteProviderCredential returns NotFound when there is nothing to delete.
func (db *DB) DeleteProviderCredential(ctx context.Context, teamID, providerType string) error {
	res, err := db.writer.ExecContext(ctx,
		`DELETE FROM provider_credentials WHERE team_id = ? AND provider_type = ?`, teamID, providerType)
	if err == nil {
		err = mustAffect(res, "provider credential")
	}
	if err != nil {
		return errorf("delete %s credential of team %s: %w", providerType, teamID, err)
	}
	return nil
}

func scanCredential(s scanner) (*llmservice.ProviderCredential, error) {
	var (
		c                llmservice.ProviderCredential
		created, updated int64
	)
	if err := s.Scan(&c.TeamID, &c.ProviderType, &c.Ciphertext, &c.Hint, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("provider credential", err)
		}
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	return &c, nil
}
