// Package postgres implements the root package's store interfaces on
// PostgreSQL (pgx), for deployments that run several replicas against one
// shared database. It passes the same conformance suite (internal/storetest)
// as the embedded SQLite store.
//
// Times are timestamptz, truncated to the millisecond every store keeps;
// lists and policies are JSON text, as in SQLite, so that both stores share
// their encoders. Counters that replicas race on (credits, queue leases,
// usage rollups) are changed by single atomic statements or under row locks
// taken in a fixed order, so replicas never deadlock on them.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/llmservice/llmservice"
)

//go:embed migration/*.sql
var migrations embed.FS

// migrationLockID seeds the advisory lock that lets one replica at a time
// migrate; the others wait for it and then find nothing left to do.
const migrationLockID = 0x6c6c6d73 // "llms"

// DB is a PostgreSQL database holding every store of the gateway.
type DB struct {
	// Now returns the current time; it stamps CreatedAt when the caller left
	// it zero. Tests replace it.
	Now func() time.Time

	pool *pool  // classifies connection failures (unavailable.go)
	url  string // for messages only; never logged with its password
}

// Open connects to the database at url (a postgres:// URL; runtime
// parameters such as search_path may be given as query parameters). It does
// not migrate: call Migrate before using the stores.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	// The default (4 or NumCPU) is too small for a gateway whose meter,
	// queue workers and admin API share the pool with request-path reads.
	if cfg.MaxConns < int32(max(16, 4*runtime.NumCPU())) && !hasParam(url, "pool_max_conns") {
		cfg.MaxConns = int32(max(16, 4*runtime.NumCPU()))
	}
	pp, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := pp.Ping(ctx); err != nil {
		pp.Close()
		return nil, fmt.Errorf("open postgres %s@%s/%s: %w", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	return &DB{Now: time.Now, pool: &pool{Pool: pp}, url: cfg.ConnConfig.Host + "/" + cfg.ConnConfig.Database}, nil
}

func hasParam(url, name string) bool {
	for i := 0; i+len(name) < len(url); i++ {
		if url[i:i+len(name)] == name && url[i+len(name)] == '=' && (i > 0 && (url[i-1] == '?' || url[i-1] == '&')) {
			return true
		}
	}
	return false
}

// Pool returns the connection pool, for LISTEN/NOTIFY and benchmarks.
func (db *DB) Pool() *pgxpool.Pool { return db.pool.Pool }

// Migrate applies the embedded migrations the database lacks, holding a
// session advisory lock so that replicas starting together migrate one at
// a time.
func (db *DB) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migration")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// The lock is per schema: replicas of one installation share it, while
	// installations (and tests) in other schemas of the database migrate
	// without waiting on each other. It is tried every second for up to
	// five minutes (goose's default period of 5 s would make every replica
	// after the first wait that long).
	var schema string
	if err := db.pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte(schema))
	lockID := int64(h.Sum64()>>1) ^ migrationLockID
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(db.pool.Pool)
	defer sqlDB.Close()
	// As in SQLite: each API's tables have their own number range, so a
	// database created before a range existed must still take it.
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithAllowOutofOrder(true),
		goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", db.url, err)
	}
	return nil
}

// Close closes the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// withTx runs fn in a transaction, committing when fn returns nil. A
// connection lost inside fn or at commit is Unavailable, as everywhere.
func (db *DB) withTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.pool.classify(pgx.BeginFunc(ctx, db.pool, fn))
}

// now returns db.Now() at the millisecond precision every store keeps.
func (db *DB) now() time.Time {
	if db.Now == nil {
		return time.Now().UTC().Truncate(time.Millisecond)
	}
	return db.Now().UTC().Truncate(time.Millisecond)
}

// ms truncates t to the stored precision, in UTC.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// pgCode returns the SQLSTATE of err, or "" when err is not from the server.
func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// constraint returns the name of the constraint err violated, or "".
func constraint(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.ConstraintName
	}
	return ""
}

// isUnique reports a duplicate primary key or UNIQUE index entry.
func isUnique(err error) bool { return pgCode(err) == "23505" }

// isForeignKey reports a row that references a missing parent.
func isForeignKey(err error) bool { return pgCode(err) == "23503" }

// isNoRows reports a QueryRow that found nothing.
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// notFound builds the NotFound error for what; err is kept for logs.
func notFound(what string, err error) error {
	return &llmservice.Error{Kind: llmservice.NotFound, Message: what + " not found", Err: err}
}

// conflict builds the Conflict error for what; err is kept for logs.
func conflict(what string, err error) error {
	return &llmservice.Error{Kind: llmservice.Conflict, Message: what + " already exists", Err: err}
}
