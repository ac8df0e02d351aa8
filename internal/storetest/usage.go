package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
)

// day0 is a UTC midnight; the usage fixture sits around it and the next one.
var day0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// usageFixture is four records of two teams over two UTC days. r2 is the last
// millisecond of day0 and r3 the first of day1, to test day and window edges.
func usageFixture() []llmservice.UsageRecord {
	day1 := day0.Add(24 * time.Hour)
	return []llmservice.UsageRecord{
		{ID: "r1", Time: day0.Add(time.Hour), TeamID: "a", KeyID: "ka1", RequestedModel: "gpt",
			Endpoint: "chat", Provider: "openai", UpstreamModel: "gpt-4o",
			PromptTokens: 10, CompletionTokens: 5, Cost: 1000, LatencyMS: 100, Status: 200, Attempts: 1},
		{ID: "r2", Time: day1.Add(-time.Millisecond), TeamID: "a", KeyID: "ka2", RequestedModel: "claude",
			PromptTokens: 20, LatencyMS: 300, Status: 502, ErrorType: "upstream", Attempts: 2},
		{ID: "r3", Time: day1, TeamID: "a", KeyID: "ka1", RequestedModel: "gpt", Stream: true,
			PromptTokens: 1, CompletionTokens: 1, Cost: 2_500_000_000, LatencyMS: 200, TTFTMS: 50,
			TokensEstimated: true, Status: 429, ErrorType: "rate_limited"},
		{ID: "r4", Time: day0.Add(2 * time.Hour), TeamID: "b", KeyID: "kb1", RequestedModel: "gpt",
			PromptTokens: 100, CompletionTokens: 100, Cost: 7, LatencyMS: 50, Status: 200},
	}
}

// total builds the UsageTotal expected for a group; the derived fields are
// computed here so that each table row states only the sums.
func total(group string, requests, errors, prompt, completion int64, cost llmservice.Nanos, avgLatency float64) llmservice.UsageTotal {
	return llmservice.UsageTotal{
		Group: group, Requests: requests, Errors: errors,
		PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion,
		Cost: cost, CostUSD: cost.Dollars(), AvgLatencyMS: avgLatency,
	}
}

// RunUsage runs the usage ledger's part of Run alone, for a store whose
// other parts are tested elsewhere.
func RunUsage(t *testing.T, open func(t *testing.T) Stores) {
	testUsage(t, open)
}

