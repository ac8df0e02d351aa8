package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

// ledgerStmts are the ledger's multi-row statements, prepared once on the
// writer instead of in every batch's transaction: compiling a 32-row
// INSERT or a 64-row upsert cost SQLite more than running it, and at a few
// hundred calls a second a batch holds a few dozen records, so the
// per-batch prepares were most of the ledger's CPU.
//
// A chunk runs as statements of the row counts of a ladder (for usage
// rows 32, 16, 8, 4, 2, 1: at most six statements for any chunk), so that
// a handful of prepared shapes serve every batch.
type ledgerStmts struct {
	usage   ladder
	rollups map[string]ladder // by rollup table
	lastRow *sql.Stmt         // the usage table's largest rowid
}

// ladder holds one statement per row count, largest first.
type ladder struct {
	rows  []int
	stmts []*sql.Stmt
}

// usageLadder and rollupLadder are the row counts prepared. A batch's
// rollups are few (one row per team, key, project, model and hour in it),
// so their ladder is shorter.
var (
	usageLadder  = []int{usageRowsPerInsert, 16, 8, 4, 2, 1}
	rollupLadder = []int{rollupRowsPerUpsert, 8, 1}
)

// rollupTables are the rollup tables storesql.WriteUsage writes, with
// their statements; another table's statements are prepared per batch.
var rollupTables = map[string]func(table string, rows int) string{
	"usage_hourly":     rollupUpsertSQL,
	"usage_daily":      rollupUpsertSQL,
	"usage_hourly_all": allRollupUpsertSQL,
	"usage_daily_all":  allRollupUpsertSQL,
}

// preparedLedger returns the ledger's statements, preparing them on the
// writer the first time. It must not be called inside a transaction of the
// writer (its one connection is taken then); a transaction adopts a
// statement with Tx.StmtContext, which reuses what the connection has
// prepared.
func (db *DB) preparedLedger(ctx context.Context) (*ledgerStmts, error) {
	db.ledgerMu.Lock()
	defer db.ledgerMu.Unlock()
	if db.ledger != nil {
		return db.ledger, nil
	}
	l := &ledgerStmts{rollups: make(map[string]ladder, len(rollupTables))}
	var all []*sql.Stmt
	prepare := func(rows []int, query func(rows int) string) (ladder, error) {
		ld := ladder{rows: rows}
		for _, n := range rows {
			s, err := db.writer.PrepareContext(ctx, query(n))
			if err != nil {
				return ld, err
			}
			all = append(all, s)
			ld.stmts = append(ld.stmts, s)
		}
		return ld, nil
	}
	var err error
	if l.lastRow, err = db.writer.PrepareContext(ctx, lastUsageRowSQL); err != nil {
		return nil, err
	}
	all = append(all, l.lastRow)
	if l.usage, err = prepare(usageLadder, usageInsertSQL); err == nil {
		for table, q := range rollupTables {
			var ld ladder
			if ld, err = prepare(rollupLadder, func(rows int) string { return q(table, rows) }); err != nil {
				break
			}
			l.rollups[table] = ld
		}
	}
	if err != nil {
		for _, s := range all {
			_ = s.Close()
		}
		return nil, err
	}
	db.ledger = l
	return l, nil
}

// closeLedger closes the prepared statements (at Close).
func (db *DB) closeLedger() error {
	db.ledgerMu.Lock()
	defer db.ledgerMu.Unlock()
	if db.ledger == nil {
		return nil
	}
	errs := []error{db.ledger.lastRow.Close()}
	for _, s := range db.ledger.usage.stmts {
		errs = append(errs, s.Close())
	}
	for _, ld := range db.ledger.rollups {
		for _, s := range ld.stmts {
			errs = append(errs, s.Close())
		}
	}
	db.ledger = nil
	return errors.Join(errs...)
}

// step returns the largest rung of the ladder that fits in n rows and its
// statement.
func (ld ladder) step(n int) (int, *sql.Stmt) {
	for i, r := range ld.rows {
		if r <= n {
			return r, ld.stmts[i]
		}
	}
	return 0, nil // unreachable: every ladder ends with 1
}
