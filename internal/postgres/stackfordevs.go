package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.ProviderCredentialStore = (*DB)(nil)

const credentialColumns = `team_id, provider_type, ciphertext, hint, created_at, updated_at`

// UpsertProviderCredential creates or replaces the team's credential for one
// provider type in one statement, keeping the first CreatedAt. NotFound when
// the team does not exist.
func (db *DB) UpsertProviderCredential(ctx context.Context, c *llmservice.ProviderCredential) error {
	storesql.PrepareProviderCredential(c, db.now())
	err := db.pool.QueryRow(ctx,
		`INSERT INTO provider_credentials (`+credentialColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (team_id, provider_type) DO UPDATE SET
			ciphertext = excluded.ciphertext, hint = excluded.hint, updated_at = excluded.updated_at
		RETURNING created_at`,
		c.TeamID, c.ProviderType, c.Ciphertext, c.Hint, c.CreatedAt, c.UpdatedAt).Scan(&c.CreatedAt)
	if isForeignKey(err) {
		err = notFound("team", err)
	}
	if err != nil {
		return fmt.Errorf("upsert %s credential of team %s: %w", c.ProviderType, c.TeamID, err)
	}
	c.CreatedAt = c.CreatedAt.UTC()
	return nil
}

// FindProviderCredential returns NotFound when the team has no credential
// for that provider type.
func (db *DB) FindProviderCredential(ctx context.Context, teamID, providerType string) (*llmservice.ProviderCredential, error) {
	c, err := scanCredential(db.pool.QueryRow(ctx,
		`SELECT `+credentialColumns+` FROM provider_credentials WHERE team_id = $1 AND provider_type = $2`,
		teamID, providerType))
	if err != nil {
		return nil, fmt.Errorf("find %s credential of team %s: %w", providerType, teamID, err)
	}
	return c, nil
}

// FindProviderCredentials lists the team's credentials ordered by type.
func (db *DB) FindProviderCredentials(ctx context.Context, teamID string) ([]*llmservice.ProviderCredential, error) {
	rows, err := db.pool.Query(ctx,
		`SELECT `+credentialColumns+` FROM provider_credentials WHERE team_id = $1 ORDER BY provider_type`, teamID)
	if err != nil {
		return nil, fmt.Errorf("find credentials of team %s: %w", teamID, err)
	}
	out, err := pgx.AppendRows([]*llmservice.ProviderCredential(nil), rows,
		func(r pgx.CollectableRow) (*llmservice.ProviderCredential, error) { return scanCredential(r) })
	if err != nil {
		return nil, fmt.Errorf("find credentials of team %s: %w", teamID, err)
	}
	return out, nil
}

// DeleteProviderCredential returns NotFound when there is nothing to delete.
func (db *DB) DeleteProviderCredential(ctx context.Context, teamID, providerType string) error {
	tag, err := db.pool.Exec(ctx,
		`DELETE FROM provider_credentials WHERE team_id = $1 AND provider_type = $2`, teamID, providerType)
	if err == nil && tag.RowsAffected() == 0 {
		err = notFound("provider credential", nil)
	}
	if err != nil {
		return fmt.Errorf("delete %s credential of team %s: %w", providerType, teamID, err)
	}
	return nil
}

func scanCredential(row pgx.Row) (*llmservice.ProviderCredential, error) {
	var c llmservice.ProviderCredential
	if err := row.Scan(&c.TeamID, &c.ProviderType, &c.Ciphertext, &c.Hint, &c.CreatedAt, &c.UpdatedAt); err != nil {
		if isNoRows(err) {
			return nil, notFound("provider credential", err)
		}
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}
