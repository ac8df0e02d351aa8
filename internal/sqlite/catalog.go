package sqlite

import (
	"context"
	"database/sql"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.CatalogStore = (*DB)(nil)

const modelColumns = storesql.ModelColumns

// UpsertModel creates or replaces the entry named m.Name. Replacing keeps the
// first CreatedAt and writes it back into m; a new entry is stamped with Now
// when m.CreatedAt is zero.
func (db *DB) UpsertModel(ctx context.Context, m *llmservice.Model) error {
	created := m.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	var ms int64
	err := db.writer.QueryRowContext(ctx,
		`INSERT INTO models (`+modelColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
		m.Name, m.Provider, m.UpstreamModel, nullFloat(m.InputPerMTok), nullFloat(m.OutputPerMTok),
		m.RPM, m.TPM, m.ContextWindow, toMS(created), storesql.EncodeDeployments(m.Deployments), m.Strategy,
		nullFloat(m.CacheReadPerMTok), nullFloat(m.CacheWritePerMTok)).Scan(&ms)
	if err != nil {
		return errorf("upsert model %s: %w", m.Name, err)
	}
	m.CreatedAt = fromMS(ms)
	return nil
}

// FindModels returns the whole catalog ordered by name.
func (db *DB) FindModels(ctx context.Context) ([]*llmservice.Model, error) {
	rows, err := db.reader.QueryContext(ctx,
		`SELECT `+modelColumns+` FROM models ORDER BY name`)
	if err != nil {
		return nil, errorf("find models: %w", err)
	}
	defer rows.Close()
	var models []*llmservice.Model
	for rows.Next() {
		var (
			m         llmservice.Model
			in, out   sql.NullFloat64
			cr, cw    sql.NullFloat64
			createdMS int64
			deps      string
		)
		if err := rows.Scan(&m.Name, &m.Provider, &m.UpstreamModel, &in, &out,
			&m.RPM, &m.TPM, &m.ContextWindow, &createdMS, &deps, &m.Strategy, &cr, &cw); err != nil {
			return nil, errorf("find models: %w", err)
		}
		if err := storesql.DecodeDeployments(deps, &m); err != nil {
			return nil, errorf("find models: %w", err)
		}
		m.InputPerMTok = fromNullFloat(in)
		m.OutputPerMTok = fromNullFloat(out)
		m.CacheReadPerMTok = fromNullFloat(cr)
		m.CacheWritePerMTok = fromNullFloat(cw)
		m.CreatedAt = fromMS(createdMS)
		models = append(models, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, errorf("find models: %w", err)
	}
	return models, nil
}

// DeleteModel returns NotFound when absent.
func (db *DB) DeleteModel(ctx context.Context, name string) error {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM models WHERE name = ?`, name)
	if err == nil {
		err = mustAffect(res, "model")
	}
	if err != nil {
		return errorf("delete model %s: %w", name, err)
	}
	return nil
}

// A nil price means "unknown", which differs from a free model's 0.

func nullFloat(f *float64) sql.NullFloat64 {
	if f == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *f, Valid: true}
}

func fromNullFloat(n sql.NullFloat64) *float64 {
	if !n.Valid {
		return nil
	}
	return &n.Float64
}
