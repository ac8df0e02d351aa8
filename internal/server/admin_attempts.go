package server

import (
	"context"
	"sort"
	"strings"

	"github.com/llmservice/llmservice"
)

// attemptGroups are the group_by values counted per attempt rather than
// per call: a call that failed on its primary and was answered by a
// fallback shows under both.
var attemptGroups = map[string]bool{"provider": true, "deployment": true}

// maxAttemptScan bounds the records one attempt breakdown reads. The
// rollups have no provider dimension, so these totals come from the raw
// records (with their attempt logs), newest first; past the bound the
// answer says "truncated".
const maxAttemptScan = 100_000

// attemptTotals sums the attempts of the records f selects by provider
// instance or deployment: requests are attempts, errors the failed ones;
// tokens, cost and latency go to the attempt that answered.
func (s *Server) attemptTotals(ctx context.Context, f llmservice.UsageFilter) ([]llmservice.UsageTotal, bool, error) {
	teams := []string{f.TeamID}
	if f.TeamID == "" {
		ts, err := s.cfg.Stores.Teams.FindTeams(ctx)
		if err != nil {
			return nil, false, err
		}
		teams = teams[:0]
		for _, t := range ts {
			teams = append(teams, t.ID)
		}
	}
	acc := map[string]*attemptSum{}
	scanned := 0
	for _, team := range teams {
		rf := llmservice.RecordFilter{TeamID: team, Project: f.Project, KeyID: f.KeyID, From: f.From, To: f.To, Limit: 500}
		for {
			recs, next, err := s.cfg.Stores.Usage.FindUsageRecords(ctx, rf)
			if err != nil {
				return nil, false, err
			}
			for i := range recs {
				if f.Model == "" || recs[i].RequestedModel == f.Model {
					addAttempts(acc, &recs[i], f.GroupBy)
				}
			}
			scanned += len(recs)
			if scanned >= maxAttemptScan {
				return attemptList(acc), true, nil
			}
			if next == "" {
				break
			}
			rf.Before = next
		}
	}
	return attemptList(acc), false, nil
}

type attemptSum struct {
	llmservice.UsageTotal
	latency int64
	served  int64
}

// addAttempts adds one record's attempts. The attempt log reads
// "deployment/model=kind ..." with "ok" for the one that answered; a record
// without one made a single attempt on its provider (none: refused before
// routing, counted nowhere here).
func addAttempts(acc map[string]*attemptSum, r *llmservice.UsageRecord, by string) {
	type attempt struct {
		deployment string
		ok         bool
	}
	var as []attempt
	if r.AttemptLog != "" {
		for _, a := range strings.Fields(r.AttemptLog) {
			i := strings.LastIndexByte(a, '=')
			if i < 0 {
				continue
			}
			dep, _, _ := strings.Cut(a[:i], "/")
			as = append(as, attempt{dep, a[i+1:] == "ok"})
		}
	} else if r.Provider != "" {
		as = append(as, attempt{r.Provider, r.Status < 400})
	}
	for _, a := range as {
		g := a.deployment
		if by == "provider" {
			g, _, _ = strings.Cut(g, "#") // the hosts of one instance are "name#2"
		}
		s := acc[g]
		if s == nil {
			s = &attemptSum{UsageTotal: llmservice.UsageTotal{Group: g}}
			acc[g] = s
		}
		s.Requests++
		if !a.ok {
			s.Errors++
			continue
		}
		s.PromptTokens += int64(r.PromptTokens)
		s.CompletionTokens += int64(r.CompletionTokens)
		s.Cost += r.Cost
		s.latency += int64(r.LatencyMS)
		s.served++
	}
}

func attemptList(acc map[string]*attemptSum) []llmservice.UsageTotal {
	out := make([]llmservice.UsageTotal, 0, len(acc))
	for _, s := range acc {
		t := s.UsageTotal
		t.TotalTokens = t.PromptTokens + t.CompletionTokens
		t.CostUSD = t.Cost.Dollars()
		if s.served > 0 {
			t.AvgLatencyMS = float64(s.latency) / float64(s.served)
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}
