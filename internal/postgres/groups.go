package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.ModelGroupStore = (*DB)(nil)

// UpsertModelGroup creates or replaces g in one statement, keeping the first
// CreatedAt and writing it back into g.
func (db *DB) UpsertModelGroup(ctx context.Context, g *llmservice.ModelGroup) error {
	created := g.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	err := db.pool.QueryRow(ctx,
		`INSERT INTO model_groups (name, models, strategy, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET models = excluded.models, strategy = excluded.strategy
		RETURNING created_at`, g.Name, storesql.EncodeList(g.Models), g.Strategy, ms(created)).Scan(&created)
	if err != nil {
		return fmt.Errorf("upsert model group %s: %w", g.Name, err)
	}
	g.CreatedAt = created.UTC()
	return nil
}

// FindModelGroup returns NotFound when absent.
func (db *DB) FindModelGroup(ctx context.Context, name string) (*llmservice.ModelGroup, error) {
	g, err := scanGroup(db.pool.QueryRow(ctx,
		`SELECT name, models, strategy, created_at FROM model_groups WHERE name = $1`, name))
	if err != nil {
		return nil, fmt.Errorf("find model group %s: %w", name, err)
	}
	return g, nil
}

// FindModelGroups returns every group ordered by name.
func (db *DB) FindModelGroups(ctx context.Context) ([]*llmservice.ModelGroup, error) {
	groups, err := queryAll(ctx, db, scanGroup, `SELECT name, models, strategy, created_at FROM model_groups ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("find model groups: %w", err)
	}
	return groups, nil
}

// DeleteModelGroup returns NotFound when absent.
func (db *DB) DeleteModelGroup(ctx context.Context, name string) error {
	if err := db.execOne(ctx, "model group", `DELETE FROM model_groups WHERE name = $1`, name); err != nil {
		return fmt.Errorf("delete model group %s: %w", name, err)
	}
	return nil
}

func scanGroup(row pgx.Row) (*llmservice.ModelGroup, error) {
	var (
		g       llmservice.ModelGroup
		models  string
		created time.Time
	)
	if err := row.Scan(&g.Name, &models, &g.Strategy, &created); err != nil {
		if isNoRows(err) {
			return nil, notFound("model group", err)
		}
		return nil, err
	}
	var err error
	if g.Models, err = storesql.DecodeList(models); err != nil {
		return nil, err
	}
	g.CreatedAt = created.UTC()
	return &g, nil
}
