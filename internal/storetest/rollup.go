package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
)

// SumUsage reads hourly and daily rollups plus the records of a range's
// sub-hour edges; these tests pin that the pieces add up to a scan of the
// records, to the millisecond, and that purging records keeps the rollups.

// rollupFixture is one team's records around hour and day boundaries. Each
// record costs a distinct power of two, so a total's cost names exactly the
// records it counted.
func rollupFixture() []llmservice.UsageRecord {
	day1, day2 := day0.Add(24*time.Hour), day0.Add(48*time.Hour)
	times := []time.Time{
		day0.Add(-time.Millisecond),             // x0: 1
		day0.Add(10 * time.Minute),              // x1: 2
		day0.Add(time.Hour - time.Millisecond),  // x2: 4
		day0.Add(time.Hour),                     // x3: 8
		day0.Add(13*time.Hour + 30*time.Minute), // x4: 16
		day1.Add(-time.Millisecond),             // x5: 32
		day1,                                    // x6: 64
		day1.Add(12 * time.Hour),                // x7: 128
		day2,                                    // x8: 256
		day2.Add(3*time.Hour + 20*time.Minute),  // x9: 512
		day2.Add(4 * time.Hour),                 // x10: 1024
		day2.Add(4*time.Hour + 30*time.Minute),  // x11: 2048
		day2.Add(5 * time.Hour),                 // x12: 4096
		day2.Add(5*time.Hour + 59*time.Minute + 59*time.Second + 999*time.Millisecond), // x13: 8192
	}
	recs := make([]llmservice.UsageRecord, len(times))
	for i, tm := range times {
		recs[i] = llmservice.UsageRecord{ID: fmt.Sprint("x", i), Time: tm, TeamID: "a", KeyID: "k",
			RequestedModel: "m", Cost: 1 << i, Status: 200}
	}
	return recs
}

func testUsagePieces(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()
	s := open(t)
	must(t, s.Usage.InsertUsage(ctx, rollupFixture()))
	day1, day2 := day0.Add(24*time.Hour), day0.Add(48*time.Hour)
	at := func(d time.Time, hms string) time.Time {
		dur, err := time.ParseDuration(hms)
		if err != nil {
			panic(err)
		}
		return d.Add(dur)
	}
	for _, tc := range []struct {
		name     string
		from, to time.Time
		requests int64
		cost     llmservice.Nanos
	}{
		// Raw head [00:05, 01:00) x1 x2, hourly [01:00, day1) x3-x5, daily
		// [day1, day2) x6 x7, hourly [day2, 04:00) x8 x9, raw tail [04:00,
		// 04:45) x10 x11.
		{"AllFivePieces", at(day0, "5m"), at(day2, "4h45m"), 11, 2 + 4 + 8 + 16 + 32 + 64 + 128 + 256 + 512 + 1024 + 2048},
		{"WithinOneHour", at(day0, "10m"), at(day0, "59m59.999s"), 1, 2},
		{"OneMSAcrossAnHour", at(day0, "59m59.999s"), at(day0, "1h0.001s"), 2, 4 + 8},
		{"TwoPartialHours", at(day2, "3h30m"), at(day2, "4h30m"), 1, 1024},
		{"WholeHours", at(day0, "1h"), at(day2, "5h"), 9, 8 + 16 + 32 + 64 + 128 + 256 + 512 + 1024 + 2048},
		{"WholeHoursWithinADay", at(day2, "3h"), at(day2, "5h"), 3, 512 + 1024 + 2048},
		{"WholeDays", day0, day2, 7, 2 + 4 + 8 + 16 + 32 + 64 + 128},
		{"LastMSOfADay", day1.Add(-time.Millisecond), day1, 1, 32},
		{"LastMSOfAnHour", at(day2, "5h59m59.999s"), at(day2, "6h"), 1, 8192},
		{"OpenEnd", at(day2, "3h20m"), time.Time{}, 5, 512 + 1024 + 2048 + 4096 + 8192},
		{"OpenStart", time.Time{}, at(day0, "10m0.001s"), 2, 1 + 2},
		{"OpenStartWholeHour", time.Time{}, at(day0, "1h"), 3, 1 + 2 + 4},
		{"Everything", time.Time{}, time.Time{}, 14, 1<<14 - 1},
		{"Empty", day1, day1, 0, 0},
		{"Reversed", day2, day1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Usage.SumUsage(ctx, llmservice.UsageFilter{TeamID: "a", From: tc.from, To: tc.to})
			must(t, err)
			want := []llmservice.UsageTotal{total("", tc.requests, 0, 0, 0, tc.cost, 0)}
			if diff := gocmp.Diff(want, got, opts); diff != "" {
				t.Errorf("SumUsage [%v, %v) mismatch (-want +got):\n%s", tc.from, tc.to, diff)
			}
		})
	}
	t.Run("ByDay", func(t *testing.T) {
		got, err := s.Usage.SumUsage(ctx, llmservice.UsageFilter{TeamID: "a", From: at(day0, "5m"), To: at(day2, "4h45m"), GroupBy: "day"})
		must(t, err)
		want := []llmservice.UsageTotal{
			total("2026-03-01", 5, 0, 0, 0, 2+4+8+16+32, 0),
			total("2026-03-02", 2, 0, 0, 0, 64+128, 0),
			total("2026-03-03", 4, 0, 0, 0, 256+512+1024+2048, 0),
		}
		if diff := gocmp.Diff(want, got, opts); diff != "" {
			t.Errorf("SumUsage by day mismatch (-want +got):\n%s", diff)
		}
	})
}

