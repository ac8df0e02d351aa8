package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
)

// StackForDevsStores is one database seen through the stores the
// StackForDevs API uses.
type StackForDevsStores struct {
	Teams       llmservice.TeamStore
	Credentials llmservice.ProviderCredentialStore
	Usage       llmservice.UsageStore
}

// RunStackForDevs runs the conformance suite of provider credentials and of
// per-project usage totals. open must return stores over a fresh, migrated
// and empty database.
func RunStackForDevs(t *testing.T, open func(t *testing.T) StackForDevsStores) {
	t.Run("Credentials", func(t *testing.T) { testCredentials(t, open) })
	t.Run("CredentialsTenantIsolation", func(t *testing.T) { testCredentialIsolation(t, open) })
	t.Run("UsageByProject", func(t *testing.T) { testUsageByProject(t, open) })
}

func testCredentials(t *testing.T, open func(t *testing.T) StackForDevsStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "a")

	c := &llmservice.ProviderCredential{TeamID: "a", ProviderType: "openai", Ciphertext: []byte{1, 2, 3}, Hint: "sk-...abcd", CreatedAt: base, UpdatedAt: base}
	must(t, s.Credentials.UpsertProviderCredential(ctx, c))
	got, err := s.Credentials.FindProviderCredential(ctx, "a", "openai")
	must(t, err)
	if diff := cmp.Diff(c, got, opts); diff != "" {
		t.Errorf("FindProviderCredential mismatch (-want +got):\n%s", diff)
	}

	// A replacement keeps the creation time and takes the new key.
	later := base.Add(time.Hour)
	must(t, s.Credentials.UpsertProviderCredential(ctx, &llmservice.ProviderCredential{
		TeamID: "a", ProviderType: "openai", Ciphertext: []byte{9}, Hint: "sk-...wxyz", CreatedAt: later, UpdatedAt: later}))
	got, err = s.Credentials.FindProviderCredential(ctx, "a", "openai")
	must(t, err)
	if !got.CreatedAt.Equal(base) || !got.UpdatedAt.Equal(later) || !bytes.Equal(got.Ciphertext, []byte{9}) || got.Hint != "sk-...wxyz" {
		t.Errorf("after replace: %+v; want created %v, updated %v, ciphertext [9], hint sk-...wxyz", got, base, later)
	}

	must(t, s.Credentials.UpsertProviderCredential(ctx, &llmservice.ProviderCredential{TeamID: "a", ProviderType: "anthropic", Ciphertext: []byte{7}, Hint: "sk-...0000"}))
	list, err := s.Credentials.FindProviderCredentials(ctx, "a")
	must(t, err)
	if len(list) != 2 || list[0].ProviderType != "anthropic" || list[1].ProviderType != "openai" {
		t.Fatalf("FindProviderCredentials = %+v; want anthropic then openai", list)
	}
	if list[0].CreatedAt.IsZero() {
		t.Error("a credential stored without CreatedAt got no creation time")
	}

	must(t, s.Credentials.DeleteProviderCredential(ctx, "a", "openai"))
	_, err = s.Credentials.FindProviderCredential(ctx, "a", "openai")
	wantKind(t, err, llmservice.NotFound)
	wantKind(t, s.Credentials.DeleteProviderCredential(ctx, "a", "openai"), llmservice.NotFound)

	t.Run("UnknownTeamNotFound", func(t *testing.T) {
		err := s.Credentials.UpsertProviderCredential(ctx, &llmservice.ProviderCredential{TeamID: "ghost", ProviderType: "openai", Ciphertext: []byte{1}})
		wantKind(t, err, llmservice.NotFound)
	})
	t.Run("DeletedWithTheTeam", func(t *testing.T) {
		must(t, s.Teams.DeleteTeam(ctx, "a"))
		list, err := s.Credentials.FindProviderCredentials(ctx, "a")
		must(t, err)
		if len(list) != 0 {
			t.Errorf("credentials of a deleted team: %+v; want none", list)
		}
	})
}

func testCredentialIsolation(t *testing.T, open func(t *testing.T) StackForDevsStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "a")
	mustCreateTeam(t, s.Teams, "b")
	must(t, s.Credentials.UpsertProviderCredential(ctx, &llmservice.ProviderCredential{TeamID: "a", ProviderType: "openai", Ciphertext: []byte("a-secret")}))

	_, err := s.Credentials.FindProviderCredential(ctx, "b", "openai")
	wantKind(t, err, llmservice.NotFound)
	list, err := s.Credentials.FindProviderCredentials(ctx, "b")
	must(t, err)
	if len(list) != 0 {
		t.Errorf("team b lists %+v; want nothing of team a", list)
	}
	wantKind(t, s.Credentials.DeleteProviderCredential(ctx, "b", "openai"), llmservice.NotFound)
	if _, err := s.Credentials.FindProviderCredential(ctx, "a", "openai"); err != nil {
		t.Errorf("team b's delete touched team a's credential: %v", err)
	}
}

func testUsageByProject(t *testing.T, open func(t *testing.T) StackForDevsStores) {
	ctx := context.Background()
	s := open(t)
	recs := []llmservice.UsageRecord{
		{ID: "p1", Time: day0, TeamID: "a", Project: "web", RequestedModel: "gpt", PromptTokens: 1, CompletionTokens: 2, Cost: 10, Status: 200},
		{ID: "p2", Time: day0, TeamID: "a", Project: "web", RequestedModel: "claude", PromptTokens: 3, Status: 500},
		{ID: "p3", Time: day0, TeamID: "a", Project: "batch", RequestedModel: "gpt", PromptTokens: 5, CompletionTokens: 5, Cost: 20, Status: 200},
		// Team b uses the same project name; it must never count for a.
		{ID: "p4", Time: day0, TeamID: "b", Project: "web", RequestedModel: "gpt", PromptTokens: 100, Cost: 1000, Status: 200},
	}
	must(t, s.Usage.InsertUsage(ctx, recs))
	for _, tc := range []struct {
		name string
		f    llmservice.UsageFilter
		want []llmservice.UsageTotal
	}{
		{"TeamAWeb", llmservice.UsageFilter{TeamID: "a", Project: "web"},
			[]llmservice.UsageTotal{total("", 2, 1, 4, 2, 10, 0)}},
		{"TeamAWebByModel", llmservice.UsageFilter{TeamID: "a", Project: "web", GroupBy: "model"},
			[]llmservice.UsageTotal{total("claude", 1, 1, 3, 0, 0, 0), total("gpt", 1, 0, 1, 2, 10, 0)}},
		{"TeamABatch", llmservice.UsageFilter{TeamID: "a", Project: "batch"},
			[]llmservice.UsageTotal{total("", 1, 0, 5, 5, 20, 0)}},
		{"TeamAAllProjects", llmservice.UsageFilter{TeamID: "a"},
			[]llmservice.UsageTotal{total("", 3, 1, 9, 7, 30, 0)}},
		{"TeamBWeb", llmservice.UsageFilter{TeamID: "b", Project: "web"},
			[]llmservice.UsageTotal{total("", 1, 0, 100, 0, 1000, 0)}},
		{"UnknownProject", llmservice.UsageFilter{TeamID: "a", Project: "nope"},
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
}
