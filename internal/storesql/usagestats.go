package storesql

import (
	"cmp"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
)

// Series bounds: a chart of more points than this is no use to anyone,
// and the bound keeps every series query a bounded read of the rollups.
const (
	MaxHourlySeries = 31 * 24 * time.Hour
	MaxDailySeries  = 400 * 24 * time.Hour
)

// seriesSums are the summed columns of a series query, each cast so that
// PostgreSQL's sum(bigint), a numeric, scans into an int64.
var seriesSums = func() string {
	cols := strings.Split(usageSumColumns, ", ")
	for i, c := range cols {
		c = strings.TrimSpace(c)
		cols[i] = "CAST(coalesce(sum(" + c + "), 0) AS BIGINT)"
	}
	return strings.Join(cols, ", ")
}()

// SeriesRange rounds f's range outwards to whole buckets and checks it.
func SeriesRange(f llmservice.UsageSeriesFilter) (from, to time.Time, step time.Duration, err error) {
	switch f.Bucket {
	case "hour":
		step = time.Hour
	case "day":
		step = usageDay
	default:
		return from, to, 0, llmservice.InvalidParam("bucket", "bucket must be hour or day")
	}
	if f.From.IsZero() || f.To.IsZero() {
		return from, to, 0, llmservice.InvalidParam("from", "a series needs both from and to")
	}
	from, to = floorTo(f.From.UTC(), step), ceilTo(f.To.UTC(), step)
	if !from.Before(to) {
		return from, to, 0, llmservice.InvalidParam("to", "to must come after from")
	}
	if limit := map[time.Duration]time.Duration{time.Hour: MaxHourlySeries, usageDay: MaxDailySeries}[step]; to.Sub(from) > limit {
		return from, to, 0, llmservice.InvalidParam("from", "a series of %ss spans at most %d days", f.Bucket, int(limit/usageDay))
	}
	return from, to, step, nil
}

// UsageSeriesQuery builds the query of a series: one row per bucket with
// usage (the bucket, then the columns of UsageSums), from the all-teams
// rollups for every team with at most one filter or for one team with
// none, and from the per-team rollups otherwise.
func UsageSeriesQuery(d UsageDialect, f llmservice.UsageSeriesFilter) (string, []any, error) {
	from, to, step, err := SeriesRange(f)
	if err != nil {
		return "", nil, err
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return d.Param(len(args))
	}
	table := map[time.Duration]string{time.Hour: "usage_hourly", usageDay: "usage_daily"}[step]
	filters := []struct{ dim, col, value string }{
		{"key", "key_id", f.KeyID}, {"project", "project", f.Project}, {"model", "model", f.Model},
	}
	var set []int
	for i, fl := range filters {
		if fl.value != "" {
			set = append(set, i)
		}
	}
	var where []string
	prefix := ""
	switch {
	case f.TeamID == "" && len(set) <= 1, len(set) == 0:
		// The all-teams rollups: the totals, one dimension's value, or
		// one team's rows of the "team" dimension.
		table += "_all"
		dim, value := "", ""
		switch {
		case f.TeamID != "":
			dim, value = "team", f.TeamID
		case len(set) == 1:
			dim, value = filters[set[0]].dim, filters[set[0]].value
		}
		where = append(where, "dim = "+arg(dim), "value = "+arg(value))
	case f.TeamID == "":
		prefix = "WITH RECURSIVE " + UsageTeams + "\n"
		where = append(where, d.AnyTeam)
	default:
		where = append(where, "team_id = "+arg(f.TeamID))
	}
	if !strings.HasSuffix(table, "_all") {
		for _, i := range set {
			where = append(where, filters[i].col+" = "+arg(filters[i].value))
		}
	}
	where = append(where, "bucket >= "+arg(d.Time(from)), "bucket < "+arg(d.Time(to)))
	q := prefix + "SELECT bucket, " + seriesSums + " FROM " + table + " WHERE " + strings.Join(where, " AND ") + " GROUP BY bucket"
	return q, args, nil
}

