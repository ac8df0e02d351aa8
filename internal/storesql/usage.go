package storesql

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
)

// The usage ledger keeps raw records plus two rollups, usage_hourly and
// usage_daily: one row per (team, UTC hour or day, key, project, requested
// model) with the sums SumUsage reports. InsertUsage adds each new record to
// both rollups in its transaction, so totals read a few thousand rollup rows
// instead of millions of records; raw records are only read for the sub-hour
// edges of a range. Both stores share the logic below so that they split
// ranges, aggregate and name groups identically.

// usageDay is one UTC day.
const usageDay = 24 * time.Hour

// UsageSource is the table one piece of a SumUsage range is read from.
type UsageSource int

const (
	UsageRaw    UsageSource = iota // usage: the records themselves
	UsageHourly                    // usage_hourly
	UsageDaily                     // usage_daily
)

// UsagePiece is the half-open range [From, To) read from one source. A zero
// From or To is an open end.
type UsagePiece struct {
	Source   UsageSource
	From, To time.Time
}

// SplitUsageRange splits [from, to) (zero times are open ends) into pieces
// that together cover it exactly once: raw records before the first whole
// hour, hourly rollups up to the first whole day, daily rollups for the whole
// days, hourly rollups for the hours after the last whole day, and raw
// records after the last whole hour. Pieces are empty-free and in time order;
// an empty range has none.
func SplitUsageRange(from, to time.Time) []UsagePiece {
	from, to = from.Truncate(time.Millisecond), to.Truncate(time.Millisecond)
	if !lowerBefore(from, to) {
		return nil
	}
	h1, h2 := ceilTo(from, time.Hour), floorTo(to, time.Hour)
	if !lowerBefore(h1, h2) {
		// No whole hour inside: the range is shorter than two hours.
		return []UsagePiece{{UsageRaw, from, to}}
	}
	var ps []UsagePiece
	add := func(src UsageSource, a, b time.Time) {
		if !a.Equal(b) || (a.IsZero() && b.IsZero() && src == UsageDaily) {
			ps = append(ps, UsagePiece{src, a, b})
		}
	}
	add(UsageRaw, from, h1)
	if d1, d2 := ceilTo(h1, usageDay), floorTo(h2, usageDay); lowerBefore(d1, d2) {
		add(UsageHourly, h1, d1)
		add(UsageDaily, d1, d2)
		add(UsageHourly, d2, h2)
	} else {
		add(UsageHourly, h1, h2)
	}
	add(UsageRaw, h2, to)
	return ps
}

// lowerBefore reports whether the lower bound a lies before the upper bound b,
// zero being minus infinity for a and plus infinity for b.
func lowerBefore(a, b time.Time) bool {
	return a.IsZero() || b.IsZero() || a.Before(b)
}

// floorTo and ceilTo round t to a multiple of d (hours and days fall on UTC
// boundaries: Truncate counts from the zero time, a UTC midnight). The zero
// time, an open end, stays zero.
func floorTo(t time.Time, d time.Duration) time.Time { return t.Truncate(d) }

func ceilTo(t time.Time, d time.Duration) time.Time {
	if f := t.Truncate(d); !f.Equal(t) {
		return f.Add(d)
	}
	return t
}

// UsageTx is a store's write transaction as InsertUsage needs it.
type UsageTx interface {
	// InsertRecords inserts recs, skipping those already there, and
	// returns those inserted (FreshUsage).
	InsertRecords(recs []llmservice.UsageRecord) ([]*llmservice.UsageRecord, error)
	// InsertBodies keeps the prompts and responses of recs (fresh ones).
	InsertBodies(recs []*llmservice.UsageRecord) error
	// UpsertRollups adds us, in their order, to table's rows.
	UpsertRollups(table string, us []UsageRollup) error
	// UpsertAllRollups adds us, in their order, to the all-teams rollup
	// table's rows.
	UpsertAllRollups(table string, us []UsageAllRollup) error
}

