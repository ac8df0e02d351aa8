package sqlite

import (
	"database/sql"
	"errors"
	"time"

	"github.com/llmservice/llmservice"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Times are stored as INTEGER unix milliseconds: compact, ordered, and usage
// can be grouped by day with integer division.

func toMS(t time.Time) int64 { return t.UnixMilli() }

func fromMS(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func toNullMS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: toMS(*t), Valid: true}
}

func fromNullMS(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMS(n.Int64)
	return &t
}

// code returns the extended SQLite result code of err, or 0 when err does not
// come from SQLite. The driver turns extended codes on for every connection.
func code(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// isUnique reports a duplicate primary key or UNIQUE index entry.
func isUnique(err error) bool {
	c := code(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isForeignKey reports a row that references a missing parent.
func isForeignKey(err error) bool {
	return code(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// notFound builds the NotFound error for what; err is kept for logs.
func notFound(what string, err error) error {
	return &llmservice.Error{Kind: llmservice.NotFound, Message: what + " not found", Err: err}
}

// conflict builds the Conflict error for what; err is kept for logs.
func conflict(what string, err error) error {
	return &llmservice.Error{Kind: llmservice.Conflict, Message: what + " already exists", Err: err}
}