// testUsageRandom compares SumUsage with totals computed here from the
// records, for random filters over random records inserted in random
// batches, some of them retried.
func testUsageRandom(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()
	s := open(t)
	rng := rand.New(rand.NewPCG(1, 2))
	start, span := day0.Add(-24*time.Hour), 4*24*time.Hour
	// randomTime is a random millisecond of the span, or one next to an
	// hour or day boundary, where pieces meet.
	randomTime := func() time.Time {
		tm := start.Add(time.Duration(rng.Int64N(int64(span/time.Millisecond))) * time.Millisecond)
		switch rng.IntN(5) {
		case 0:
			return tm.Truncate(time.Hour).Add(time.Duration(rng.IntN(3)-1) * time.Millisecond)
		case 1:
			return tm.Truncate(24 * time.Hour).Add(time.Duration(rng.IntN(3)-1) * time.Millisecond)
		}
		return tm
	}
	pick := func(l ...string) string { return l[rng.IntN(len(l))] }

	var recs []llmservice.UsageRecord
	for i := range 3000 {
		team := pick("a", "b", "c")
		recs = append(recs, llmservice.UsageRecord{
			ID: fmt.Sprint("q", i), Time: randomTime(), TeamID: team, KeyID: team + pick("1", "2"),
			Project: pick("", "web", "api"), RequestedModel: pick("gpt", "claude", "llama"),
			Status: []int{200, 200, 200, 429, 500}[rng.IntN(5)], PromptTokens: rng.IntN(1000),
			CompletionTokens: rng.IntN(1000), Cost: llmservice.Nanos(rng.Int64N(1e9)), LatencyMS: rng.IntN(5000),
		})
	}
	var prev []llmservice.UsageRecord
	for i := 0; i < len(recs); {
		n := min(1+rng.IntN(400), len(recs)-i)
		batch := recs[i : i+n]
		i += n
		must(t, s.Usage.InsertUsage(ctx, batch))
		if prev != nil && rng.IntN(3) == 0 {
			// A retried flush, overlapping the next one.
			must(t, s.Usage.InsertUsage(ctx, append(slices.Clone(prev), batch[0])))
		}
		prev = batch
	}

	bound := func() time.Time {
		if rng.IntN(8) == 0 {
			return time.Time{}
		}
		return randomTime()
	}
	failed := 0
	for range 300 {
		f := llmservice.UsageFilter{
			TeamID: pick("", "a", "a", "b", "c", "nobody"), From: bound(), To: bound(),
			GroupBy: pick("", "model", "key", "day", "project", "team"),
		}
		if rng.IntN(4) == 0 {
			f.KeyID = pick("a1", "b2")
		}
		if rng.IntN(4) == 0 {
			f.Project = pick("", "web", "api")
		}
		if rng.IntN(5) == 0 {
			f.Model = pick("gpt", "llama")
		}
		got, err := s.Usage.SumUsage(ctx, f)
		must(t, err)
		if diff := gocmp.Diff(scanTotals(recs, f), got, opts); diff != "" {
			t.Errorf("SumUsage(%+v) differs from a scan of the records (-scan +got):\n%s", f, diff)
			if failed++; failed == 5 {
				t.Fatal("too many differences")
			}
		}
	}
}