// CheckUsage rejects a batch with a record without an ID: it would collide
// with the first such record and vanish silently.
func CheckUsage(recs []llmservice.UsageRecord) error {
	for i := range recs {
		if recs[i].ID == "" {
			return llmservice.Errorf(llmservice.Invalid, "usage record %d has no id", i)
		}
	}
	return nil
}

// WriteUsage is InsertUsage within tx: the records, then the bodies and the
// rollups of those actually inserted, so that a retried record or a queue
// task's second successful one counts nowhere.
func WriteUsage(tx UsageTx, recs []llmservice.UsageRecord) error {
	fresh, err := tx.InsertRecords(recs)
	if err != nil {
		return err
	}
	if err := tx.InsertBodies(fresh); err != nil {
		return err
	}
	hourly, daily := UsageRollups(fresh)
	if err := tx.UpsertRollups("usage_hourly", hourly); err != nil {
		return err
	}
	if err := tx.UpsertRollups("usage_daily", daily); err != nil {
		return err
	}
	// The all-teams rollups come last in every transaction, in key order
	// too, so that concurrent flushes take their locks in one order.
	hourlyAll, dailyAll := UsageAllRollups(fresh)
	if err := tx.UpsertAllRollups("usage_hourly_all", hourlyAll); err != nil {
		return err
	}
	return tx.UpsertAllRollups("usage_daily_all", dailyAll)
}

// DefaultPurgeBatch is PurgeUsage's batch when the caller gives none: a few
// milliseconds of locks each.
const DefaultPurgeBatch = 1000

// PurgeUsage runs a retention purge: for each team, purge (one transaction
// deleting up to batch of its records older than the cutoff) until a call
// deletes fewer than batch. It returns how many records were deleted.
func PurgeUsage(teams []string, batch int, purge func(team string, batch int) (int, error)) (int, error) {
	if batch <= 0 {
		batch = DefaultPurgeBatch
	}
	deleted := 0
	for _, team := range teams {
		for {
			n, err := purge(team, batch)
			deleted += n
			if err != nil {
				return deleted, fmt.Errorf("team %s: %w", team, err)
			}
			if n < batch {
				break
			}
		}
	}
	return deleted, nil
}

// UsageSums are what a rollup row adds up.
type UsageSums struct {
	Requests         int64
	Errors           int64 // status >= 400
	PromptTokens     int64
	CompletionTokens int64
	Cost             int64 // nanos
	LatencyMS        int64 // sum
	CacheTokens
	Latency LatencyHistogram
}

// CacheTokens are the token counts kept apart from the prompt and
// completion totals that hold them: cache reads, cache writes per lifetime
// (5 minutes, 1 hour) and reasoning tokens.
type CacheTokens struct {
	CacheRead    int64
	CacheWrite   int64
	CacheWrite1h int64
	Reasoning    int64
	// CacheHits counts calls the response cache answered, Saved what they
	// would have cost (nano-dollars).
	CacheHits int64
	Saved     int64
}

// cacheColumns are the CacheTokens columns of the ledger and the rollups.
const cacheColumns = `cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, cache_hits, saved_cost`

func (c *CacheTokens) add(r *llmservice.UsageRecord) {
	c.CacheRead += int64(r.CacheReadTokens)
	c.CacheWrite += int64(r.CacheWriteTokens)
	c.CacheWrite1h += int64(r.CacheWrite1hTokens)
	c.Reasoning += int64(r.ReasoningTokens)
	if r.CacheHit {
		c.CacheHits++
	}
	c.Saved += int64(r.SavedCost)
}

func (c *CacheTokens) merge(o *CacheTokens) {
	c.CacheRead += o.CacheRead
	c.CacheWrite += o.CacheWrite
	c.CacheWrite1h += o.CacheWrite1h
	c.Reasoning += o.Reasoning
	c.CacheHits += o.CacheHits
	c.Saved += o.Saved
}

