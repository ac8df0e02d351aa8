package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.CatalogStore = (*DB)(nil)

const modelColumns = storesql.ModelColumns

// UpsertModel creates or replaces the entry named m.Name in one statement,
// so replicas upserting at once cannot both insert. Replacing keeps the
// first CreatedAt and writes it back into m; a new entry is stamped with Now
// when m.CreatedAt is zero. A nil price is stored as NULL: unknown, which
// differs from a free model's 0.
func (db *DB) UpsertModel(ctx context.Context, m *llmservice.Model) error {
	created := m.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	err := db.pool.QueryRow(ctx,
		`INSERT INTO models (`+modelColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (name) DO UPDATE SET
			provider = excluded.provider,
			upstream_model = excluded.upstream_model,
			input_per_mtok = excluded.input_per_mtok,
			output_per_mtok = excluded.output_per_mtok,
			rpm = excluded.rpm,
			tpm = excluded.tpm,
			context_window = excluded.context_window,
			deployments = excluded.deployments,
			strategy = excluded.strategy,
			cache_read_per_mtok = excluded.cache_read_per_mtok,
			cache_write_per_mtok = excluded.cache_write_per_mtok
		RETURNING created_at`,
		m.Name, m.Provider, m.UpstreamModel, m.InputPerMTok, m.OutputPerMTok,
		m.RPM, m.TPM, m.ContextWindow, ms(created), storesql.EncodeDeployments(m.Deployments), m.Strategy,
		m.CacheReadPerMTok, m.CacheWritePerMTok).Scan(&created)
	if err != nil {
		return fmt.Errorf("upsert model %s: %w", m.Name, err)
	}
	m.CreatedAt = created.UTC()
	return nil
}

// FindModels returns the whole catalog ordered by name.
func (db *DB) FindModels(ctx context.Context) ([]*llmservice.Model, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+modelColumns+` FROM models ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("find models: %w", err)
	}
	defer rows.Close()
	var models []*llmservice.Model
	for rows.Next() {
		var (
			m       llmservice.Model
			created time.Time
			deps    string
		)
		if err := rows.Scan(&m.Name, &m.Provider, &m.UpstreamModel, &m.InputPerMTok, &m.OutputPerMTok,
			&m.RPM, &m.TPM, &m.ContextWindow, &created, &deps, &m.Strategy, &m.CacheReadPerMTok, &m.CacheWritePerMTok); err != nil {
			return nil, fmt.Errorf("find models: %w", err)
		}
		if err := storesql.DecodeDeployments(deps, &m); err != nil {
			return nil, fmt.Errorf("find models: %w", err)
		}
		m.CreatedAt = created.UTC()
		models = append(models, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find models: %w", err)
	}
	return models, nil
}

// DeleteModel returns NotFound when absent.
func (db *DB) DeleteModel(ctx context.Context, name string) error {
	if err := db.execOne(ctx, "model", `DELETE FROM models WHERE name = $1`, name); err != nil {
		return fmt.Errorf("delete model %s: %w", name, err)
	}
	return nil
}
