package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
)

// The pools must carry the settings the package doc promises; a typo in a
// DSN pragma would otherwise go unnoticed until production contention.
func TestPragmas(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	for _, tc := range []struct {
		pool   string
		db     *sql.DB
		pragma string
		want   string
	}{
		{"writer", db.writer, "journal_mode", "wal"},
		{"writer", db.writer, "foreign_keys", "1"},
		{"writer", db.writer, "synchronous", "1"}, // NORMAL
		{"writer", db.writer, "busy_timeout", "5000"},
		{"writer", db.writer, "query_only", "0"},
		{"reader", db.reader, "journal_mode", "wal"},
		{"reader", db.reader, "foreign_keys", "1"},
		{"reader", db.reader, "busy_timeout", "5000"},
		{"reader", db.reader, "query_only", "1"},
	} {
		var got string
		if err := tc.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("%s PRAGMA %s: %v", tc.pool, tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("%s PRAGMA %s = %q; want %q", tc.pool, tc.pragma, got, tc.want)
		}
	}
	if got := db.writer.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer MaxOpenConnections = %d; want 1", got)
	}
}

// Every index on the usage tables slows each batch down; adding one must be a
// deliberate change of this test.
func TestUsageIndexes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		table string
		want  []string
	}{
		// Primary key, (team_id, time) for reports, (team_id, project, time)
		// for per-project logs, and the partial unique index that bills a
		// queued task once however often it ran; every other index would
		// slow the inserts.
		{"usage", []string{"sqlite_autoindex_usage_1", "usage_job_once", "usage_team_project_time", "usage_team_time"}},
		// The rollups are WITHOUT ROWID tables clustered on their primary
		// key (team_id, bucket, key_id, project, model): every query is one
		// team's time range, and every batch updates them.
		{"usage_hourly", []string{"sqlite_autoindex_usage_hourly_1"}},
		{"usage_daily", []string{"sqlite_autoindex_usage_daily_1"}},
	} {
		if got := indexes(t, db, tc.table); !slices.Equal(got, tc.want) {
			t.Errorf("%s indexes = %q; want %q", tc.table, got, tc.want)
		}
	}
}

func indexes(t *testing.T, db *DB, table string) []string {
	t.Helper()
	rows, err := db.reader.QueryContext(context.Background(), `SELECT name FROM pragma_index_list(?) ORDER BY name`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}