// dest appends pointers to c's counts in cacheColumns order, for a scan.
func (c *CacheTokens) dest(d []any) []any {
	return append(d, &c.CacheRead, &c.CacheWrite, &c.CacheWrite1h, &c.Reasoning, &c.CacheHits, &c.Saved)
}

// fill copies c into a total.
func (c *CacheTokens) fill(t *llmservice.UsageTotal) {
	t.CacheReadTokens, t.CacheWriteTokens, t.CacheWrite1hTokens, t.ReasoningTokens = c.CacheRead, c.CacheWrite, c.CacheWrite1h, c.Reasoning
	t.CacheHits, t.SavedCost, t.SavedUSD = c.CacheHits, llmservice.Nanos(c.Saved), llmservice.Nanos(c.Saved).Dollars()
}

func (s *UsageSums) add(r *llmservice.UsageRecord) {
	s.Requests++
	if r.Status >= 400 {
		s.Errors++
	}
	s.PromptTokens += int64(r.PromptTokens)
	s.CompletionTokens += int64(r.CompletionTokens)
	s.Cost += int64(r.Cost)
	s.LatencyMS += int64(r.LatencyMS)
	s.CacheTokens.add(r)
	s.Latency.Add(r.LatencyMS)
}

// AppendSums appends the sums to args in column order: the ten sums, then
// the histogram's buckets.
func (s *UsageSums) AppendSums(args []any) []any {
	args = append(args, s.Requests, s.Errors, s.PromptTokens, s.CompletionTokens, s.Cost, s.LatencyMS,
		s.CacheRead, s.CacheWrite, s.CacheWrite1h, s.Reasoning, s.CacheHits, s.Saved)
	for _, c := range s.Latency {
		args = append(args, c)
	}
	return args
}

// UsageSumColumns is the number of columns AppendSums fills.
const UsageSumColumns = 12 + LatencyBuckets

// UsageRollup is one row of usage_hourly or usage_daily, or the increment
// a batch of records adds to it.
type UsageRollup struct {
	TeamID  string
	Bucket  time.Time // start of the UTC hour or day
	KeyID   string
	Project string
	Model   string // the requested model
	UsageSums
}

// usageSumColumns are the summed columns of every rollup table.
var usageSumColumns = `requests, errors, prompt_tokens, completion_tokens, cost, latency_ms_sum, ` + cacheColumns + `, ` + LatencyColumns

// UsageRollupColumns are the rollup tables' columns in UsageRollup order;
// the first five are the primary key.
var UsageRollupColumns = `team_id, bucket, key_id, project, model, ` + usageSumColumns

// usageSumsUpsert adds every summed column of excluded to r's.
var usageSumsUpsert = `requests = r.requests + excluded.requests,
	errors = r.errors + excluded.errors,
	prompt_tokens = r.prompt_tokens + excluded.prompt_tokens,
	completion_tokens = r.completion_tokens + excluded.completion_tokens,
	cost = r.cost + excluded.cost,
	latency_ms_sum = r.latency_ms_sum + excluded.latency_ms_sum,
	cache_read_tokens = r.cache_read_tokens + excluded.cache_read_tokens,
	cache_write_tokens = r.cache_write_tokens + excluded.cache_write_tokens,
	cache_write_1h_tokens = r.cache_write_1h_tokens + excluded.cache_write_1h_tokens,
	reasoning_tokens = r.reasoning_tokens + excluded.reasoning_tokens,
	cache_hits = r.cache_hits + excluded.cache_hits,
	saved_cost = r.saved_cost + excluded.saved_cost,
	` + latencyUpsert

// UsageRollupUpsert ends the INSERT INTO usage_hourly AS r (or usage_daily)
// that adds a batch's increments to the rollups.
var UsageRollupUpsert = ` ON CONFLICT (team_id, bucket, key_id, project, model) DO UPDATE SET
	` + usageSumsUpsert

type usageRollupKey struct {
	team, key, project, model string
	bucket                    int64 // unix ms
}

