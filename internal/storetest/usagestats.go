package storetest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

// The dashboard's queries: series from the rollups with latency
// percentiles, and the request log read a bounded number of records at a
// time. Both are checked against a scan of the records.

func statsStore(t *testing.T, s Stores) llmservice.UsageStatsStore {
	t.Helper()
	st, ok := s.Usage.(llmservice.UsageStatsStore)
	if !ok {
		t.Fatalf("%T does not implement llmservice.UsageStatsStore", s.Usage)
	}
	return st
}

// randomLedger inserts n random records of teams over span from start, in
// random batches, and returns them.
func randomLedger(t *testing.T, s Stores, rng *rand.Rand, n int, teams []string, start time.Time, span time.Duration) []llmservice.UsageRecord {
	t.Helper()
	pick := func(l ...string) string { return l[rng.IntN(len(l))] }
	recs := make([]llmservice.UsageRecord, n)
	for i := range recs {
		team := teams[rng.IntN(len(teams))]
		tm := start.Add(time.Duration(rng.Int64N(int64(span/time.Millisecond))) * time.Millisecond)
		if i > 0 && rng.IntN(10) == 0 {
			tm = recs[rng.IntN(i)].Time // ties: the log orders them by ID
		}
		recs[i] = llmservice.UsageRecord{
			ID: fmt.Sprintf("s%05d-%d", rng.IntN(100000), i), Time: tm, TeamID: team, KeyID: team + pick("1", "2"),
			Project: pick("", "web", "api"), RequestedModel: pick("gpt", "claude", "llama"),
			Status: []int{200, 200, 200, 429, 500}[rng.IntN(5)], PromptTokens: rng.IntN(1000),
			CompletionTokens: rng.IntN(1000), Cost: llmservice.Nanos(rng.Int64N(1e9)),
			LatencyMS: []int{0, 5, 6, 99, 100, 101, 700, 2500, 39999, 40001, 90000}[rng.IntN(11)] + rng.IntN(3),
		}
		if rng.IntN(7) == 0 {
			recs[i].Prompt, recs[i].Response = "prompt "+recs[i].ID, "response "+recs[i].ID
		}
	}
	for i := 0; i < len(recs); {
		k := min(1+rng.IntN(300), len(recs)-i)
		must(t, s.Usage.InsertUsage(context.Background(), recs[i:i+k]))
		i += k
	}
	return recs
}

func testUsageSeries(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()
	s := open(t)
	st := statsStore(t, s)
	rng := rand.New(rand.NewPCG(3, 4))
	start := day0.Add(-24 * time.Hour)
	recs := randomLedger(t, s, rng, 2000, []string{"a", "b", "c"}, start, 3*24*time.Hour)
	pick := func(l ...string) string { return l[rng.IntN(len(l))] }
	for i := range 80 {
		f := llmservice.UsageSeriesFilter{TeamID: pick("", "", "a", "b", "nobody"), Bucket: pick("hour", "day"),
			From: start.Add(time.Duration(rng.Int64N(int64(36 * time.Hour)))), To: start.Add(36*time.Hour + time.Duration(rng.Int64N(int64(40*time.Hour))))}
		switch rng.IntN(4) {
		case 0:
			f.Model = pick("gpt", "llama")
		case 1:
			f.KeyID, f.Project = pick("a1", "b2"), pick("", "web")
		case 2:
			f.Project, f.Model = pick("web", "api"), "claude"
		}
		got, gotTotal, err := st.UsageSeries(ctx, f)
		must(t, err)
		want, wantTotal := scanSeries(recs, f)
		if diff := gocmp.Diff(want, got, opts); diff != "" {
			t.Fatalf("%d: UsageSeries(%+v) differs from a scan (-scan +got):\n%s", i, f, diff)
		}
		if diff := gocmp.Diff(wantTotal, gotTotal, opts); diff != "" {
			t.Fatalf("%d: UsageSeries(%+v) total differs from a scan (-scan +got):\n%s", i, f, diff)
		}
	}
	for _, tc := range []struct {
		name, param string
		f           llmservice.UsageSeriesFilter
	}{
		{"UnknownBucket", "bucket", llmservice.UsageSeriesFilter{Bucket: "week", From: start, To: day0}},
		{"NoRange", "from", llmservice.UsageSeriesFilter{Bucket: "hour"}},
		{"Reversed", "to", llmservice.UsageSeriesFilter{Bucket: "hour", From: day0, To: start}},
		{"TooManyHours", "from", llmservice.UsageSeriesFilter{Bucket: "hour", From: start, To: start.Add(32 * 24 * time.Hour)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := st.UsageSeries(ctx, tc.f)
			wantKind(t, err, llmservice.Invalid)
			if e := llmservice.AsError(err); e.Param != tc.param {
				t.Errorf("Param = %q; want %q", e.Param, tc.param)
			}
		})
	}
}

