package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	_ llmservice.UsageStore  = (*DB)(nil)
	_ llmservice.UsagePurger = (*DB)(nil)
)

const dayMS = 24 * 60 * 60 * 1000

// usageColumns are the ledger's columns in insert order.
const usageColumns = `id, time, team_id, key_id, project, endpoint, requested_model, provider,
	upstream_model, prompt_tokens, completion_tokens, tokens_estimated, cost,
	latency_ms, ttft_ms, stream, status, error_type, purpose, attempts, attempt_log,
	cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, cache_hits, saved_cost`

// usageRowsPerInsert is how many records one INSERT statement carries. One
// multi-row statement per 32 records instead of one Exec per record cuts
// database/sql's and the driver's per-call work, which dominated the cost of
// the ledger on the hot path (25 columns x 32 rows stays far below SQLite's
// 32766 bound parameters).
const usageRowsPerInsert = 32

// rollupRowsPerUpsert is the same for the rollups' 35 columns.
const rollupRowsPerUpsert = 64

// lastUsageRowSQL reads the largest rowid before a batch's insert.
const lastUsageRowSQL = `SELECT coalesce(max(rowid), 0) FROM usage`

// usageInsertSQL inserts rows records. OR IGNORE drops a retried record
// (primary key) and a queue task's second successful record
// (usage_job_once); neither may count in the rollups.
func usageInsertSQL(rows int) string {
	return "INSERT OR IGNORE INTO usage (" + usageColumns + ") VALUES " + valueRows(rows, 27)
}

// rollupUpsertSQL adds rows increments to table's rollups.
func rollupUpsertSQL(table string, rows int) string {
	return "INSERT INTO " + table + " AS r (" + storesql.UsageRollupColumns + ") VALUES " +
		valueRows(rows, 5+storesql.UsageSumColumns) + storesql.UsageRollupUpsert
}

// allRollupUpsertSQL adds rows increments to table's all-teams rollups.
func allRollupUpsertSQL(table string, rows int) string {
	return "INSERT INTO " + table + " AS r (" + storesql.UsageAllRollupColumns + ") VALUES " +
		valueRows(rows, 3+storesql.UsageSumColumns) + storesql.UsageAllRollupUpsert
}

// valueRows returns rows parenthesised lists of cols placeholders.
func valueRows(rows, cols int) string {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	return strings.Repeat(row+", ", rows-1) + row
}

func usageArgs(args []any, r *llmservice.UsageRecord) []any {
	return append(args, r.ID, toMS(r.Time), r.TeamID, r.KeyID, r.Project, r.Endpoint, r.RequestedModel,
		r.Provider, r.UpstreamModel, r.PromptTokens, r.CompletionTokens, r.TokensEstimated,
		int64(r.Cost), r.LatencyMS, r.TTFTMS, r.Stream, r.Status, r.ErrorType, r.Purpose,
		r.Attempts, r.AttemptLog, r.CacheReadTokens, r.CacheWriteTokens, r.CacheWrite1hTokens, r.ReasoningTokens, b2i(r.CacheHit), int64(r.SavedCost))
}

func rollupArgs(args []any, u *storesql.UsageRollup) []any {
	return u.AppendSums(append(args, u.TeamID, toMS(u.Bucket), u.KeyID, u.Project, u.Model))
}

// InsertUsage appends recs in one transaction, 32 records per statement,
// and adds those inserted to the hourly and daily rollups. INSERT OR IGNORE
// on the primary key makes a retried batch harmless: a record that made it
// in before a failed flush is not counted twice.
func (db *DB) InsertUsage(ctx context.Context, recs []llmservice.UsageRecord) error {
	if len(recs) == 0 {
		return nil
	}
	if err := storesql.CheckUsage(recs); err != nil {
		return fmt.Errorf("insert usage: %w", err)
	}
	l, err := db.preparedLedger(ctx)
	if err != nil {
		return fmt.Errorf("insert usage: prepare: %w", unavailable(err))
	}
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		return storesql.WriteUsage(usageTx{ctx, tx, l}, recs)
	})
	if err != nil {
		return fmt.Errorf("insert usage: %w", refused(err))
	}
	return nil
}