// FreshUsage returns the records of recs whose ID is among inserted (those
// the database took, not retried duplicates), in batch order. A batch that
// holds one ID twice yields only its first record, the one inserted.
func FreshUsage(recs []llmservice.UsageRecord, inserted []string) []*llmservice.UsageRecord {
	if len(inserted) == 0 {
		return nil
	}
	if len(inserted) == len(recs) {
		// Inserted IDs are distinct and each names a record: all went in.
		return AllUsage(recs)
	}
	want := make(map[string]bool, len(inserted))
	for _, id := range inserted {
		want[id] = true
	}
	fresh := make([]*llmservice.UsageRecord, 0, len(inserted))
	for i := range recs {
		if want[recs[i].ID] {
			delete(want, recs[i].ID)
			fresh = append(fresh, &recs[i])
		}
	}
	return fresh
}

// AllUsage returns pointers to every record of recs.
func AllUsage(recs []llmservice.UsageRecord) []*llmservice.UsageRecord {
	all := make([]*llmservice.UsageRecord, len(recs))
	for i := range recs {
		all[i] = &recs[i]
	}
	return all
}

// UsageRollups sums recs by UTC hour and by UTC day. Each list is sorted by
// the rollup's primary key, so that replicas upserting at the same time lock
// rows in the same order and cannot deadlock.
func UsageRollups(recs []*llmservice.UsageRecord) (hourly, daily []UsageRollup) {
	return usageRollupOf(recs, time.Hour), usageRollupOf(recs, usageDay)
}

func usageRollupOf(recs []*llmservice.UsageRecord, d time.Duration) []UsageRollup {
	idx := make(map[usageRollupKey]int, len(recs)/4+1)
	var out []UsageRollup
	for _, r := range recs {
		bucket := r.Time.UTC().Truncate(d)
		k := usageRollupKey{r.TeamID, r.KeyID, r.Project, r.RequestedModel, bucket.UnixMilli()}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, UsageRollup{TeamID: r.TeamID, Bucket: bucket, KeyID: r.KeyID,
				Project: r.Project, Model: r.RequestedModel})
		}
		out[i].add(r)
	}
	slices.SortFunc(out, func(a, b UsageRollup) int {
		return cmp.Or(strings.Compare(a.TeamID, b.TeamID), a.Bucket.Compare(b.Bucket),
			strings.Compare(a.KeyID, b.KeyID), strings.Compare(a.Project, b.Project),
			strings.Compare(a.Model, b.Model))
	})
	return out
}

// UsageDialect is how a store spells the parts of the totals query that
// differ between SQL databases.
type UsageDialect struct {
	Param func(n int) string      // the n-th (1-based) placeholder
	Time  func(t time.Time) any   // a time argument, as the store keeps times
	Day   func(col string) string // the UTC day number (days since 1970, floored) of a time column, as an integer
	// AnyTeam is the condition "team_id is one of the UsageTeams CTE's
	// teams" written so that the planner probes the index once a team
	// (queries over all teams: no index starts with the time).
	AnyTeam string
}

// UsageTeams is a recursive CTE listing the team ids of the rollups (every
// team with a record) by a loose index scan: one index probe a team, where
// SELECT DISTINCT would read every row. Queries over all teams turn into one
// index range per team with it, since no index starts with time.
const UsageTeams = `teams(id) AS (
	SELECT min(team_id) FROM usage_daily
	UNION ALL
	SELECT (SELECT min(team_id) FROM usage_daily WHERE team_id > teams.id) FROM teams WHERE teams.id IS NOT NULL)`

// UsageTeamsQuery lists the team ids of the rollups.
const UsageTeamsQuery = `WITH RECURSIVE ` + UsageTeams + ` SELECT id FROM teams WHERE id IS NOT NULL`