// UsageSeries is a store's UsageSeries: the query of f, run by query,
// whose bucket column the store scans into a T and converts with toTime.
func UsageSeries[T any](query UsageQuery, d UsageDialect, f llmservice.UsageSeriesFilter, toTime func(T) time.Time) ([]llmservice.UsagePoint, llmservice.UsagePoint, error) {
	q, args, err := UsageSeriesQuery(d, f)
	if err != nil {
		return nil, llmservice.UsagePoint{}, err
	}
	from, _, _, _ := SeriesRange(f)
	rows, done, err := query(q, args)
	if err != nil {
		return nil, llmservice.UsagePoint{}, err
	}
	defer done()
	var (
		points []llmservice.UsagePoint
		all    UsageSums
	)
	for rows.Next() {
		var (
			bucket T
			s      UsageSums
		)
		dest := s.CacheTokens.dest([]any{&bucket, &s.Requests, &s.Errors, &s.PromptTokens, &s.CompletionTokens, &s.Cost, &s.LatencyMS})
		for i := range s.Latency {
			dest = append(dest, &s.Latency[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, llmservice.UsagePoint{}, err
		}
		points = append(points, s.point(toTime(bucket).UTC()))
		all.merge(&s)
	}
	if err := rows.Err(); err != nil {
		return nil, llmservice.UsagePoint{}, err
	}
	slices.SortFunc(points, func(a, b llmservice.UsagePoint) int { return a.Time.Compare(b.Time) })
	return points, all.point(from), nil
}

func (s *UsageSums) merge(o *UsageSums) {
	s.Requests += o.Requests
	s.Errors += o.Errors
	s.PromptTokens += o.PromptTokens
	s.CompletionTokens += o.CompletionTokens
	s.Cost += o.Cost
	s.LatencyMS += o.LatencyMS
	s.CacheTokens.merge(&o.CacheTokens)
	s.Latency.Merge(&o.Latency)
}

// point is s as a series point at t.
func (s *UsageSums) point(t time.Time) llmservice.UsagePoint {
	p := llmservice.UsagePoint{Time: t, UsageTotal: llmservice.UsageTotal{
		Requests: s.Requests, Errors: s.Errors, PromptTokens: s.PromptTokens, CompletionTokens: s.CompletionTokens,
		TotalTokens: s.PromptTokens + s.CompletionTokens, Cost: llmservice.Nanos(s.Cost), CostUSD: llmservice.Nanos(s.Cost).Dollars(),
	}}
	s.CacheTokens.fill(&p.UsageTotal)
	if s.Requests > 0 {
		p.AvgLatencyMS = float64(s.LatencyMS) / float64(s.Requests)
	}
	p.P50LatencyMS = s.Latency.Quantile(0.50)
	p.P95LatencyMS = s.Latency.Quantile(0.95)
	return p
}

// The request log is read a bounded number of records at a time: a page
// scans at most LogScanBudget records, newest first, filters them, and
// returns the matches with a cursor where the scan stopped. Key, model and
// status have no index (each would slow every insert of the ledger), so a
// filter on a rare value costs each page the budget instead of a scan of
// the whole ledger: a filter that matches nothing in millions of records
// answers at once, with an empty page and a cursor to look further back.
const LogScanBudget = 2000

// MaxLogLimit is the largest page of the request log.
const MaxLogLimit = 200

// logScanColumns are what a log scan reads of each record: its place in
// the order and what the filters look at. The page's records are then read
// whole, with their bodies, by ID: a scan of a few thousand records costs
// what those six columns cost.
const logScanColumns = `u.id, u.time, u.team_id, u.key_id, u.requested_model, u.status`

// logCandidate is one scanned record.
type logCandidate struct {
	pos              logPosition
	team, key, model string
	status           int
}

// logPosition is a place in the log's order (time, then ID, descending).
type logPosition struct {
	ms int64
	id string
}

func (p logPosition) before(o logPosition) bool {
	return p.ms < o.ms || (p.ms == o.ms && p.id < o.id)
}

func encodeLogCursor(p logPosition) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(p.ms, 10) + ":" + p.id))
}

func decodeLogCursor(s string) (logPosition, error) {
	bad := llmservice.InvalidParam("cursor", "cursor is not one this server made")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return logPosition{}, bad
	}
	ms, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" {
		return logPosition{}, bad
	}
	return logPosition{n, id}, nil
}

// logMatch reports whether a scanned record passes the filters the scan
// did not apply.
func logMatch(f *llmservice.LogFilter, c *logCandidate) bool {
	return (f.KeyID == "" || c.key == f.KeyID) && (f.Model == "" || c.model == f.Model) &&
		(f.StatusMin == 0 || c.status >= f.StatusMin) && (f.StatusMax == 0 || c.status <= f.StatusMax)
}