// refused returns err as an Invalid *llmservice.Error when SQLite refused
// the data itself (a constraint, a datatype mismatch, a value too big):
// sending the same records again cannot succeed, so the meter sets the
// records at fault aside instead of retrying. Anything else is returned
// unchanged.
func refused(err error) error {
	switch code(err) & 0xff {
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_RANGE:
	default:
		return err
	}
	if llmservice.ErrorKind(err) != llmservice.Internal {
		return err // classified already
	}
	return &llmservice.Error{Kind: llmservice.Invalid, Code: "usage_record_refused",
		Message: "the database refused a usage record", Err: err}
}

// usageTx writes the ledger within a transaction.
type usageTx struct {
	ctx context.Context
	tx  *sql.Tx
	l   *ledgerStmts
}

// InsertRecords inserts recs and returns those inserted. Nearly always all
// were: the changes count says so, and nothing more is read. Otherwise the
// records inserted are those past the largest rowid before the insert
// (SQLite gives a new row the largest rowid plus one), which is cheaper
// than a RETURNING clause on every statement of every batch.
func (u usageTx) InsertRecords(recs []llmservice.UsageRecord) ([]*llmservice.UsageRecord, error) {
	var last int64
	if err := u.tx.StmtContext(u.ctx, u.l.lastRow).QueryRowContext(u.ctx).Scan(&last); err != nil {
		return nil, err
	}
	var inserted int64
	err := chunked(u, len(recs), &u.l.usage, usageRowsPerInsert, usageInsertSQL, func(args []any, i int) []any {
		return usageArgs(args, &recs[i])
	}, func(res sql.Result) error {
		n, err := res.RowsAffected()
		inserted += n
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("records %s..: %w", recs[0].ID, err)
	}
	if inserted == int64(len(recs)) {
		return storesql.AllUsage(recs), nil
	}
	rows, err := u.tx.QueryContext(u.ctx, `SELECT id FROM usage WHERE rowid > ?`, last)
	if err != nil {
		return nil, err
	}
	ids, err := appendIDs(nil, rows)
	if err != nil {
		return nil, err
	}
	return storesql.FreshUsage(recs, ids), nil
}

// UpsertRollups adds us to table's rollups, 64 rows per statement in the
// order of us.
func (u usageTx) UpsertRollups(table string, us []storesql.UsageRollup) error {
	err := chunked(u, len(us), u.rollups(table), rollupRowsPerUpsert, func(rows int) string { return rollupUpsertSQL(table, rows) },
		func(args []any, i int) []any { return rollupArgs(args, &us[i]) }, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	return nil
}

// UpsertAllRollups adds us to table's all-teams rollups, 64 rows per
// statement in the order of us.
func (u usageTx) UpsertAllRollups(table string, us []storesql.UsageAllRollup) error {
	err := chunked(u, len(us), u.rollups(table), rollupRowsPerUpsert, func(rows int) string { return allRollupUpsertSQL(table, rows) },
		func(args []any, i int) []any {
			return us[i].AppendSums(append(args, us[i].Dim, toMS(us[i].Bucket), us[i].Value))
		}, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	return nil
}

// rollups returns table's prepared ladder, or nil for a table that has
// none (its statements are then prepared in the transaction).
func (u usageTx) rollups(table string) *ladder {
	if ld, ok := u.l.rollups[table]; ok {
		return &ld
	}
	return nil
}

// chunked executes the statement query(rows) over n items; arg appends
// item i's arguments, and done, if set, sees each result. With a prepared
// ladder, each chunk is the ladder's largest rung that fits what is left;
// without one, chunks are per rows, and their statements are prepared in
// the transaction.
func chunked(u usageTx, n int, ld *ladder, per int, query func(rows int) string,
	arg func(args []any, i int) []any, done func(sql.Result) error) error {
	var args []any
	for start := 0; start < n; {
		var (
			rows int
			stmt *sql.Stmt
			err  error
		)
		if ld != nil {
			var parent *sql.Stmt
			rows, parent = ld.step(n - start)
			stmt = u.tx.StmtContext(u.ctx, parent) // closed with the transaction
		} else {
			rows = min(per, n-start)
			if stmt, err = u.tx.PrepareContext(u.ctx, query(rows)); err != nil {
				return err
			}
		}
		args = args[:0]
		for i := start; i < start+rows; i++ {
			args = arg(args, i)
		}
		res, err := stmt.ExecContext(u.ctx, args...)
		if ld == nil {
			_ = stmt.Close()
		}
		if err == nil && done != nil {
			err = done(res)
		}
		if err != nil {
			return err
		}
		start += rows
	}
	return nil
}

// appendIDs appends the one-column text rows of rows to ids and closes rows.
func appendIDs(ids []string, rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// InsertBodies keeps the prompts and responses recs carry.
func (u usageTx) InsertBodies(recs []*llmservice.UsageRecord) error {
	var bodies *sql.Stmt
	for _, r := range recs {
		if r.Prompt == "" && r.Response == "" {
			continue
		}
		if bodies == nil {
			var err error
			if bodies, err = u.tx.PrepareContext(u.ctx, `INSERT OR IGNORE INTO usage_bodies (id, prompt, response) VALUES (?, ?, ?)`); err != nil {
				return err
			}
			defer bodies.Close()
		}
		if _, err := bodies.ExecContext(u.ctx, r.ID, r.Prompt, r.Response); err != nil {
			return fmt.Errorf("record %s body: %w", r.ID, err)
		}
	}
	return nil
}

// usageDialect spells the usage queries for SQLite: unix ms times, and day
// numbers floored by integer arithmetic (% keeps the dividend's sign).
var usageDialect = storesql.UsageDialect{
	Param: func(int) string { return "?" },
	Time:  func(t time.Time) any { return toMS(t) },
	Day: func(col string) string {
		return fmt.Sprintf("((%[1]s - ((%[1]s %% %[2]d) + %[2]d) %% %[2]d) / %[2]d)", col, dayMS)
	},
	AnyTeam: "team_id IN (SELECT id FROM teams)",
}

// SumUsage totals the records f selects, one row per group ordered by group,
// from the rollups plus the records of the sub-hour edges of the range.
// GroupBy "" always yields exactly one row, zero when nothing matched.
// Invalid (param group_by) for an unknown grouping.
func (db *DB) SumUsage(ctx context.Context, f llmservice.UsageFilter) ([]llmservice.UsageTotal, error) {
	totals, err := storesql.SumUsage(db.usageQuery(ctx), usageDialect, f)
	if err != nil {
		return nil, errorf("sum usage: %w", err)
	}
	return totals, nil
}

// FindUsageRecords lists a team's records with their bodies, newest first,
// a page at a time; the cursor is the last record's ID.
func (db *DB) FindUsageRecords(ctx context.Context, f llmservice.RecordFilter) ([]llmservice.UsageRecord, string, error) {
	out, next, err := storesql.FindUsageRecords(db.usageQuery(ctx), usageDialect, f, fromMS)
	if err != nil {
		return nil, "", errorf("find usage records: %w", err)
	}
	return out, next, nil
}

// usageQuery runs the usage queries on the read pool.
func (db *DB) usageQuery(ctx context.Context) storesql.UsageQuery {
	return func(q string, args []any) (storesql.UsageRows, func(), error) {
		rows, err := db.reader.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, nil, err
		}
		return rows, func() { rows.Close() }, nil
	}
}

// PurgeUsage deletes the records older than before, and their bodies, batch
// records a transaction so that the writer is never held long; the rollups
// stay. It walks the teams of the rollups and deletes each one's records
// through the (team_id, time) index, oldest first.
func (db *DB) PurgeUsage(ctx context.Context, before time.Time, batch int) (int, error) {
	rows, err := db.reader.QueryContext(ctx, storesql.UsageTeamsQuery)
	if err != nil {
		return 0, fmt.Errorf("purge usage: %w", err)
	}
	teams, err := appendIDs(nil, rows)
	if err != nil {
		return 0, fmt.Errorf("purge usage: %w", err)
	}
	deleted, err := storesql.PurgeUsage(teams, batch, func(team string, batch int) (int, error) {
		return db.purgeBatch(ctx, team, toMS(before), batch)
	})
	if err != nil {
		return deleted, fmt.Errorf("purge usage: %w", err)
	}
	return deleted, nil
}

// purgeBatch deletes up to batch of team's records older than before.
func (db *DB) purgeBatch(ctx context.Context, team string, before int64, batch int) (int, error) {
	var ids []string
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM usage WHERE rowid IN
			(SELECT rowid FROM usage WHERE team_id = ? AND time < ? ORDER BY time LIMIT ?) RETURNING id`, team, before, batch)
		if err != nil {
			return err
		}
		if ids, err = appendIDs(nil, rows); err != nil || len(ids) == 0 {
			return err
		}
		list, err := json.Marshal(ids)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM usage_bodies WHERE id IN (SELECT value FROM json_each(?))`, string(list))
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(ids), nil
}

// b2i stores a flag as 0 or 1.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