// usageGroups are the valid UsageFilter.GroupBy values, the column they
// group a raw record by and a rollup row by (rollups call the requested
// model "model"), and the dimension of the all-teams rollups holding them.
var usageGroups = map[string]usageGroup{
	"":        {},
	"model":   {"requested_model", "model", "model"},
	"key":     {"key_id", "key_id", "key"},
	"day":     {"time", "bucket", ""},
	"project": {"project", "project", "project"},
	"team":    {"team_id", "team_id", "team"},
}

// column is the grouping's column in a piece read from src.
func (g usageGroup) column(src UsageSource) string {
	if src == UsageRaw {
		return g.raw
	}
	return g.rollup
}

// SumUsageQuery builds the query that totals the records f selects: one
// SELECT a piece of SplitUsageRange, joined with UNION ALL and summed per
// group. Its rows hold the group (only when f.GroupBy is set), then requests,
// errors, prompt tokens, completion tokens, cost and the latency sum, all
// integers; ScanUsageTotals reads them. Invalid (param group_by) for an
// unknown grouping.
func SumUsageQuery(d UsageDialect, f llmservice.UsageFilter) (string, []any, error) {
	if _, ok := usageGroups[f.GroupBy]; !ok {
		return "", nil, llmservice.InvalidParam("group_by", "unknown group_by %q: use model, key, project, team or day", f.GroupBy)
	}
	q := &usageSumQuery{d: d, f: f}
	if f.TeamID == "" {
		q.b.WriteString("WITH RECURSIVE " + UsageTeams + "\n")
	}
	g := ""
	if f.GroupBy != "" {
		g = "g, "
	}
	q.b.WriteString("SELECT " + g + `CAST(coalesce(sum(requests), 0) AS BIGINT), CAST(coalesce(sum(errors), 0) AS BIGINT),
	CAST(coalesce(sum(prompt_tokens), 0) AS BIGINT), CAST(coalesce(sum(completion_tokens), 0) AS BIGINT),
	CAST(coalesce(sum(cost), 0) AS BIGINT), CAST(coalesce(sum(latency), 0) AS BIGINT),
	CAST(coalesce(sum(cache_read_tokens), 0) AS BIGINT), CAST(coalesce(sum(cache_write_tokens), 0) AS BIGINT),
	CAST(coalesce(sum(cache_write_1h_tokens), 0) AS BIGINT), CAST(coalesce(sum(reasoning_tokens), 0) AS BIGINT),
	CAST(coalesce(sum(cache_hits), 0) AS BIGINT), CAST(coalesce(sum(saved_cost), 0) AS BIGINT) FROM (`)
	pieces := SplitUsageRange(f.From, f.To)
	if len(pieces) == 0 {
		// An empty range reads nothing, yet its total row must come back.
		q.b.WriteString("\nSELECT " + strings.ReplaceAll(g, "g", "'' AS g") +
			"0 AS requests, 0 AS errors, 0 AS prompt_tokens, 0 AS completion_tokens, 0 AS cost, 0 AS latency, " +
			"0 AS cache_read_tokens, 0 AS cache_write_tokens, 0 AS cache_write_1h_tokens, 0 AS reasoning_tokens, " +
			"0 AS cache_hits, 0 AS saved_cost WHERE 1 = 0")
	}
	for i, p := range pieces {
		if i > 0 {
			q.b.WriteString("\nUNION ALL")
		}
		q.piece(p)
	}
	q.b.WriteString("\n) p")
	if f.GroupBy != "" {
		q.b.WriteString(" GROUP BY g")
	}
	return q.b.String(), q.args, nil
}

const (
	usageRawSums = `count(*) AS requests, sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors,
	sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
	sum(cost) AS cost, sum(latency_ms) AS latency, ` + cacheSums
	usageRollupSums = `sum(requests) AS requests, sum(errors) AS errors,
	sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
	sum(cost) AS cost, sum(latency_ms_sum) AS latency, ` + cacheSums
	cacheSums = `sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
	sum(cache_write_1h_tokens) AS cache_write_1h_tokens, sum(reasoning_tokens) AS reasoning_tokens,
	sum(cache_hits) AS cache_hits, sum(saved_cost) AS saved_cost`
)