// scanTotals is what SumUsage(f) must return: the totals of a scan of recs.
func scanTotals(recs []llmservice.UsageRecord, f llmservice.UsageFilter) []llmservice.UsageTotal {
	type sums struct{ requests, errors, prompt, completion, cost, latency int64 }
	groups := map[string]*sums{}
	if f.GroupBy == "" {
		groups[""] = &sums{}
	}
	for _, r := range recs {
		if (f.TeamID != "" && r.TeamID != f.TeamID) || (f.KeyID != "" && r.KeyID != f.KeyID) ||
			(f.Project != "" && r.Project != f.Project) || (f.Model != "" && r.RequestedModel != f.Model) ||
			(!f.From.IsZero() && r.Time.Before(f.From)) || (!f.To.IsZero() && !r.Time.Before(f.To)) {
			continue
		}
		g := map[string]string{"": "", "model": r.RequestedModel, "key": r.KeyID, "project": r.Project,
			"team": r.TeamID, "day": r.Time.UTC().Format(time.DateOnly)}[f.GroupBy]
		s := groups[g]
		if s == nil {
			s = &sums{}
			groups[g] = s
		}
		s.requests++
		if r.Status >= 400 {
			s.errors++
		}
		s.prompt += int64(r.PromptTokens)
		s.completion += int64(r.CompletionTokens)
		s.cost += int64(r.Cost)
		s.latency += int64(r.LatencyMS)
	}
	var out []llmservice.UsageTotal
	for g, s := range groups {
		avg := 0.0
		if s.requests > 0 {
			avg = float64(s.latency) / float64(s.requests)
		}
		out = append(out, total(g, s.requests, s.errors, s.prompt, s.completion, llmservice.Nanos(s.cost), avg))
	}
	slices.SortFunc(out, func(a, b llmservice.UsageTotal) int { return strings.Compare(a.Group, b.Group) })
	return out
}

