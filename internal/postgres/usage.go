package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var (
	_ llmservice.UsageStore  = (*DB)(nil)
	_ llmservice.UsagePurger = (*DB)(nil)
)

// usageRowsPerInsert is how many records one INSERT carries. Each column
// travels as one array parameter and unnest turns the arrays back into
// rows: one statement of 25 parameters, prepared once, whatever the batch
// size, where a many-row VALUES list is a new statement to parse and plan
// for each size and binds 25 parameters a record.
const usageRowsPerInsert = 1000

// usageInsert inserts records and returns the IDs of those inserted. ON
// CONFLICT DO NOTHING (any constraint) drops a retried record (primary key)
// and a queue task's second successful record (usage_job_once), and neither
// may count in the rollups.
const usageInsert = `INSERT INTO usage (id, time, team_id, key_id, project, endpoint, requested_model, provider,
	upstream_model, prompt_tokens, completion_tokens, tokens_estimated, cost,
	latency_ms, ttft_ms, stream, status, error_type, purpose, attempts, attempt_log,
	cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, cache_hits, saved_cost)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
	$8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::boolean[], $13::bigint[],
	$14::bigint[], $15::bigint[], $16::boolean[], $17::integer[], $18::text[], $19::text[], $20::integer[], $21::text[],
	$22::bigint[], $23::bigint[], $24::bigint[], $25::bigint[], $26::bigint[], $27::bigint[])
ON CONFLICT DO NOTHING RETURNING id`

// usageColumns are a chunk of records, a slice a column.
type usageColumns struct {
	ids, teams, keys, projects, endpoints, models, providers, upstreams []string
	times                                                               []time.Time
	prompt, completion, cost, latency, ttft                             []int64
	estimated, stream                                                   []bool
	status, attempts                                                    []int32
	errorTypes, purposes, attemptLogs                                   []string
	cacheRead, cacheWrite, cacheWrite1h, reasoning                      []int64
	cacheHits, saved                                                    []int64
}

func (c *usageColumns) reset() {
	*c = usageColumns{
		c.ids[:0], c.teams[:0], c.keys[:0], c.projects[:0], c.endpoints[:0], c.models[:0], c.providers[:0], c.upstreams[:0],
		c.times[:0], c.prompt[:0], c.completion[:0], c.cost[:0], c.latency[:0], c.ttft[:0],
		c.estimated[:0], c.stream[:0], c.status[:0], c.attempts[:0],
		c.errorTypes[:0], c.purposes[:0], c.attemptLogs[:0],
		c.cacheRead[:0], c.cacheWrite[:0], c.cacheWrite1h[:0], c.reasoning[:0],
		c.cacheHits[:0], c.saved[:0],
	}
}

func (c *usageColumns) add(r *llmservice.UsageRecord) {
	c.ids = append(c.ids, r.ID)
	c.times = append(c.times, ms(r.Time))
	c.teams = append(c.teams, r.TeamID)
	c.keys = append(c.keys, r.KeyID)
	c.projects = append(c.projects, r.Project)
	c.endpoints = append(c.endpoints, r.Endpoint)
	c.models = append(c.models, r.RequestedModel)
	c.providers = append(c.providers, r.Provider)
	c.upstreams = append(c.upstreams, r.UpstreamModel)
	c.prompt = append(c.prompt, int64(r.PromptTokens))
	c.completion = append(c.completion, int64(r.CompletionTokens))
	c.estimated = append(c.estimated, r.TokensEstimated)
	c.cost = append(c.cost, int64(r.Cost))
	c.latency = append(c.latency, int64(r.LatencyMS))
	c.ttft = append(c.ttft, int64(r.TTFTMS))
	c.stream = append(c.stream, r.Stream)
	c.status = append(c.status, int32(r.Status))
	c.errorTypes = append(c.errorTypes, r.ErrorType)
	c.purposes = append(c.purposes, r.Purpose)
	c.attempts = append(c.attempts, int32(r.Attempts))
	c.attemptLogs = append(c.attemptLogs, r.AttemptLog)
	c.cacheRead = append(c.cacheRead, int64(r.CacheReadTokens))
	c.cacheWrite = append(c.cacheWrite, int64(r.CacheWriteTokens))
	c.cacheWrite1h = append(c.cacheWrite1h, int64(r.CacheWrite1hTokens))
	c.reasoning = append(c.reasoning, int64(r.ReasoningTokens))
	hit := int64(0)
	if r.CacheHit {
		hit = 1
	}
	c.cacheHits = append(c.cacheHits, hit)
	c.saved = append(c.saved, int64(r.SavedCost))
}