// scanSeries is what UsageSeries(f) must return, from a scan of recs.
func scanSeries(recs []llmservice.UsageRecord, f llmservice.UsageSeriesFilter) ([]llmservice.UsagePoint, llmservice.UsagePoint) {
	step := map[string]time.Duration{"hour": time.Hour, "day": 24 * time.Hour}[f.Bucket]
	from, to := f.From.Truncate(step), f.To.Truncate(step)
	if !to.Equal(f.To) {
		to = to.Add(step)
	}
	type acc struct {
		recs []llmservice.UsageRecord
	}
	buckets := map[time.Time][]llmservice.UsageRecord{}
	var all []llmservice.UsageRecord
	for _, r := range recs {
		if (f.TeamID != "" && r.TeamID != f.TeamID) || (f.KeyID != "" && r.KeyID != f.KeyID) ||
			(f.Project != "" && r.Project != f.Project) || (f.Model != "" && r.RequestedModel != f.Model) ||
			r.Time.Before(from) || !r.Time.Before(to) {
			continue
		}
		b := r.Time.UTC().Truncate(step)
		buckets[b] = append(buckets[b], r)
		all = append(all, r)
	}
	var out []llmservice.UsagePoint
	for b, rs := range buckets {
		out = append(out, pointOf(b, rs))
	}
	slices.SortFunc(out, func(a, b llmservice.UsagePoint) int { return a.Time.Compare(b.Time) })
	return out, pointOf(from, all)
}

func pointOf(at time.Time, recs []llmservice.UsageRecord) llmservice.UsagePoint {
	var (
		h       storesql.LatencyHistogram
		latency int64
		errors  int64
		p, c    int64
		cost    llmservice.Nanos
	)
	for _, r := range recs {
		h.Add(r.LatencyMS)
		latency += int64(r.LatencyMS)
		if r.Status >= 400 {
			errors++
		}
		p, c, cost = p+int64(r.PromptTokens), c+int64(r.CompletionTokens), cost+r.Cost
	}
	avg := 0.0
	if len(recs) > 0 {
		avg = float64(latency) / float64(len(recs))
	}
	return llmservice.UsagePoint{Time: at, UsageTotal: total("", int64(len(recs)), errors, p, c, cost, avg),
		P50LatencyMS: h.Quantile(0.5), P95LatencyMS: h.Quantile(0.95)}
}