func testUsage(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()

	t.Run("SumUsage", func(t *testing.T) {
		s := open(t)
		must(t, s.Usage.InsertUsage(ctx, usageFixture()))
		day1 := day0.Add(24 * time.Hour)
		r1 := day0.Add(time.Hour)
		for _, tc := range []struct {
			name string
			f    llmservice.UsageFilter
			want []llmservice.UsageTotal
		}{
			{"TotalAllTeams", llmservice.UsageFilter{},
				[]llmservice.UsageTotal{total("", 4, 2, 131, 106, 2_500_001_007, 162.5)}},
			{"TotalTeamA", llmservice.UsageFilter{TeamID: "a"},
				[]llmservice.UsageTotal{total("", 3, 2, 31, 6, 2_500_001_000, 200)}},
			{"TotalTeamB", llmservice.UsageFilter{TeamID: "b"},
				[]llmservice.UsageTotal{total("", 1, 0, 100, 100, 7, 50)}},
			{"TotalUnknownTeamIsOneZeroRow", llmservice.UsageFilter{TeamID: "nobody"},
				[]llmservice.UsageTotal{total("", 0, 0, 0, 0, 0, 0)}},
			{"ByModel", llmservice.UsageFilter{TeamID: "a", GroupBy: "model"}, []llmservice.UsageTotal{
				total("claude", 1, 1, 20, 0, 0, 300),
				total("gpt", 2, 1, 11, 6, 2_500_001_000, 150),
			}},
			{"ByModelAllTeams", llmservice.UsageFilter{GroupBy: "model"}, []llmservice.UsageTotal{
				total("claude", 1, 1, 20, 0, 0, 300),
				total("gpt", 3, 1, 111, 106, 2_500_001_007, 350.0/3),
			}},
			{"ByKey", llmservice.UsageFilter{TeamID: "a", GroupBy: "key"}, []llmservice.UsageTotal{
				total("ka1", 2, 1, 11, 6, 2_500_001_000, 150),
				total("ka2", 1, 1, 20, 0, 0, 300),
			}},
			{"ByDay", llmservice.UsageFilter{TeamID: "a", GroupBy: "day"}, []llmservice.UsageTotal{
				total("2026-03-01", 2, 1, 30, 5, 1000, 200),
				total("2026-03-02", 1, 1, 1, 1, 2_500_000_000, 200),
			}},
			{"ByDayAllTeams", llmservice.UsageFilter{GroupBy: "day"}, []llmservice.UsageTotal{
				total("2026-03-01", 3, 1, 130, 105, 1007, 150),
				total("2026-03-02", 1, 1, 1, 1, 2_500_000_000, 200),
			}},
			{"ByModelUnknownTeamIsEmpty", llmservice.UsageFilter{TeamID: "nobody", GroupBy: "model"}, nil},
			// From is inclusive and To exclusive, to the millisecond.
			{"WindowDay0", llmservice.UsageFilter{TeamID: "a", From: day0, To: day1, GroupBy: "model"},
				[]llmservice.UsageTotal{
					total("claude", 1, 1, 20, 0, 0, 300),
					total("gpt", 1, 0, 10, 5, 1000, 100),
				}},
			{"WindowFromIsInclusive", llmservice.UsageFilter{TeamID: "a", From: r1, To: r1.Add(time.Millisecond)},
				[]llmservice.UsageTotal{total("", 1, 0, 10, 5, 1000, 100)}},
			{"WindowFromPlusOneMS", llmservice.UsageFilter{TeamID: "a", From: r1.Add(time.Millisecond), To: day1},
				[]llmservice.UsageTotal{total("", 1, 1, 20, 0, 0, 300)}},
			{"WindowToIsExclusive", llmservice.UsageFilter{TeamID: "a", From: day0, To: day1},
				[]llmservice.UsageTotal{total("", 2, 1, 30, 5, 1000, 200)}},
			{"WindowToPlusOneMS", llmservice.UsageFilter{TeamID: "a", From: day0, To: day1.Add(time.Millisecond)},
				[]llmservice.UsageTotal{total("", 3, 2, 31, 6, 2_500_001_000, 200)}},
			{"WindowOpenEnd", llmservice.UsageFilter{TeamID: "a", From: day1},
				[]llmservice.UsageTotal{total("", 1, 1, 1, 1, 2_500_000_000, 200)}},
			{"WindowOpenStart", llmservice.UsageFilter{TeamID: "a", To: day1},
				[]llmservice.UsageTotal{total("", 2, 1, 30, 5, 1000, 200)}},
			{"WindowEmpty", llmservice.UsageFilter{TeamID: "a", From: day1, To: day1},
				[]llmservice.UsageTotal{total("", 0, 0, 0, 0, 0, 0)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Usage.SumUsage(ctx, tc.f)
				must(t, err)
				if diff := cmp.Diff(tc.want, got, opts); diff != "" {
					t.Errorf("SumUsage(%+v) mismatch (-want +got):\n%s", tc.f, diff)
				}
			})
		}
	})

	t.Run("InsertIsIdempotent", func(t *testing.T) {
		s := open(t)
		batch := usageFixture()
		must(t, s.Usage.InsertUsage(ctx, batch))
		must(t, s.Usage.InsertUsage(ctx, batch))
		// A retried batch may overlap a new one.
		r5 := batch[0]
		r5.ID = "r5"
		must(t, s.Usage.InsertUsage(ctx, []llmservice.UsageRecord{batch[0], r5}))
		got, err := s.Usage.SumUsage(ctx, llmservice.UsageFilter{TeamID: "a"})
		must(t, err)
		want := []llmservice.UsageTotal{total("", 4, 2, 41, 11, 2_500_002_000, 175)}
		if diff := cmp.Diff(want, got, opts); diff != "" {
			t.Errorf("SumUsage after re-inserts mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("InsertNothing", func(t *testing.T) {
		s := open(t)
		must(t, s.Usage.InsertUsage(ctx, nil))
		got, err := s.Usage.SumUsage(ctx, llmservice.UsageFilter{})
		must(t, err)
		want := []llmservice.UsageTotal{total("", 0, 0, 0, 0, 0, 0)}
		if diff := cmp.Diff(want, got, opts); diff != "" {
			t.Errorf("SumUsage of an empty ledger mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("CacheTokens", func(t *testing.T) { testUsageCacheTokens(t, open) })
	t.Run("Pieces", func(t *testing.T) { testUsagePieces(t, open) })
	t.Run("RandomAgainstScan", func(t *testing.T) { testUsageRandom(t, open) })
	t.Run("Purge", func(t *testing.T) { testUsagePurge(t, open) })
	t.Run("Series", func(t *testing.T) { testUsageSeries(t, open) })
	t.Run("Logs", func(t *testing.T) { testUsageLogs(t, open) })

	t.Run("UnknownGroupByInvalid", func(t *testing.T) {
		s := open(t)
		_, err := s.Usage.SumUsage(ctx, llmservice.UsageFilter{GroupBy: "colour"})
		wantKind(t, err, llmservice.Invalid)
		if e := llmservice.AsError(err); e.Param != "group_by" {
			t.Errorf("Param = %q; want group_by", e.Param)
		}
	})
}
