package postgres

import (
	"context"
	"fmt"

	"github.com/llmservice/llmservice"
)

var _ llmservice.SettingStore = (*DB)(nil)

// Setting returns NotFound when the setting was never set.
func (db *DB) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := db.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	if isNoRows(err) {
		err = notFound("setting", err)
	}
	if err != nil {
		return "", fmt.Errorf("setting %s: %w", name, err)
	}
	return v, nil
}

// SetSettingIfAbsent stores value unless name is set and returns the stored
// value. When another replica's insert of the same name is in flight, ON
// CONFLICT waits for it to commit; the SELECT that follows is a new
// statement, so under READ COMMITTED it sees that first value.
func (db *DB) SetSettingIfAbsent(ctx context.Context, name, value string) (string, error) {
	stored := value
	err := db.pool.QueryRow(ctx,
		`INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value`,
		name, value).Scan(&stored)
	if isNoRows(err) {
		err = db.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&stored)
	}
	if err != nil {
		return "", fmt.Errorf("set setting %s: %w", name, err)
	}
	return stored, nil
}