func testUsagePurge(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()
	s := open(t)
	purger, ok := s.Usage.(llmservice.UsagePurger)
	if !ok {
		t.Fatalf("%T does not implement llmservice.UsagePurger", s.Usage)
	}
	recs := rollupFixture()
	recs[1].Prompt, recs[1].Response = "old prompt", "old answer"
	recs[9].Prompt, recs[9].Response = "new prompt", "new answer"
	for i := range 5 {
		recs = append(recs, llmservice.UsageRecord{ID: fmt.Sprint("b", i), TeamID: "b", KeyID: "kb",
			Time: day0.Add(time.Duration(i) * 12 * time.Hour), Cost: 1, Status: 200})
	}
	must(t, s.Usage.InsertUsage(ctx, recs))
	day1, day2 := day0.Add(24*time.Hour), day0.Add(48*time.Hour)
	filters := []llmservice.UsageFilter{
		{TeamID: "a"}, {TeamID: "b"}, {}, {TeamID: "a", From: day0, To: day2, GroupBy: "day"},
		{TeamID: "a", From: day0.Add(time.Hour), To: day1.Add(5 * time.Hour), GroupBy: "model"},
	}
	var before [][]llmservice.UsageTotal
	for _, f := range filters {
		got, err := s.Usage.SumUsage(ctx, f)
		must(t, err)
		before = append(before, got)
	}

	// Team a has 8 records before day2 (x0-x7), team b 4 (day0 to day1 12:00);
	// a batch of 3 takes several transactions a team.
	n, err := purger.PurgeUsage(ctx, day2, 3)
	must(t, err)
	if n != 12 {
		t.Errorf("PurgeUsage deleted %d records; want 12", n)
	}

	got, _, err := s.Usage.FindUsageRecords(ctx, llmservice.RecordFilter{TeamID: "a", Limit: 500})
	must(t, err)
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
		if r.ID == "x9" && (r.Prompt != "new prompt" || r.Response != "new answer") {
			t.Errorf("x9's body = %q, %q after the purge; want it kept", r.Prompt, r.Response)
		}
	}
	if want := []string{"x13", "x12", "x11", "x10", "x9", "x8"}; !slices.Equal(ids, want) {
		t.Errorf("records of team a after the purge = %q; want %q", ids, want)
	}
	got, _, err = s.Usage.FindUsageRecords(ctx, llmservice.RecordFilter{TeamID: "b"})
	must(t, err)
	if len(got) != 1 || got[0].ID != "b4" {
		t.Errorf("records of team b after the purge = %+v; want b4 alone", got)
	}

	// The rollups are kept: totals over whole hours have not changed.
	for i, f := range filters {
		got, err := s.Usage.SumUsage(ctx, f)
		must(t, err)
		if diff := gocmp.Diff(before[i], got, opts); diff != "" {
			t.Errorf("SumUsage(%+v) changed with the purge (-before +after):\n%s", f, diff)
		}
	}

	n, err = purger.PurgeUsage(ctx, day2, 3)
	must(t, err)
	if n != 0 {
		t.Errorf("a second PurgeUsage deleted %d records; want 0", n)
	}
	n, err = purger.PurgeUsage(ctx, day2.Add(time.Hour), 0)
	must(t, err)
	if n != 2 {
		t.Errorf("PurgeUsage with the default batch deleted %d records; want 2 (x8 and b4)", n)
	}
}

// BenchInsertUsage measures InsertUsage in batches of 500 records of 10
// teams and 50 keys, a meter flush under load; it reports records/s.
func BenchInsertUsage(b *testing.B, s llmservice.UsageStore) {
	benchInsertUsage(b, s, 500)
}

// BenchInsertUsageBatch is BenchInsertUsage with batches of batch records;
// a gateway at a few hundred calls a second writes a few dozen per batch.
func BenchInsertUsageBatch(b *testing.B, s llmservice.UsageStore, batch int) {
	benchInsertUsage(b, s, batch)
}

func benchInsertUsage(b *testing.B, s llmservice.UsageStore, batch int) {
	ctx := context.Background()
	now := time.Now()
	recs := make([]llmservice.UsageRecord, batch)
	n := 0
	for b.Loop() {
		for i := range recs {
			n++
			recs[i] = llmservice.UsageRecord{
				ID: fmt.Sprintf("rec-%09d", n), Time: now.Add(time.Duration(n) * time.Millisecond),
				TeamID: fmt.Sprintf("team-%d", n%10), KeyID: fmt.Sprintf("key-%d", n%50),
				Endpoint: "chat", RequestedModel: "gpt-4o-mini", Provider: "openai",
				UpstreamModel: "gpt-4o-mini-2024-07-18", PromptTokens: 120, CompletionTokens: 80,
				Cost: 42_000, LatencyMS: 350, Status: 200, Attempts: 1,
			}
		}
		if err := s.InsertUsage(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