func (c *usageColumns) args() []any {
	return []any{c.ids, c.times, c.teams, c.keys, c.projects, c.endpoints, c.models, c.providers, c.upstreams,
		c.prompt, c.completion, c.estimated, c.cost, c.latency, c.ttft, c.stream, c.status,
		c.errorTypes, c.purposes, c.attempts, c.attemptLogs, c.cacheRead, c.cacheWrite, c.cacheWrite1h, c.reasoning,
		c.cacheHits, c.saved}
}

// InsertUsage appends recs in one transaction, 1000 records per statement,
// and adds those inserted to the hourly and daily rollups. ON CONFLICT DO
// NOTHING makes a retried batch harmless: a record that made it in before a
// failed flush is not counted twice.
func (db *DB) InsertUsage(ctx context.Context, recs []llmservice.UsageRecord) error {
	if len(recs) == 0 {
		return nil
	}
	if err := storesql.CheckUsage(recs); err != nil {
		return fmt.Errorf("insert usage: %w", err)
	}
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		return storesql.WriteUsage(usageTx{ctx, tx}, recs)
	})
	if err != nil {
		return fmt.Errorf("insert usage: %w", refused(err))
	}
	return nil
}

// refused returns err as an Invalid *llmservice.Error when PostgreSQL
// refused the data itself (SQLSTATE class 22, data exception, such as
// 22021 for a NUL byte or 22003 for a number out of range; class 23,
// integrity constraint violation): sending the same records again cannot
// succeed, so the meter sets the records at fault aside instead of
// retrying. Anything else is returned unchanged.
func refused(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || len(pe.Code) != 5 || (pe.Code[:2] != "22" && pe.Code[:2] != "23") {
		return err
	}
	if llmservice.ErrorKind(err) != llmservice.Internal {
		return err // classified already
	}
	return &llmservice.Error{Kind: llmservice.Invalid, Code: "usage_record_refused",
		Message: "the database refused a usage record: SQLSTATE " + pe.Code, Err: err}
}

// usageTx writes the ledger within a transaction.
type usageTx struct {
	ctx context.Context
	tx  pgx.Tx
}

