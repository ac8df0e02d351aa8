package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
)

func testKeyPolicy(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()
	t.Run("UpdateKeyRoundTrip", func(t *testing.T) {
		s := open(t)
		mustCreateTeam(t, s.Teams, "t1")
		k := mustCreateKey(t, s.Keys, "k1", "t1")
		exp := base.Add(48 * time.Hour)
		got, err := s.Keys.UpdateKey(ctx, "k1", func(k *llmservice.Key) error {
			k.IPAllowlist = []string{"10.0.0.0/8", "192.0.2.7"}
			k.Limits = llmservice.Limits{RPM: 50, TPM: 1000, MaxBudgetUSD: ptr(3.0), BudgetPeriod: "daily"}
			k.ModelLimits = map[string]llmservice.ModelLimit{"gpt-5": {RPM: 60}}
			k.ExpiresAt = &exp
			return nil
		})
		must(t, err)
		again, err := s.Keys.FindKeyByHash(ctx, k.KeyHash)
		must(t, err)
		if diff := cmp.Diff(got, again, opts); diff != "" {
			t.Errorf("UpdateKey result differs from what FindKeyByHash reads (-update +find):\n%s", diff)
		}
		if again.RPM != 50 || len(again.IPAllowlist) != 2 || again.ModelLimits["gpt-5"].RPM != 60 || !again.ExpiresAt.Equal(exp) {
			t.Errorf("policy not stored: %+v", again)
		}
	})
	t.Run("UpdateKeyMissingNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.Keys.UpdateKey(ctx, "nope", func(*llmservice.Key) error { return nil })
		wantKind(t, err, llmservice.NotFound)
	})
}

func testModelGroups(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()
	t.Run("CRUD", func(t *testing.T) {
		s := open(t)
		g := &llmservice.ModelGroup{Name: "ResumeAgent", Models: []string{"gpt-4-turbo", "gpt-3.5-turbo", "claude-3-sonnet"}, CreatedAt: base}
		must(t, s.Groups.UpsertModelGroup(ctx, g))
		got, err := s.Groups.FindModelGroup(ctx, "ResumeAgent")
		must(t, err)
		if diff := cmp.Diff(g, got, opts); diff != "" {
			t.Errorf("FindModelGroup mismatch (-want +got):\n%s", diff)
		}
		must(t, s.Groups.UpsertModelGroup(ctx, &llmservice.ModelGroup{Name: "ResumeAgent", Models: []string{"gpt-4o"}, Strategy: "lowest-latency", CreatedAt: base.Add(time.Hour)}))
		got, err = s.Groups.FindModelGroup(ctx, "ResumeAgent")
		must(t, err)
		if len(got.Models) != 1 || got.Strategy != "lowest-latency" || !got.CreatedAt.Equal(base) {
			t.Errorf("replace: got %+v; want new models and strategy, first CreatedAt", got)
		}
		all, err := s.Groups.FindModelGroups(ctx)
		must(t, err)
		if len(all) != 1 {
			t.Errorf("FindModelGroups = %d groups; want 1", len(all))
		}
		must(t, s.Groups.DeleteModelGroup(ctx, "ResumeAgent"))
		_, err = s.Groups.FindModelGroup(ctx, "ResumeAgent")
		wantKind(t, err, llmservice.NotFound)
		wantKind(t, s.Groups.DeleteModelGroup(ctx, "ResumeAgent"), llmservice.NotFound)
	})
}

func testCredits(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()
	t.Run("AddSpendAndLedger", func(t *testing.T) {
		s := open(t)
		mustCreateTeam(t, s.Teams, "t1")
		b, err := s.Credits.AddCredits(ctx, "t1", 10, "grant", "")
		must(t, err)
		if b != 10 {
			t.Fatalf("balance = %d; want 10", b)
		}
		b, err = s.Credits.AddCredits(ctx, "t1", -3, "job", "job-1")
		must(t, err)
		if b != 7 {
			t.Fatalf("balance = %d; want 7", b)
		}
		_, err = s.Credits.AddCredits(ctx, "t1", -8, "job", "job-2")
		wantKind(t, err, llmservice.PaymentRequired)
		team, err := s.Teams.FindTeamByID(ctx, "t1")
		must(t, err)
		if team.Credits != 7 {
			t.Errorf("team.Credits = %d; want 7 (a refused spend changes nothing)", team.Credits)
		}
		ms, err := s.Credits.FindCreditMovements(ctx, "t1", 10)
		must(t, err)
		if len(ms) != 2 || ms[0].Amount != -3 || ms[0].BalanceAfter != 7 || ms[1].Amount != 10 || ms[0].Ref != "job-1" {
			t.Errorf("movements = %+v; want the spend then the grant, newest first", ms)
		}
	})
	t.Run("MissingTeamNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.Credits.AddCredits(ctx, "nope", 1, "grant", "")
		wantKind(t, err, llmservice.NotFound)
	})
	t.Run("ConcurrentSpendsNeverOverdraw", func(t *testing.T) {
		s := open(t)
		mustCreateTeam(t, s.Teams, "t1")
		_, err := s.Credits.AddCredits(ctx, "t1", 20, "grant", "")
		must(t, err)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Credits.AddCredits(ctx, "t1", -1, "call", ""); err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		team, err := s.Teams.FindTeamByID(ctx, "t1")
		must(t, err)
		if ok != 20 || team.Credits != 0 {
			t.Errorf("%d spends succeeded, balance %d; want 20 and 0", ok, team.Credits)
		}
	})
}

func testCatalogDeployments(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()
	s := open(t)
	m := &llmservice.Model{Name: "llama", Provider: "ollama", Strategy: "least-outstanding", CreatedAt: base,
		Deployments: []llmservice.Deployment{{Provider: "ollama", UpstreamModel: "llama3.1", Weight: 3}, {Provider: "vllm", Weight: 1, Priority: 1}}}
	must(t, s.Catalog.UpsertModel(ctx, m))
	all, err := s.Catalog.FindModels(ctx)
	must(t, err)
	if len(all) != 1 {
		t.Fatalf("models = %d", len(all))
	}
	if diff := cmp.Diff(m, all[0], opts); diff != "" {
		t.Errorf("deployments round trip (-want +got):\n%s", diff)
	}
}
