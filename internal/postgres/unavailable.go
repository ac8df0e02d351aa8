package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/llmservice/llmservice"
)

// This file turns a database that cannot be reached into Unavailable errors
// at their source, so that every store method reports an outage the same
// way (503, "the database is unavailable") instead of as an internal error,
// and so that callers can tell an outage (wait, serve a cached copy) from a
// bad request or a bug. Data and constraint errors are not classified here.

// unavailableMessage is what a client is told while the database is
// unavailable.
const unavailableMessage = "The database is unavailable; try again shortly"

// pool is the connection pool with failures to reach the server classified
// as Unavailable. Every query of the stores goes through it (and withTx);
// its other methods are the pool's own.
type pool struct {
	*pgxpool.Pool
	closed atomic.Bool
}

func (p *pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := p.Pool.Exec(ctx, sql, args...)
	return tag, p.classify(err)
}

func (p *pool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := p.Pool.Query(ctx, sql, args...)
	if err != nil {
		return rows, p.classify(err)
	}
	return &classifiedRows{Rows: rows, p: p}, nil
}

func (p *pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return classifiedRow{row: p.Pool.QueryRow(ctx, sql, args...), p: p}
}

func (p *pool) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := p.Pool.Begin(ctx)
	return tx, p.classify(err)
}

// Close closes the pool; later calls fail as Unavailable (the pool's own
// error for it is not exported).
func (p *pool) Close() {
	p.closed.Store(true)
	p.Pool.Close()
}

type classifiedRow struct {
	row pgx.Row
	p   *pool
}

func (r classifiedRow) Scan(dest ...any) error { return r.p.classify(r.row.Scan(dest...)) }

// classifiedRows classifies the error that ends an iteration: a connection
// lost mid-result shows there, not in Query.
type classifiedRows struct {
	pgx.Rows
	p *pool
}

func (r *classifiedRows) Err() error { return r.p.classify(r.Rows.Err()) }

// classify returns err as an Unavailable *llmservice.Error wrapping it when
// it says the server could not be used, and err unchanged otherwise.
func (p *pool) classify(err error) error {
	if err == nil || !(p.closed.Load() || connectionFailure(err)) {
		return err
	}
	return &llmservice.Error{Kind: llmservice.Unavailable, Code: "database_unavailable", Message: unavailableMessage, Err: err}
}

// connectionFailure reports whether err means the server was unreachable,
// went away, refused the session or ran out of time: everything a later
// attempt may not meet, as opposed to what the request itself caused.
// It decides by error type and SQLSTATE, never by message.
func connectionFailure(err error) bool {
	var e *llmservice.Error
	if errors.As(err, &e) {
		return false // classified already (or a store's own verdict)
	}
	if errors.Is(err, context.Canceled) {
		return false // the caller gave up: not the database's doing
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "57P01", // admin_shutdown
			pe.Code == "57P02", // crash_shutdown
			pe.Code == "57P03", // cannot_connect_now (starting up, recovering)
			pe.Code == "53300", // too_many_connections
			pe.Code == "57014": // query_canceled: statement_timeout, or a cancelled wait
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) ||
		pgconn.SafeToRetry(err) || // failed before anything was sent: the connection itself
		pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.As(err, &ne) || // refused, reset, unreachable, broken pipe
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