type usageGroup struct{ raw, rollup, dim string }

// allTeams reports whether f's rollup pieces can come from the all-teams
// rollups, whose rows per bucket are a handful per dimension instead of one
// per team, key, project and model: every team with no key, project or
// model filter, or one team's totals (by day, or by team), which are the
// rows of its "team" dimension.
func allTeams(f llmservice.UsageFilter) bool {
	if f.KeyID != "" || f.Project != "" || f.Model != "" {
		return false
	}
	return f.TeamID == "" || f.GroupBy == "" || f.GroupBy == "day" || f.GroupBy == "team"
}

// usageSumQuery is a SumUsageQuery being written.
type usageSumQuery struct {
	d    UsageDialect
	f    llmservice.UsageFilter
	b    strings.Builder
	args []any
}

func (q *usageSumQuery) arg(v any) string {
	q.args = append(q.args, v)
	return q.d.Param(len(q.args))
}

// piece writes the SELECT that sums one piece, grouped as the filter asks.
// Every filter is a column of the rollups, and team_id leads every index.
func (q *usageSumQuery) piece(p UsagePiece) {
	table, timeCol, sums, col := "usage", "time", usageRawSums, usageGroups[q.f.GroupBy].raw
	if p.Source != UsageRaw {
		table, timeCol, sums, col = "usage_daily", "bucket", usageRollupSums, usageGroups[q.f.GroupBy].rollup
		if p.Source == UsageHourly {
			table = "usage_hourly"
		}
	}
	if p.Source != UsageRaw && allTeams(q.f) {
		q.allPiece(p)
		return
	}
	if q.f.GroupBy == "day" {
		col = q.d.Day(col)
	}
	where := []string{q.d.AnyTeam}
	if q.f.TeamID != "" {
		where[0] = "team_id = " + q.arg(q.f.TeamID)
	}
	if q.f.KeyID != "" {
		where = append(where, "key_id = "+q.arg(q.f.KeyID))
	}
	if q.f.Project != "" {
		where = append(where, "project = "+q.arg(q.f.Project))
	}
	if q.f.Model != "" {
		where = append(where, usageGroups["model"].column(p.Source)+" = "+q.arg(q.f.Model))
	}
	if !p.From.IsZero() {
		where = append(where, timeCol+" >= "+q.arg(q.d.Time(p.From)))
	}
	if !p.To.IsZero() {
		where = append(where, timeCol+" < "+q.arg(q.d.Time(p.To)))
	}
	q.b.WriteString("\nSELECT ")
	if q.f.GroupBy != "" {
		q.b.WriteString(col + " AS g, ")
	}
	q.b.WriteString(sums + "\n\tFROM " + table + " WHERE " + strings.Join(where, " AND "))
	if q.f.GroupBy != "" {
		q.b.WriteString(" GROUP BY " + col)
	}
}

// allPiece writes the SELECT that sums one rollup piece from the all-teams
// rollups: over every team, the rows of the grouping's dimension (the
// totals' for none or by day); for one team, the rows of its "team"
// dimension.
func (q *usageSumQuery) allPiece(p UsagePiece) {
	table := "usage_daily_all"
	if p.Source == UsageHourly {
		table = "usage_hourly_all"
	}
	dim, col := usageGroups[q.f.GroupBy].dim, "value"
	if q.f.GroupBy == "day" {
		col = q.d.Day("bucket")
	}
	var where []string
	if q.f.TeamID != "" {
		where = []string{"dim = " + q.arg("team"), "value = " + q.arg(q.f.TeamID)}
	} else {
		where = []string{"dim = " + q.arg(dim)}
	}
	if !p.From.IsZero() {
		where = append(where, "bucket >= "+q.arg(q.d.Time(p.From)))
	}
	if !p.To.IsZero() {
		where = append(where, "bucket < "+q.arg(q.d.Time(p.To)))
	}
	q.b.WriteString("\nSELECT ")
	if q.f.GroupBy != "" {
		q.b.WriteString(col + " AS g, ")
	}
	q.b.WriteString(usageRollupSums + "\n\tFROM " + table + " WHERE " + strings.Join(where, " AND "))
	if q.f.GroupBy != "" {
		q.b.WriteString(" GROUP BY " + col)
	}
}

