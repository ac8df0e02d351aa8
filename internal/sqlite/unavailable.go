package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/llmservice/llmservice"
	sqlite3 "modernc.org/sqlite/lib"
)

// This file turns a database that cannot be used (its disk full or failing,
// its file gone, its lock held by another process for longer than the busy
// timeout) into Unavailable errors, as internal/postgres does for a server
// that cannot be reached: callers answer 503 "the database is unavailable"
// instead of an internal error, and can tell an outage from a bad request.
// Data and constraint errors are not classified here.

// unavailableMessage is what a client is told while the database is
// unavailable.
const unavailableMessage = "The database is unavailable; try again shortly"

// errorf is fmt.Errorf for the errors that store methods return: the
// result is Unavailable when the wrapped error says the database could not
// be used.
func errorf(format string, args ...any) error {
	return unavailable(fmt.Errorf(format, args...))
}

// unavailable returns err as an Unavailable *llmservice.Error wrapping it
// when it says the database could not be used, and err unchanged otherwise.
func unavailable(err error) error {
	if err == nil || !databaseFailure(err) {
		return err
	}
	return &llmservice.Error{Kind: llmservice.Unavailable, Code: "database_unavailable", Message: unavailableMessage, Err: err}
}

// databaseFailure reports whether err comes from the database's
// environment rather than from the request: by SQLite result code (the
// primary code of an extended one) and by error type, never by message.
func databaseFailure(err error) bool {
	var e *llmservice.Error
	if errors.As(err, &e) {
		return false // classified already (or a store's own verdict)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true // a wait for the lock or the disk ran out of time
	}
	c := code(err)
	switch c & 0xff {
	case sqlite3.SQLITE_BUSY, // another process holds the lock past busy_timeout
		sqlite3.SQLITE_LOCKED,
		sqlite3.SQLITE_NOMEM,
		sqlite3.SQLITE_IOERR, // the disk failed a read or write
		sqlite3.SQLITE_FULL,  // the disk is full
		sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_PROTOCOL:
		return true
	case sqlite3.SQLITE_READONLY:
		// The extended codes say the file moved, cannot be locked or
		// recovered; the plain code is also what a write sent to the
		// query_only read pool gets, which is a bug, not an outage.
		return c != sqlite3.SQLITE_READONLY
	}
	return false
}