// InsertRecords inserts recs and returns those inserted.
func (u usageTx) InsertRecords(recs []llmservice.UsageRecord) ([]*llmservice.UsageRecord, error) {
	var (
		c   usageColumns
		ids = make([]string, 0, len(recs))
	)
	for start := 0; start < len(recs); start += usageRowsPerInsert {
		chunk := recs[start:min(start+usageRowsPerInsert, len(recs))]
		c.reset()
		for i := range chunk {
			c.add(&chunk[i])
		}
		rows, err := u.tx.Query(u.ctx, usageInsert, c.args()...)
		if err != nil {
			return nil, fmt.Errorf("records %s..: %w", chunk[0].ID, err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("records %s..: %w", chunk[0].ID, err)
		}
		ids = append(ids, got...)
	}
	return storesql.FreshUsage(recs, ids), nil
}

// InsertBodies keeps the prompts and responses recs carry.
func (u usageTx) InsertBodies(recs []*llmservice.UsageRecord) error {
	var ids, prompts, responses []string
	for _, r := range recs {
		if r.Prompt != "" || r.Response != "" {
			ids, prompts, responses = append(ids, r.ID), append(prompts, r.Prompt), append(responses, r.Response)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := u.tx.Exec(u.ctx, `INSERT INTO usage_bodies (id, prompt, response)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING`, ids, prompts, responses)
	if err != nil {
		return fmt.Errorf("bodies: %w", err)
	}
	return nil
}

// UpsertRollups adds us to table's rollups in one statement. unnest keeps
// the order of us, sorted by key, so that replicas flushing at once lock the
// rows they share in the same order and cannot deadlock.
func (u usageTx) UpsertRollups(table string, us []storesql.UsageRollup) error {
	if len(us) == 0 {
		return nil
	}
	var (
		teams, keys, projects, models []string
		buckets                       []time.Time
		sums                          sumColumns
	)
	for i := range us {
		r := &us[i]
		teams, buckets, keys = append(teams, r.TeamID), append(buckets, r.Bucket), append(keys, r.KeyID)
		projects, models = append(projects, r.Project), append(models, r.Model)
		sums.add(&r.UsageSums)
	}
	_, err := u.tx.Exec(u.ctx, `INSERT INTO `+table+` AS r (`+storesql.UsageRollupColumns+`)
		SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], `+unnestSums(6)+`)`+
		storesql.UsageRollupUpsert, sums.args(teams, buckets, keys, projects, models)...)
	if err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	return nil
}

// UpsertAllRollups adds us to table's all-teams rollups in one statement,
// in the order of us.
func (u usageTx) UpsertAllRollups(table string, us []storesql.UsageAllRollup) error {
	if len(us) == 0 {
		return nil
	}
	var (
		dims, values []string
		buckets      []time.Time
		sums         sumColumns
	)
	for i := range us {
		r := &us[i]
		dims, buckets, values = append(dims, r.Dim), append(buckets, r.Bucket), append(values, r.Value)
		sums.add(&r.UsageSums)
	}
	_, err := u.tx.Exec(u.ctx, `INSERT INTO `+table+` AS r (`+storesql.UsageAllRollupColumns+`)
		SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], `+unnestSums(4)+`)`+
		storesql.UsageAllRollupUpsert, sums.args(dims, buckets, values)...)
	if err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	return nil
}

// sumColumns are the summed columns of rollup rows, an array a column.
type sumColumns [storesql.UsageSumColumns][]int64

func (c *sumColumns) add(s *storesql.UsageSums) {
	for i, v := range s.AppendSums(make([]any, 0, storesql.UsageSumColumns)) {
		c[i] = append(c[i], v.(int64))
	}
}

// args are the key columns' arrays, then the sums'.
func (c *sumColumns) args(keys ...any) []any {
	for i := range c {
		keys = append(keys, c[i])
	}
	return keys
}

// unnestSums lists the sums' array parameters from $first on.
func unnestSums(first int) string {
	ps := make([]string, storesql.UsageSumColumns)
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d::bigint[]", first+i)
	}
	return strings.Join(ps, ", ")
}

// usageDialect spells the totals query for Postgres: timestamptz times, and
// UTC day numbers as date differences.
var usageDialect = storesql.UsageDialect{
	Param: func(n int) string { return fmt.Sprintf("$%d", n) },
	Time:  func(t time.Time) any { return ms(t) },
	Day: func(col string) string {
		return "((" + col + " AT TIME ZONE 'UTC')::date - DATE '1970-01-01')::bigint"
	},
	// As a semi-join (IN) the planner reads the whole hourly rollup
	// rather than probe it a team at a time.
	AnyTeam: "team_id = ANY (ARRAY(SELECT id FROM teams))",
}

// SumUsage totals the records f selects, one row per group ordered by group,
// from the rollups plus the records of the sub-hour edges of the range.
// GroupBy "" always yields exactly one row, zero when nothing matched.
// Invalid (param group_by) for an unknown grouping.
func (db *DB) SumUsage(ctx context.Context, f llmservice.UsageFilter) ([]llmservice.UsageTotal, error) {
	totals, err := storesql.SumUsage(db.usageQuery(ctx), usageDialect, f)
	if err != nil {
		return nil, fmt.Errorf("sum usage: %w", err)
	}
	return totals, nil
}

// FindUsageRecords lists a team's records with their bodies, newest first,
// a page at a time; the cursor is the last record's ID.
func (db *DB) FindUsageRecords(ctx context.Context, f llmservice.RecordFilter) ([]llmservice.UsageRecord, string, error) {
	out, next, err := storesql.FindUsageRecords(db.usageQuery(ctx), usageDialect, f, time.Time.UTC)
	if err != nil {
		return nil, "", fmt.Errorf("find usage records: %w", err)
	}
	return out, next, nil
}

// usageQuery runs the usage queries on the pool.
func (db *DB) usageQuery(ctx context.Context) storesql.UsageQuery {
	return func(q string, args []any) (storesql.UsageRows, func(), error) {
		rows, err := db.pool.Query(ctx, q, args...)
		if err != nil {
			return nil, nil, err
		}
		return rows, rows.Close, nil
	}
}

// PurgeUsage deletes the records older than before, and their bodies, batch
// records a statement (its own transaction, so locks stay short); the
// rollups stay. It walks the teams of the rollups and deletes each one's
// records through the (team_id, time) index, oldest first. Replicas purging
// at once only skip each other's rows.
func (db *DB) PurgeUsage(ctx context.Context, before time.Time, batch int) (int, error) {
	rows, err := db.pool.Query(ctx, storesql.UsageTeamsQuery)
	if err != nil {
		return 0, fmt.Errorf("purge usage: %w", err)
	}
	teams, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("purge usage: %w", err)
	}
	deleted, err := storesql.PurgeUsage(teams, batch, func(team string, batch int) (n int, err error) {
		// The ctids of the batch, then a TID scan: no second index search
		// for the rows the first one found.
		err = db.pool.QueryRow(ctx, `WITH gone AS (
				DELETE FROM usage WHERE ctid = ANY (ARRAY(
					SELECT ctid FROM usage WHERE team_id = $1 AND time < $2 ORDER BY time LIMIT $3))
				RETURNING id),
			bodies AS (DELETE FROM usage_bodies WHERE id IN (SELECT id FROM gone))
			SELECT count(*) FROM gone`, team, ms(before), batch).Scan(&n)
		return n, err
	})
	if err != nil {
		return deleted, fmt.Errorf("purge usage: %w", err)
	}
	return deleted, nil
}