// UsageQuery runs q with args on a store's read pool; done releases the
// rows.
type UsageQuery func(q string, args []any) (rows UsageRows, done func(), err error)

// SumUsage is a store's SumUsage: the SumUsageQuery of f, run by query.
func SumUsage(query UsageQuery, d UsageDialect, f llmservice.UsageFilter) ([]llmservice.UsageTotal, error) {
	q, args, err := SumUsageQuery(d, f)
	if err != nil {
		return nil, err
	}
	rows, done, err := query(q, args)
	if err != nil {
		return nil, err
	}
	defer done()
	return ScanUsageTotals(rows, f.GroupBy)
}

// FindUsageRecords is a store's FindUsageRecords: the page of
// FindUsageRecordsQuery, run by query, whose time column the store scans
// into a T and converts with toTime.
func FindUsageRecords[T any](query UsageQuery, d UsageDialect, f llmservice.RecordFilter, toTime func(T) time.Time) ([]llmservice.UsageRecord, string, error) {
	q, args, limit, err := FindUsageRecordsQuery(d, f)
	if err != nil {
		return nil, "", err
	}
	rows, done, err := query(q, args)
	if err != nil {
		return nil, "", err
	}
	defer done()
	out, err := ScanUsageRecords(rows, toTime)
	if err != nil {
		return nil, "", err
	}
	out, next := UsagePage(out, limit)
	return out, next, nil
}