func testUsageLogs(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()
	s := open(t)
	st := statsStore(t, s)
	rng := rand.New(rand.NewPCG(5, 6))
	var teams []string
	for i := range 12 {
		teams = append(teams, fmt.Sprintf("t%02d", i))
	}
	// Teams of very different sizes: each team's share of a page's scan
	// runs out at a different place.
	recs := randomLedger(t, s, rng, 1200, append(teams, "t00", "t00", "t00", "t00", "t01", "t01"), day0, 48*time.Hour)
	pick := func(l ...string) string { return l[rng.IntN(len(l))] }
	for i := range 24 {
		f := llmservice.LogFilter{TeamID: pick("", "", "t00", "t01", "t07", "nobody"), Limit: 10 + rng.IntN(40)}
		switch rng.IntN(6) {
		case 0:
			f.Model = pick("gpt", "llama")
		case 1:
			f.KeyID = pick("t001", "t072")
		case 2:
			f.StatusMin, f.StatusMax = 400, 599
		case 3:
			f.StatusMin, f.StatusMax = 429, 429
			f.Project = "web"
		case 4:
			f.From, f.To = day0.Add(10*time.Hour), day0.Add(20*time.Hour)
		}
		var got []llmservice.UsageRecord
		pages := 0
		for {
			p, err := st.FindUsageLogs(ctx, f)
			must(t, err)
			if len(p.Records) > max(f.Limit, 0) {
				t.Fatalf("FindUsageLogs(%+v) returned %d records; limit %d", f, len(p.Records), f.Limit)
			}
			got = append(got, p.Records...)
			if p.Next == "" {
				break
			}
			if pages++; pages > 3000 {
				t.Fatalf("FindUsageLogs(%+v) never ends", f)
			}
			f.Cursor = p.Next
		}
		f.Cursor = ""
		want := scanLogs(recs, f)
		if diff := gocmp.Diff(ids(want), ids(got)); diff != "" {
			t.Fatalf("%d: FindUsageLogs(%+v) pages differ from a scan (-scan +got):\n%s", i, f, diff)
		}
		if diff := gocmp.Diff(want, got, opts); diff != "" {
			t.Fatalf("%d: FindUsageLogs(%+v) records differ from the inserted ones (-want +got):\n%s", i, f, diff)
		}
	}
	t.Run("BadCursor", func(t *testing.T) {
		for _, c := range []string{"nope", "bm9wZQ", "MTIzOg"} {
			_, err := st.FindUsageLogs(ctx, llmservice.LogFilter{Cursor: c})
			wantKind(t, err, llmservice.Invalid)
			if e := llmservice.AsError(err); e.Param != "cursor" {
				t.Errorf("Param = %q; want cursor", e.Param)
			}
		}
	})
	t.Run("BadLimit", func(t *testing.T) {
		_, err := st.FindUsageLogs(ctx, llmservice.LogFilter{Limit: storesql.MaxLogLimit + 1})
		wantKind(t, err, llmservice.Invalid)
	})
	t.Run("Empty", func(t *testing.T) {
		p, err := statsStore(t, open(t)).FindUsageLogs(ctx, llmservice.LogFilter{})
		must(t, err)
		if len(p.Records) != 0 || p.Next != "" {
			t.Errorf("FindUsageLogs of an empty ledger = %+v; want nothing", p)
		}
	})
}

// scanLogs is the request log f selects, from a scan of recs.
func scanLogs(recs []llmservice.UsageRecord, f llmservice.LogFilter) []llmservice.UsageRecord {
	var out []llmservice.UsageRecord
	for _, r := range recs {
		if (f.TeamID != "" && r.TeamID != f.TeamID) || (f.KeyID != "" && r.KeyID != f.KeyID) ||
			(f.Project != "" && r.Project != f.Project) || (f.Model != "" && r.RequestedModel != f.Model) ||
			(f.StatusMin != 0 && r.Status < f.StatusMin) || (f.StatusMax != 0 && r.Status > f.StatusMax) ||
			(!f.From.IsZero() && r.Time.Before(f.From)) || (!f.To.IsZero() && !r.Time.Before(f.To)) {
			continue
		}
		r.Time = r.Time.UTC()
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b llmservice.UsageRecord) int {
		return cmp.Or(b.Time.Compare(a.Time), strings.Compare(b.ID, a.ID))
	})
	return out
}

func ids(recs []llmservice.UsageRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}
