package server

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
)

// seriesRanges are the dashboard's range picker: the last 24 hours and 7
// days by hour, the last 30 days by day, each ending with the current
// bucket.
var seriesRanges = map[string]struct {
	span   time.Duration
	bucket string
}{
	"24h": {24 * time.Hour, "hour"},
	"7d":  {7 * 24 * time.Hour, "hour"},
	"30d": {30 * 24 * time.Hour, "day"},
}

// seriesView is the answer of GET /admin/usage/series.
type seriesView struct {
	Object     string                             `json:"object"`
	TeamID     string                             `json:"team_id"`
	Bucket     string                             `json:"bucket"`
	From       time.Time                          `json:"from"`
	To         time.Time                          `json:"to"`
	Data       []llmservice.UsagePoint            `json:"data"`
	Total      llmservice.UsagePoint              `json:"total"`
	Breakdowns map[string][]llmservice.UsageTotal `json:"breakdowns,omitempty"`
	// KeyNames names the keys of the key breakdown.
	KeyNames map[string]string `json:"key_names,omitempty"`
}

// breakdownGroups are the breakdowns a series may carry.
var breakdownGroups = map[string]bool{"model": true, "key": true, "project": true, "team": true}

// series is GET /admin/usage/series and GET /v1/usage/series: usage per
// hour or day from the rollups, with error counts and latency percentiles,
// and, on request, the range's totals per model, key, project or team. The
// range is rounded outwards to whole buckets, so nothing but rollups is
// read. One request draws the whole overview.
func (s *Server) series(w http.ResponseWriter, r *http.Request, sc scope) error {
	q := r.URL.Query()
	uf, err := usageFilter(r, sc)
	if err != nil {
		return err
	}
	f := llmservice.UsageSeriesFilter{TeamID: sc.team, KeyID: uf.KeyID, Project: uf.Project, Model: uf.Model,
		From: uf.From, To: uf.To, Bucket: q.Get("bucket")}
	if name := q.Get("range"); name != "" {
		rg, ok := seriesRanges[name]
		if !ok {
			return llmservice.InvalidParam("range", "range must be 24h, 7d or 30d")
		}
		step := map[string]time.Duration{"hour": time.Hour, "day": 24 * time.Hour}[rg.bucket]
		f.To = s.now().UTC().Truncate(step).Add(step)
		f.From = f.To.Add(-rg.span)
		if f.Bucket == "" {
			f.Bucket = rg.bucket
		}
	}
	if f.Bucket == "" {
		f.Bucket = "hour"
	}
	var groups []string
	if b := q.Get("breakdown"); b != "" {
		for g := range strings.SplitSeq(b, ",") {
			if !breakdownGroups[g] || (g == "team" && !sc.admin) {
				return llmservice.InvalidParam("breakdown", "breakdown lists model, key, project or team (the admin only), comma-separated")
			}
			groups = append(groups, g)
		}
	}
	top, err := intParam(q.Get("top"), "top", 12, 1, 1000)
	if err != nil {
		return err
	}
	s.flushUsage(r.Context()) // a partial answer beats none during an outage
	from, to, step, err := seriesBounds(f)
	if err != nil {
		return err
	}
	// The series and each breakdown are separate reads of the rollups:
	// run side by side, the overview waits for the slowest, not the sum.
	var (
		wg     sync.WaitGroup
		points []llmservice.UsagePoint
		total  llmservice.UsagePoint
		errs   = make([]error, len(groups)+1)
		totals = make([][]llmservice.UsageTotal, len(groups))
	)
	wg.Go(func() { points, total, errs[0] = s.cfg.Stores.Stats.UsageSeries(r.Context(), f) })
	for i, g := range groups {
		bf := uf
		bf.From, bf.To, bf.GroupBy = from, to, g
		wg.Go(func() { totals[i], errs[i+1] = s.cfg.Stores.Usage.SumUsage(r.Context(), bf) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	v := seriesView{Object: "usage.series", TeamID: sc.team, Bucket: f.Bucket, From: from, To: to,
		Data: fillSeries(points, from, to, step), Total: total}
	if len(groups) > 0 {
		v.Breakdowns = map[string][]llmservice.UsageTotal{}
	}
	for i, g := range groups {
		v.Breakdowns[g] = topTotals(totals[i], top)
		if g == "key" {
			if v.KeyNames, err = s.keyNames(r, sc, v.Breakdowns[g]); err != nil {
				return err
			}
		}
	}
	return httpx.WriteJSON(w, http.StatusOK, v)
}

// seriesBounds rounds a series' range outwards to whole buckets, as the
// store does.
func seriesBounds(f llmservice.UsageSeriesFilter) (from, to time.Time, step time.Duration, err error) {
	switch f.Bucket {
	case "hour":
		step = time.Hour
	case "day":
		step = 24 * time.Hour
	default:
		return from, to, 0, llmservice.InvalidParam("bucket", "bucket must be hour or day")
	}
	if f.From.IsZero() || f.To.IsZero() {
		return from, to, 0, llmservice.InvalidParam("from", "a series needs from and to, or a range")
	}
	from, to = f.From.UTC().Truncate(step), f.To.UTC().Truncate(step)
	if !to.Equal(f.To.UTC()) {
		to = to.Add(step)
	}
	return from, to, step, nil
}

// fillSeries returns one point per bucket of [from, to), zero where the
// rollups have nothing, so that a chart needs no gaps logic.
func fillSeries(points []llmservice.UsagePoint, from, to time.Time, step time.Duration) []llmservice.UsagePoint {
	out := make([]llmservice.UsagePoint, 0, int(to.Sub(from)/step))
	i := 0
	for t := from; t.Before(to); t = t.Add(step) {
		if i < len(points) && points[i].Time.Equal(t) {
			out = append(out, points[i])
			i++
			continue
		}
		out = append(out, llmservice.UsagePoint{Time: t})
	}
	return out
}

// topTotals keeps the n groups with the most requests, the rest summed as
// "(other)".
func topTotals(ts []llmservice.UsageTotal, n int) []llmservice.UsageTotal {
	slices.SortStableFunc(ts, func(a, b llmservice.UsageTotal) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), strings.Compare(a.Group, b.Group))
	})
	if len(ts) <= n {
		return ts
	}
	other := llmservice.UsageTotal{Group: "(other)"}
	var latency float64
	for _, t := range ts[n:] {
		other.Requests += t.Requests
		other.Errors += t.Errors
		other.PromptTokens += t.PromptTokens
		other.CompletionTokens += t.CompletionTokens
		other.TotalTokens += t.TotalTokens
		other.Cost += t.Cost
		other.CacheReadTokens += t.CacheReadTokens
		other.CacheWriteTokens += t.CacheWriteTokens
		other.CacheWrite1hTokens += t.CacheWrite1hTokens
		other.ReasoningTokens += t.ReasoningTokens
		other.CacheHits += t.CacheHits
		other.SavedCost += t.SavedCost
		latency += t.AvgLatencyMS * float64(t.Requests)
	}
	other.CostUSD, other.SavedUSD = other.Cost.Dollars(), other.SavedCost.Dollars()
	if other.Requests > 0 {
		other.AvgLatencyMS = latency / float64(other.Requests)
	}
	return append(ts[:n:n], other)
}

// keyNames names the keys of a key breakdown (those that still exist).
func (s *Server) keyNames(r *http.Request, sc scope, ts []llmservice.UsageTotal) (map[string]string, error) {
	ks, err := s.cfg.Stores.Keys.FindKeys(r.Context(), llmservice.KeyFilter{TeamID: sc.team})
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, t := range ts {
		want[t.Group] = true
	}
	names := map[string]string{}
	for _, k := range ks {
		if want[k.ID] {
			names[k.ID] = cmp.Or(k.Name, k.Prefix+"…")
		}
	}
	return names, nil
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(v, param string, def, lo, hi int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, llmservice.InvalidParam(param, "%s must be an integer from %d to %d", param, lo, hi)
	}
	return n, nil
}