// UsageRows is what the usage scanners read: *sql.Rows and pgx.Rows both
// fit.
type UsageRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanUsageTotals reads the rows of a SumUsageQuery into totals ordered by
// group. GroupBy "" always yields exactly one row, zero when nothing matched.
func ScanUsageTotals(rows UsageRows, groupBy string) ([]llmservice.UsageTotal, error) {
	var totals []llmservice.UsageTotal
	for rows.Next() {
		var (
			t         llmservice.UsageTotal
			g         any
			cost, lat int64
			c         CacheTokens
		)
		dest := c.dest([]any{&t.Requests, &t.Errors, &t.PromptTokens, &t.CompletionTokens, &cost, &lat})
		if groupBy != "" {
			dest = append([]any{&g}, dest...)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		t.Group = usageGroupName(groupBy, g)
		c.fill(&t)
		t.TotalTokens = t.PromptTokens + t.CompletionTokens
		t.Cost = llmservice.Nanos(cost)
		t.CostUSD = t.Cost.Dollars()
		if t.Requests > 0 {
			t.AvgLatencyMS = float64(lat) / float64(t.Requests)
		}
		totals = append(totals, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if groupBy == "" && len(totals) == 0 {
		totals = append(totals, llmservice.UsageTotal{})
	}
	// Sorted here rather than by ORDER BY: byte order in every store,
	// whatever a database's collation would say.
	slices.SortFunc(totals, func(a, b llmservice.UsageTotal) int { return strings.Compare(a.Group, b.Group) })
	return totals, nil
}

// usageGroupName turns a scanned group value into UsageTotal.Group: "day"
// groups are day numbers, shown as dates ("2006-01-02", which sort as the
// days do).
func usageGroupName(groupBy string, g any) string {
	switch v := g.(type) {
	case int64:
		if groupBy == "day" {
			return time.Unix(v*24*60*60, 0).UTC().Format(time.DateOnly)
		}
		return fmt.Sprint(v)
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

// UsageRecordColumns are the columns FindUsageRecordsQuery selects, in
// UsageRecord order, the bodies last.
const UsageRecordColumns = `u.id, u.time, u.team_id, u.key_id, u.project, u.endpoint,
	u.requested_model, u.provider, u.upstream_model, u.prompt_tokens, u.completion_tokens, u.tokens_estimated,
	u.cost, u.latency_ms, u.ttft_ms, u.stream, u.status, u.error_type, u.purpose, u.attempts, u.attempt_log,
	u.cache_read_tokens, u.cache_write_tokens, u.cache_write_1h_tokens, u.reasoning_tokens, (u.cache_hits <> 0), u.saved_cost,
	coalesce(b.prompt, ''), coalesce(b.response, '')`

// FindUsageRecordsQuery builds the query of one page of a team's records
// with their bodies, newest first, and returns the page size it asks one
// record more than (UsagePage trims it). Invalid (param team_id) without a
// team: records never cross teams.
func FindUsageRecordsQuery(d UsageDialect, f llmservice.RecordFilter) (q string, args []any, limit int, err error) {
	if f.TeamID == "" {
		return "", nil, 0, llmservice.InvalidParam("team_id", "team_id is required")
	}
	limit = min(PageLimit(f.Limit, 50), 500)
	arg := func(v any) string {
		args = append(args, v)
		return d.Param(len(args))
	}
	where := []string{"u.team_id = " + arg(f.TeamID)}
	if f.Project != "" {
		where = append(where, "u.project = "+arg(f.Project))
	}
	if f.KeyID != "" {
		where = append(where, "u.key_id = "+arg(f.KeyID))
	}
	if !f.From.IsZero() {
		where = append(where, "u.time >= "+arg(d.Time(f.From)))
	}
	if !f.To.IsZero() {
		where = append(where, "u.time < "+arg(d.Time(f.To)))
	}
	if f.Before != "" {
		// Keyset pagination on (time, id): stable while new records arrive.
		where = append(where, "(u.time, u.id) < (SELECT time, id FROM usage WHERE id = "+arg(f.Before)+
			" AND team_id = "+arg(f.TeamID)+")")
	}
	q = `SELECT ` + UsageRecordColumns + `
		FROM usage u LEFT JOIN usage_bodies b ON b.id = u.id
		WHERE ` + strings.Join(where, " AND ") + ` ORDER BY u.time DESC, u.id DESC LIMIT ` + arg(limit+1)
	return q, args, limit, nil
}

// ScanUsageRecords reads the rows of a FindUsageRecordsQuery; the store
// scans the time column into a T and converts it with toTime.
func ScanUsageRecords[T any](rows UsageRows, toTime func(T) time.Time) ([]llmservice.UsageRecord, error) {
	var out []llmservice.UsageRecord
	for rows.Next() {
		var (
			r  llmservice.UsageRecord
			tm T
		)
		if err := rows.Scan(&r.ID, &tm, &r.TeamID, &r.KeyID, &r.Project, &r.Endpoint, &r.RequestedModel, &r.Provider,
			&r.UpstreamModel, &r.PromptTokens, &r.CompletionTokens, &r.TokensEstimated, &r.Cost, &r.LatencyMS, &r.TTFTMS,
			&r.Stream, &r.Status, &r.ErrorType, &r.Purpose, &r.Attempts, &r.AttemptLog,
			&r.CacheReadTokens, &r.CacheWriteTokens, &r.CacheWrite1hTokens, &r.ReasoningTokens, &r.CacheHit, &r.SavedCost, &r.Prompt, &r.Response); err != nil {
			return nil, err
		}
		r.Time = toTime(tm)
		out = append(out, r)
	}
	return out, rows.Err()
}

// UsagePage cuts the records of a FindUsageRecordsQuery to limit and
// returns the cursor of the next page, "" at the end.
func UsagePage(recs []llmservice.UsageRecord, limit int) ([]llmservice.UsageRecord, string) {
	if recs, more := Page(recs, limit); more {
		return recs, recs[limit-1].ID
	}
	return recs, ""
}
