// Package sqlite implements the root package's store interfaces on an
// embedded SQLite database (modernc.org/sqlite, no cgo).
//
// SQLite allows one writer at a time. A DB therefore keeps two pools: a writer
// limited to one connection, whose transactions begin IMMEDIATE, and a read
// pool that runs queries concurrently under WAL. Writers queue in Go instead
// of failing with SQLITE_BUSY, and readers never wait for them.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migration/*.sql
var migrations embed.FS

// busyTimeout is how long a connection waits for another process's write
// lock before giving up with SQLITE_BUSY. Within one process the writer pool
// already serializes writes, so this only matters across processes.
const busyTimeout = 5 * time.Second

// DB is a SQLite database holding every store of the gateway. It implements
// llmservice.TeamStore, KeyStore, CatalogStore, SettingStore and UsageStore.
type DB struct {
	// Now returns the current time; it stamps CreatedAt when the caller left
	// it zero. Tests replace it.
	Now func() time.Time

	path   string
	writer *sql.DB
	reader *sql.DB

	// ledger holds the usage ledger's prepared statements (ledgerstmts.go).
	ledgerMu sync.Mutex
	ledger   *ledgerStmts
}

// Open opens (creating if needed) the database at path and its parent
// directory. It does not migrate: call Migrate before using the stores.
//
// The path ":memory:" opens a private in-memory database; reads then share
// the single writer connection, since each connection would otherwise see its
// own empty database.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	// The driver cuts the DSN at '?' to read its parameters.
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open sqlite %s: path must not contain '?'", path)
	}
	memory := path == ":memory:"
	if !memory {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
	}

	db := &DB{Now: time.Now, path: path}
	var err error
	// journal_mode=WAL is persistent in the file, so setting it on the writer
	// is enough; synchronous=NORMAL is safe under WAL (a power loss may lose
	// the last commits, never corrupt the file).
	db.writer, err = openPool(ctx, path, 1,
		"journal_mode(WAL)", "synchronous(NORMAL)")
	if err != nil {
		return nil, err
	}
	if memory {
		db.reader = db.writer
		return db, nil
	}
	// query_only turns a write sent to the read pool by mistake into an error
	// instead of a second writer competing for the lock.
	db.reader, err = openPool(ctx, path, max(4, runtime.NumCPU()), "query_only(1)")
	if err != nil {
		_ = db.writer.Close()
		return nil, err
	}
	return db, nil
}

// openPool opens a pool of at most n connections with the shared pragmas plus
// extra ones, and pings it so that a bad path fails here, not on first use.
func openPool(ctx context.Context, path string, n int, extra ...string) (*sql.DB, error) {
	// busy_timeout comes first (the driver orders it so) because the other
	// pragmas may need the lock. _txlock=immediate takes the write lock at
	// BEGIN: a deferred transaction that reads and then writes can fail with
	// SQLITE_BUSY when another connection wrote in between, and no timeout
	// helps then (https://sqlite.org/lang_transaction.html).
	pragmas := append([]string{
		fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()),
		"foreign_keys(1)",
	}, extra...)
	dsn := path + "?_txlock=immediate"
	for _, p := range pragmas {
		dsn += "&_pragma=" + p
	}
	pool, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	pool.SetMaxOpenConns(n)
	pool.SetMaxIdleConns(n)
	// An in-memory database lives only as long as its connection.
	pool.SetConnMaxLifetime(0)
	pool.SetConnMaxIdleTime(0)
	if err := pool.PingContext(ctx); err != nil {
		_ = pool.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return pool, nil
}

// Migrate applies the embedded migrations that the database lacks.
func (db *DB) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migration")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Go migrations registered globally by other packages must not leak in.
	// Out of order is allowed because each API's tables have their own
	// number range (00010 Athena, 00020 Django, ...): a database created
	// before one range existed must still take it.
	p, err := goose.NewProvider(goose.DialectSQLite3, db.writer, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", db.path, err)
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	err := errors.Join(db.closeLedger(), db.writer.Close())
	if db.reader != db.writer {
		err = errors.Join(err, db.reader.Close())
	}
	return err
}

// withTx runs fn in a write transaction, committing when fn returns nil.
// A database that cannot be used is Unavailable, as in errorf.
func (db *DB) withTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return unavailable(err)
	}
	return unavailable(tx.Commit())
}

// now returns db.Now() at the precision the database keeps.
func (db *DB) now() time.Time {
	if db.Now == nil {
		return fromMS(toMS(time.Now()))
	}
	return fromMS(toMS(db.Now()))
}
