package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/llmservice/llmservice"
)

var _ llmservice.SettingStore = (*DB)(nil)

// Setting returns NotFound when the setting was never set.
func (db *DB) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := db.reader.QueryRowContext(ctx,
		`SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		err = notFound("setting", err)
	}
	if err != nil {
		return "", errorf("setting %s: %w", name, err)
	}
	return v, nil
}

// SetSettingIfAbsent stores value unless name is set and returns the stored
// value. The insert and the read run in one IMMEDIATE transaction on the
// writer, so two processes starting at once both see the first value written.
func (db *DB) SetSettingIfAbsent(ctx context.Context, name, value string) (string, error) {
	var stored string
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
			name, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx,
			`SELECT value FROM settings WHERE name = ?`, name).Scan(&stored)
	})
	if err != nil {
		return "", errorf("set setting %s: %w", name, err)
	}
	return stored, nil
}
