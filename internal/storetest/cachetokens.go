package storetest

import (
	"context"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
)

// testUsageCacheTokens checks that the cache and reasoning token columns
// travel from a record to its log entry, to every kind of total (rollups,
// all-teams rollups, the raw records of a sub-hour edge) and to a series.
func testUsageCacheTokens(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()
	s := open(t)
	recs := []llmservice.UsageRecord{
		{ID: "c1", Time: day0.Add(time.Hour), TeamID: "a", KeyID: "k", RequestedModel: "claude", Status: 200,
			PromptTokens: 3500, CompletionTokens: 90, CacheReadTokens: 2000, CacheWriteTokens: 400, CacheWrite1hTokens: 100,
			ReasoningTokens: 60, Cost: 5_700_000},
		{ID: "c2", Time: day0.Add(90 * time.Minute), TeamID: "a", KeyID: "k", RequestedModel: "gpt", Status: 200,
			PromptTokens: 1000, CompletionTokens: 10, CacheReadTokens: 500, ReasoningTokens: 5, Cost: 10},
		{ID: "c3", Time: day0.Add(2 * time.Hour), TeamID: "b", KeyID: "kb", RequestedModel: "claude", Status: 200,
			PromptTokens: 10, CompletionTokens: 1, CacheWriteTokens: 7},
	}
	must(t, s.Usage.InsertUsage(ctx, recs))
	tot := func(group string, req, prompt, completion, read, write, write1h, reasoning int64, cost llmservice.Nanos) llmservice.UsageTotal {
		u := total(group, req, 0, prompt, completion, cost, 0)
		u.CacheReadTokens, u.CacheWriteTokens, u.CacheWrite1hTokens, u.ReasoningTokens = read, write, write1h, reasoning
		return u
	}
	for _, tc := range []struct {
		name string
		f    llmservice.UsageFilter
		want []llmservice.UsageTotal
	}{
		{"all teams", llmservice.UsageFilter{}, []llmservice.UsageTotal{tot("", 3, 4510, 101, 2500, 407, 100, 65, 5_700_010)}},
		{"one team by model", llmservice.UsageFilter{TeamID: "a", GroupBy: "model"}, []llmservice.UsageTotal{
			tot("claude", 1, 3500, 90, 2000, 400, 100, 60, 5_700_000), tot("gpt", 1, 1000, 10, 500, 0, 0, 5, 10)}},
		{"sub-hour edge from the records", llmservice.UsageFilter{TeamID: "a", From: day0.Add(80 * time.Minute), To: day0.Add(100 * time.Minute)},
			[]llmservice.UsageTotal{tot("", 1, 1000, 10, 500, 0, 0, 5, 10)}},
	} {
		got, err := s.Usage.SumUsage(ctx, tc.f)
		must(t, err)
		if diff := gocmp.Diff(tc.want, got, opts, gocmp.FilterPath(func(p gocmp.Path) bool {
			return p.Last().String() == ".AvgLatencyMS"
		}, gocmp.Ignore())); diff != "" {
			t.Errorf("SumUsage(%s) mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
	got, _, err := s.Usage.FindUsageRecords(ctx, llmservice.RecordFilter{TeamID: "a"})
	must(t, err)
	if len(got) != 2 || got[1].CacheReadTokens != 2000 || got[1].CacheWriteTokens != 400 || got[1].CacheWrite1hTokens != 100 || got[1].ReasoningTokens != 60 {
		t.Errorf("FindUsageRecords = %+v; want c1's cache and reasoning tokens", got)
	}
	if st, ok := s.Usage.(llmservice.UsageStatsStore); ok {
		_, all, err := st.UsageSeries(ctx, llmservice.UsageSeriesFilter{TeamID: "a", Bucket: "hour", From: day0, To: day0.Add(24 * time.Hour)})
		must(t, err)
		if all.CacheReadTokens != 2500 || all.CacheWriteTokens != 400 || all.CacheWrite1hTokens != 100 || all.ReasoningTokens != 65 {
			t.Errorf("UsageSeries total = %+v; want the cache and reasoning sums", all.UsageTotal)
		}
	}
}