// FindUsageLogs is a store's FindUsageLogs. One team's records are read
// through its (team, time) index. Every team's are read as one index range
// per team, each cut at its share of the budget, merged by time, and kept
// down to the newest place where a team's share ran out: everything newer
// than that was read, so the page is exact, and the next one starts there.
func FindUsageLogs[T any](query UsageQuery, d UsageDialect, f llmservice.LogFilter, toTime func(T) time.Time) (*llmservice.LogPage, error) {
	limit := PageLimit(f.Limit, 50)
	if f.Limit > MaxLogLimit || f.Limit < 0 {
		return nil, llmservice.InvalidParam("limit", "limit must be from 1 to %d", MaxLogLimit)
	}
	var (
		after logPosition
		err   error
	)
	if f.Cursor != "" {
		if after, err = decodeLogCursor(f.Cursor); err != nil {
			return nil, err
		}
	}
	teams := []string{f.TeamID}
	if f.TeamID == "" {
		if teams, err = usageTeams(query); err != nil {
			return nil, err
		}
	}
	if len(teams) == 0 {
		return &llmservice.LogPage{}, nil
	}
	filtered := f.KeyID != "" || f.Model != "" || f.StatusMin != 0 || f.StatusMax != 0
	per := limit + 1
	if filtered {
		per = max(per, LogScanBudget/len(teams))
	}
	q, args := logScanQuery(d, f, teams, per, after)
	cands, err := scanLogCandidates(query, q, args, toTime)
	if err != nil {
		return nil, err
	}
	// The newest place where a team's share ran out: older records of
	// other teams may be missing, so the page stops there.
	type share struct {
		n      int
		oldest logPosition
	}
	shares := map[string]*share{}
	for i := range cands {
		s, p := shares[cands[i].team], cands[i].pos
		if s == nil {
			s = &share{oldest: p}
			shares[cands[i].team] = s
		}
		s.n++
		if p.before(s.oldest) {
			s.oldest = p
		}
	}
	var frontier *logPosition
	for _, s := range shares {
		if s.n == per && (frontier == nil || frontier.before(s.oldest)) {
			frontier = &s.oldest
		}
	}
	slices.SortFunc(cands, func(a, b logCandidate) int {
		return cmp.Or(-cmp.Compare(a.pos.ms, b.pos.ms), -strings.Compare(a.pos.id, b.pos.id))
	})
	page := &llmservice.LogPage{}
	var (
		ids  []string
		last logPosition // the page's last record
	)
	for i := range cands {
		c := &cands[i]
		if frontier != nil && c.pos.before(*frontier) {
			break
		}
		page.Scanned++
		if !logMatch(&f, c) {
			continue
		}
		if len(ids) == limit {
			// A match beyond the page: the next page starts after the
			// page's last record.
			page.Next = encodeLogCursor(last)
			break
		}
		ids, last = append(ids, c.pos.id), c.pos
	}
	if page.Next == "" && frontier != nil {
		page.Next = encodeLogCursor(*frontier)
	}
	if page.Records, err = logRecords(query, d, ids, toTime); err != nil {
		return nil, err
	}
	return page, nil
}

func scanLogCandidates[T any](query UsageQuery, q string, args []any, toTime func(T) time.Time) ([]logCandidate, error) {
	rows, done, err := query(q, args)
	if err != nil {
		return nil, err
	}
	defer done()
	var out []logCandidate
	for rows.Next() {
		var (
			c  logCandidate
			tm T
		)
		if err := rows.Scan(&c.pos.id, &tm, &c.team, &c.key, &c.model, &c.status); err != nil {
			return nil, err
		}
		c.pos.ms = toTime(tm).UnixMilli()
		out = append(out, c)
	}
	return out, rows.Err()
}

// logScanQuery reads up to per records of each team, newest first, older
// than after (when set), within the filter's time range and project.
func logScanQuery(d UsageDialect, f llmservice.LogFilter, teams []string, per int, after logPosition) (string, []any) {
	var (
		args  []any
		parts []string
	)
	arg := func(v any) string {
		args = append(args, v)
		return d.Param(len(args))
	}
	for i, team := range teams {
		where := []string{"u.team_id = " + arg(team)}
		if f.Project != "" {
			where = append(where, "u.project = "+arg(f.Project))
		}
		if !f.From.IsZero() {
			where = append(where, "u.time >= "+arg(d.Time(f.From)))
		}
		if !f.To.IsZero() {
			where = append(where, "u.time < "+arg(d.Time(f.To)))
		}
		if after.id != "" {
			where = append(where, "(u.time, u.id) < ("+arg(d.Time(time.UnixMilli(after.ms)))+", "+arg(after.id)+")")
		}
		parts = append(parts, "SELECT * FROM (SELECT "+logScanColumns+" FROM usage u WHERE "+strings.Join(where, " AND ")+
			" ORDER BY u.time DESC, u.id DESC LIMIT "+arg(per)+") AS t"+strconv.Itoa(i))
	}
	return strings.Join(parts, "\nUNION ALL\n"), args
}

// usageTeams lists the teams of the rollups.
func usageTeams(query UsageQuery) ([]string, error) {
	rows, done, err := query(UsageTeamsQuery, nil)
	if err != nil {
		return nil, err
	}
	defer done()
	var teams []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		teams = append(teams, t)
	}
	return teams, rows.Err()
}

// logRecords reads the records of ids whole, with their bodies, in the
// order of ids.
func logRecords[T any](query UsageQuery, d UsageDialect, ids []string, toTime func(T) time.Time) ([]llmservice.UsageRecord, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	ps := make([]string, len(ids))
	at := make(map[string]int, len(ids))
	for i, id := range ids {
		args[i], ps[i], at[id] = id, d.Param(i+1), i
	}
	rows, done, err := query(`SELECT `+UsageRecordColumns+`
		FROM usage u LEFT JOIN usage_bodies b ON b.id = u.id WHERE u.id IN (`+strings.Join(ps, ", ")+`)`, args)
	if err != nil {
		return nil, err
	}
	defer done()
	recs, err := ScanUsageRecords(rows, toTime)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b llmservice.UsageRecord) int { return cmp.Compare(at[a.ID], at[b.ID]) })
	return recs, nil
}
