package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/llmservice/llmservice"
)

var _ llmservice.UsageStore = (*DB)(nil)

const dayMS = 24 * 60 * 60 * 1000

// usageColumns are the ledger's columns in insert order.
const usageColumns = `id, time, team_id, key_id, project, endpoint, requested_model, provider,
	upstream_model, prompt_tokens, completion_tokens, tokens_estimated, cost,
	latency_ms, ttft_ms, stream, status, error_type, purpose, attempts, attempt_log`

// usageRowsPerInsert is how many records one INSERT statement carries. One
// multi-row statement per 32 records instead of one Exec per record cuts
// database/sql's and the driver's per-call work, which dominated the cost of
// the ledger on the hot path (21 columns x 32 rows stays far below SQLite's
// 32766 bound parameters).
const usageRowsPerInsert = 32

var usageInsertFull = usageInsertSQL(usageRowsPerInsert)

func usageInsertSQL(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT OR IGNORE INTO usage (" + usageColumns + ") VALUES ")
	row := "(" + strings.Repeat("?, ", 20) + "?)"
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

func usageArgs(args []any, r *llmservice.UsageRecord) []any {
	return append(args, r.ID, toMS(r.Time), r.TeamID, r.KeyID, r.Project, r.Endpoint, r.RequestedModel,
		r.Provider, r.UpstreamModel, r.PromptTokens, r.CompletionTokens, r.TokensEstimated,
		int64(r.Cost), r.LatencyMS, r.TTFTMS, r.Stream, r.Status, r.ErrorType, r.Purpose,
		r.Attempts, r.AttemptLog)
}

// InsertUsage appends recs in one transaction, 32 records per statement.
// INSERT OR IGNORE on the primary key makes a retried batch harmless: a
// record that made it in before a failed flush is not counted twice.
func (db *DB) InsertUsage(ctx context.Context, recs []llmservice.UsageRecord) error {
	if len(recs) == 0 {
		return nil
	}
	// An empty ID would make every such record collide with the first one and
	// vanish silently.
	for i := range recs {
		if recs[i].ID == "" {
			return fmt.Errorf("insert usage: %w", llmservice.Errorf(llmservice.Invalid, "usage record %d has no id", i))
		}
	}
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var full *sql.Stmt
		args := make([]any, 0, 21*usageRowsPerInsert)
		for start := 0; start < len(recs); start += usageRowsPerInsert {
			chunk := recs[start:min(start+usageRowsPerInsert, len(recs))]
			args = args[:0]
			for i := range chunk {
				args = usageArgs(args, &chunk[i])
			}
			var err error
			if len(chunk) == usageRowsPerInsert {
				if full == nil {
					if full, err = tx.PrepareContext(ctx, usageInsertFull); err != nil {
						return err
					}
					defer full.Close()
				}
				_, err = full.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, usageInsertSQL(len(chunk)), args...)
			}
			if err != nil {
				return fmt.Errorf("records %s..: %w", chunk[0].ID, err)
			}
		}
		var bodies *sql.Stmt
		for i := range recs {
			r := &recs[i]
			if r.Prompt == "" && r.Response == "" {
				continue
			}
			if bodies == nil {
				var err error
				if bodies, err = tx.PrepareContext(ctx, `INSERT OR IGNORE INTO usage_bodies (id, prompt, response) VALUES (?, ?, ?)`); err != nil {
					return err
				}
				defer bodies.Close()
			}
			if _, err := bodies.ExecContext(ctx, r.ID, r.Prompt, r.Response); err != nil {
				return fmt.Errorf("record %s body: %w", r.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("insert usage: %w", err)
	}
	return nil
}

// usageGroups maps UsageFilter.GroupBy to the SQL expression grouped on.
// Days group by integer division of the millisecond time (UTC days), and the
// day number is formatted in Go.
var usageGroups = map[string]string{
	"":      "''",
	"model": "requested_model",
	"key":   "key_id",
	"day":   fmt.Sprintf("time / %d", dayMS),
}

// SumUsage totals the records f selects, one row per group ordered by group.
// GroupBy "" always yields exactly one row, zero when nothing matched.
// Invalid (param group_by) for an unknown grouping.
func (db *DB) SumUsage(ctx context.Context, f llmservice.UsageFilter) ([]llmservice.UsageTotal, error) {
	group, ok := usageGroups[f.GroupBy]
	if !ok {
		return nil, llmservice.InvalidParam("group_by", "unknown group_by %q: use model, key or day", f.GroupBy)
	}
	var (
		where []string
		args  []any
	)
	if f.TeamID != "" {
		where = append(where, "team_id = ?")
		args = append(args, f.TeamID)
	}
	if f.KeyID != "" {
		where = append(where, "key_id = ?")
		args = append(args, f.KeyID)
	}
	if f.Project != "" {
		where = append(where, "project = ?")
		args = append(args, f.Project)
	}
	if !f.From.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, toMS(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "time < ?")
		args = append(args, toMS(f.To))
	}
	q := `SELECT ` + group + ` AS g, count(*),
		coalesce(sum(status >= 400), 0),
		coalesce(sum(prompt_tokens), 0),
		coalesce(sum(completion_tokens), 0),
		coalesce(sum(cost), 0),
		coalesce(avg(latency_ms), 0)
		FROM usage`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	// Without GROUP BY the aggregate returns its one total row even when no
	// record matched.
	if f.GroupBy != "" {
		q += ` GROUP BY g ORDER BY g`
	}
	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sum usage: %w", err)
	}
	defer rows.Close()
	var totals []llmservice.UsageTotal
	for rows.Next() {
		var (
			t    llmservice.UsageTotal
			g    any
			cost int64
		)
		if err := rows.Scan(&g, &t.Requests, &t.Errors, &t.PromptTokens, &t.CompletionTokens,
			&cost, &t.AvgLatencyMS); err != nil {
			return nil, fmt.Errorf("sum usage: %w", err)
		}
		t.Group = groupName(f.GroupBy, g)
		t.TotalTokens = t.PromptTokens + t.CompletionTokens
		t.Cost = llmservice.Nanos(cost)
		t.CostUSD = t.Cost.Dollars()
		totals = append(totals, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sum usage: %w", err)
	}
	return totals, nil
}

// groupName turns a scanned group value into UsageTotal.Group.
func groupName(groupBy string, g any) string {
	switch v := g.(type) {
	case int64:
		if groupBy == "day" {
			return fromMS(v * dayMS).Format("2006-01-02")
		}
		return fmt.Sprint(v)
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

// FindUsageRecords lists a team's records with their bodies, newest first,
// a page at a time; the cursor is the last record's ID.
func (db *DB) FindUsageRecords(ctx context.Context, f llmservice.RecordFilter) ([]llmservice.UsageRecord, string, error) {
	if f.TeamID == "" {
		return nil, "", llmservice.InvalidParam("team_id", "team_id is required")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	where := []string{"u.team_id = ?"}
	args := []any{f.TeamID}
	if f.Project != "" {
		where = append(where, "u.project = ?")
		args = append(args, f.Project)
	}
	if f.KeyID != "" {
		where = append(where, "u.key_id = ?")
		args = append(args, f.KeyID)
	}
	if !f.From.IsZero() {
		where = append(where, "u.time >= ?")
		args = append(args, toMS(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "u.time < ?")
		args = append(args, toMS(f.To))
	}
	if f.Before != "" {
		// Keyset pagination on (time, id): stable while new records arrive.
		where = append(where, "(u.time, u.id) < (SELECT time, id FROM usage WHERE id = ? AND team_id = ?)")
		args = append(args, f.Before, f.TeamID)
	}
	args = append(args, limit+1)
	rows, err := db.reader.QueryContext(ctx, `SELECT u.id, u.time, u.team_id, u.key_id, u.project, u.endpoint,
		u.requested_model, u.provider, u.upstream_model, u.prompt_tokens, u.completion_tokens, u.tokens_estimated,
		u.cost, u.latency_ms, u.ttft_ms, u.stream, u.status, u.error_type, u.purpose, u.attempts, u.attempt_log,
		coalesce(b.prompt, ''), coalesce(b.response, '')
		FROM usage u LEFT JOIN usage_bodies b ON b.id = u.id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY u.time DESC, u.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("find usage records: %w", err)
	}
	defer rows.Close()
	var out []llmservice.UsageRecord
	for rows.Next() {
		var (
			r    llmservice.UsageRecord
			ms   int64
			cost int64
		)
		if err := rows.Scan(&r.ID, &ms, &r.TeamID, &r.KeyID, &r.Project, &r.Endpoint, &r.RequestedModel, &r.Provider,
			&r.UpstreamModel, &r.PromptTokens, &r.CompletionTokens, &r.TokensEstimated, &cost, &r.LatencyMS, &r.TTFTMS,
			&r.Stream, &r.Status, &r.ErrorType, &r.Purpose, &r.Attempts, &r.AttemptLog, &r.Prompt, &r.Response); err != nil {
			return nil, "", fmt.Errorf("find usage records: %w", err)
		}
		r.Time = fromMS(ms)
		r.Cost = llmservice.Nanos(cost)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("find usage records: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}
