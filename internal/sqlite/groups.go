package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.ModelGroupStore = (*DB)(nil)

// UpsertModelGroup creates or replaces g, keeping the first CreatedAt.
func (db *DB) UpsertModelGroup(ctx context.Context, g *llmservice.ModelGroup) error {
	created := g.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	var ms int64
	err := db.writer.QueryRowContext(ctx,
		`INSERT INTO model_groups (name, models, strategy, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET models = excluded.models, strategy = excluded.strategy
		RETURNING created_at`, g.Name, storesql.EncodeList(g.Models), g.Strategy, toMS(created)).Scan(&ms)
	if err != nil {
		return errorf("upsert model group %s: %w", g.Name, err)
	}
	g.CreatedAt = fromMS(ms)
	return nil
}

// FindModelGroup returns NotFound when absent.
func (db *DB) FindModelGroup(ctx context.Context, name string) (*llmservice.ModelGroup, error) {
	g, err := scanGroup(db.reader.QueryRowContext(ctx, `SELECT name, models, strategy, created_at FROM model_groups WHERE name = ?`, name))
	if err != nil {
		return nil, errorf("find model group %s: %w", name, err)
	}
	return g, nil
}

// FindModelGroups returns every group ordered by name.
func (db *DB) FindModelGroups(ctx context.Context) ([]*llmservice.ModelGroup, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT name, models, strategy, created_at FROM model_groups ORDER BY name`)
	if err != nil {
		return nil, errorf("find model groups: %w", err)
	}
	defer rows.Close()
	var out []*llmservice.ModelGroup
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, errorf("find model groups: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// DeleteModelGroup returns NotFound when absent.
func (db *DB) DeleteModelGroup(ctx context.Context, name string) error {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM model_groups WHERE name = ?`, name)
	if err == nil {
		err = mustAffect(res, "model group")
	}
	if err != nil {
		return errorf("delete model group %s: %w", name, err)
	}
	return nil
}

func scanGroup(s scanner) (*llmservice.ModelGroup, error) {
	var (
		g       llmservice.ModelGroup
		models  string
		created int64
	)
	if err := s.Scan(&g.Name, &models, &g.Strategy, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("model group", err)
		}
		return nil, err
	}
	var err error
	if g.Models, err = storesql.DecodeList(models); err != nil {
		return nil, err
	}
	g.CreatedAt = fromMS(created)
	return &g, nil
}
