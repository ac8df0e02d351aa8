package storetest

import (
	"context"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
)

func testTeams(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()

	t.Run("CreateAndFind", func(t *testing.T) {
		s := open(t)
		want := &llmservice.Team{ID: "t1", Name: "Team One", Models: []string{"gpt", "claude"}, CreatedAt: base}
		must(t, s.Teams.CreateTeam(ctx, want))
		got, err := s.Teams.FindTeamByID(ctx, "t1")
		must(t, err)
		if diff := cmp.Diff(want, got, opts); diff != "" {
			t.Errorf("FindTeamByID mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("CreateStampsCreatedAt", func(t *testing.T) {
		s := open(t)
		team := &llmservice.Team{ID: "t1", Name: "Team One"}
		must(t, s.Teams.CreateTeam(ctx, team))
		if team.CreatedAt.IsZero() {
			t.Fatal("CreatedAt is still zero after CreateTeam")
		}
		got, err := s.Teams.FindTeamByID(ctx, "t1")
		must(t, err)
		if !got.CreatedAt.Equal(team.CreatedAt) {
			t.Errorf("CreatedAt = %v; want %v", got.CreatedAt, team.CreatedAt)
		}
	})

	t.Run("DuplicateIDConflict", func(t *testing.T) {
		s := open(t)
		mustCreateTeam(t, s.Teams, "t1")
		err := s.Teams.CreateTeam(ctx, &llmservice.Team{ID: "t1", Name: "again", CreatedAt: base})
		wantKind(t, err, llmservice.Conflict)
	})

	t.Run("FindMissingNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.Teams.FindTeamByID(ctx, "nope")
		wantKind(t, err, llmservice.NotFound)
	})

	t.Run("FindTeams", func(t *testing.T) {
		s := open(t)
		got, err := s.Teams.FindTeams(ctx)
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("FindTeams on an empty store = %d teams; want 0", len(got))
		}
		want := []*llmservice.Team{
			mustCreateTeam(t, s.Teams, "a"),
			mustCreateTeam(t, s.Teams, "b"),
			mustCreateTeam(t, s.Teams, "c"),
		}
		got, err = s.Teams.FindTeams(ctx)
		must(t, err)
		sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
		if diff := cmp.Diff(want, got, opts); diff != "" {
			t.Errorf("FindTeams mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("Update", func(t *testing.T) {
		orig := llmservice.Team{ID: "t1", Name: "old", Models: []string{"a"}, CreatedAt: base}
		for _, tc := range []struct {
			name string
			u    func(*llmservice.Team) error
			want llmservice.Team
		}{
			{"NothingChanges", func(*llmservice.Team) error { return nil }, orig},
			{"Name", func(t *llmservice.Team) error { t.Name = "new"; return nil },
				llmservice.Team{ID: "t1", Name: "new", Models: []string{"a"}, CreatedAt: base}},
			{"Models", func(t *llmservice.Team) error { t.Models = []string{"b", "c"}; return nil },
				llmservice.Team{ID: "t1", Name: "old", Models: []string{"b", "c"}, CreatedAt: base}},
			{"ClearModels", func(t *llmservice.Team) error { t.Models = nil; return nil },
				llmservice.Team{ID: "t1", Name: "old", CreatedAt: base}},
			{"LimitsAndGroups", func(t *llmservice.Team) error {
				t.ModelGroups = []string{"ChatAgent"}
				t.Limits = llmservice.Limits{RPM: 60, TPM: 60000, MaxBudgetUSD: ptr(12.5), BudgetPeriod: "monthly"}
				return nil
			}, llmservice.Team{ID: "t1", Name: "old", Models: []string{"a"}, ModelGroups: []string{"ChatAgent"},
				Limits: llmservice.Limits{RPM: 60, TPM: 60000, MaxBudgetUSD: ptr(12.5), BudgetPeriod: "monthly"}, CreatedAt: base}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := open(t)
				team := orig
				team.Models = append([]string(nil), orig.Models...)
				must(t, s.Teams.CreateTeam(ctx, &team))
				got, err := s.Teams.UpdateTeam(ctx, "t1", tc.u)
				must(t, err)
				if diff := cmp.Diff(&tc.want, got, opts); diff != "" {
					t.Errorf("UpdateTeam result mismatch (-want +got):\n%s", diff)
				}
				got, err = s.Teams.FindTeamByID(ctx, "t1")
				must(t, err)
				if diff := cmp.Diff(&tc.want, got, opts); diff != "" {
					t.Errorf("FindTeamByID after update mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("UpdateMissingNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.Teams.UpdateTeam(ctx, "nope", func(t *llmservice.Team) error { t.Name = "x"; return nil })
		wantKind(t, err, llmservice.NotFound)
	})

	t.Run("UpdateErrorChangesNothing", func(t *testing.T) {
		s := open(t)
		mustCreateTeam(t, s.Teams, "t1")
		_, err := s.Teams.UpdateTeam(ctx, "t1", func(t *llmservice.Team) error {
			t.Name = "changed"
			return llmservice.InvalidParam("rpm", "bad")
		})
		wantKind(t, err, llmservice.Invalid)
		got, err := s.Teams.FindTeamByID(ctx, "t1")
		must(t, err)
		if got.Name == "changed" {
			t.Error("a failed update was saved")
		}
	})

	t.Run("DeleteRemovesKeysKeepsUsage", func(t *testing.T) {
		s := open(t)
		mustCreateTeam(t, s.Teams, "gone")
		mustCreateTeam(t, s.Teams, "kept")
		k := mustCreateKey(t, s.Keys, "k1", "gone")
		other := mustCreateKey(t, s.Keys, "k2", "kept")
		must(t, s.Usage.InsertUsage(ctx, []llmservice.UsageRecord{
			{ID: "u1", Time: base, TeamID: "gone", KeyID: "k1", RequestedModel: "m", Status: 200, PromptTokens: 3},
		}))

		must(t, s.Teams.DeleteTeam(ctx, "gone"))

		_, err := s.Teams.FindTeamByID(ctx, "gone")
		wantKind(t, err, llmservice.NotFound)
		_, err = s.Keys.FindKeyByHash(ctx, k.KeyHash)
		wantKind(t, err, llmservice.NotFound)
		_, err = s.Keys.FindKeyByID(ctx, "k1")
		wantKind(t, err, llmservice.NotFound)
		if _, err := s.Keys.FindKeyByHash(ctx, other.KeyHash); err != nil {
			t.Errorf("another team's key is gone: %v", err)
		}
		totals, err := s.Usage.SumUsage(ctx, llmservice.UsageFilter{TeamID: "gone"})
		must(t, err)
		if len(totals) != 1 || totals[0].Requests != 1 || totals[0].PromptTokens != 3 {
			t.Errorf("usage of a deleted team = %+v; want its one record kept", totals)
		}
		// The team's ID is free again.
		mustCreateTeam(t, s.Teams, "gone")
	})

	t.Run("DeleteMissingNotFound", func(t *testing.T) {
		s := open(t)
		wantKind(t, s.Teams.DeleteTeam(ctx, "nope"), llmservice.NotFound)
		mustCreateTeam(t, s.Teams, "t1")
		must(t, s.Teams.DeleteTeam(ctx, "t1"))
		wantKind(t, s.Teams.DeleteTeam(ctx, "t1"), llmservice.NotFound)
	})
}
