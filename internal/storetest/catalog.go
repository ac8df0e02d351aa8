package storetest

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
)

func testCatalog(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()

	findModels := func(t *testing.T, s Stores) []*llmservice.Model {
		t.Helper()
		got, err := s.Catalog.FindModels(ctx)
		must(t, err)
		sort.Slice(got, func(i, j int) bool { return got[i].Name < got[j].Name })
		return got
	}

	t.Run("UpsertCreates", func(t *testing.T) {
		s := open(t)
		if got := findModels(t, s); len(got) != 0 {
			t.Fatalf("FindModels on an empty store = %d models; want 0", len(got))
		}
		want := []*llmservice.Model{
			// A nil price is unknown, a zero price is free: both must survive.
			{Name: "free", Provider: "ollama", InputPerMTok: ptr(0.0), OutputPerMTok: ptr(0.0), CreatedAt: base},
			{Name: "gpt", Provider: "openai", UpstreamModel: "gpt-4o-2024-08-06",
				InputPerMTok: ptr(2.5), OutputPerMTok: ptr(10.0),
				RPM: 500, TPM: 30000, ContextWindow: 128000, CreatedAt: base,
				Cache: &llmservice.CachePolicy{TTL: "1h"}},
			{Name: "unpriced", Provider: "openai", CreatedAt: base},
		}
		for _, m := range want {
			must(t, s.Catalog.UpsertModel(ctx, m))
		}
		if diff := cmp.Diff(want, findModels(t, s), opts); diff != "" {
			t.Errorf("FindModels mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("UpsertReplacesKeepsCreatedAt", func(t *testing.T) {
		s := open(t)
		must(t, s.Catalog.UpsertModel(ctx, &llmservice.Model{
			Name: "m", Provider: "openai", InputPerMTok: ptr(1.0), RPM: 10, CreatedAt: base,
			Cache: &llmservice.CachePolicy{TTL: "30m"}}))
		next := &llmservice.Model{Name: "m", Provider: "anthropic", UpstreamModel: "claude",
			OutputPerMTok: ptr(3.0), TPM: 7, CreatedAt: base.Add(time.Hour)}
		must(t, s.Catalog.UpsertModel(ctx, next))
		if !next.CreatedAt.Equal(base) {
			t.Errorf("UpsertModel set CreatedAt = %v; want the first entry's %v", next.CreatedAt, base)
		}
		want := []*llmservice.Model{{Name: "m", Provider: "anthropic", UpstreamModel: "claude",
			OutputPerMTok: ptr(3.0), TPM: 7, CreatedAt: base}}
		if diff := cmp.Diff(want, findModels(t, s), opts); diff != "" {
			t.Errorf("FindModels after replace mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("UpsertStampsCreatedAt", func(t *testing.T) {
		s := open(t)
		m := &llmservice.Model{Name: "m", Provider: "openai"}
		must(t, s.Catalog.UpsertModel(ctx, m))
		got := findModels(t, s)
		if m.CreatedAt.IsZero() || len(got) != 1 || !got[0].CreatedAt.Equal(m.CreatedAt) {
			t.Errorf("CreatedAt = %v, stored %+v; want the same non-zero time", m.CreatedAt, got)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		must(t, s.Catalog.UpsertModel(ctx, &llmservice.Model{Name: "a", Provider: "openai", CreatedAt: base}))
		must(t, s.Catalog.UpsertModel(ctx, &llmservice.Model{Name: "b", Provider: "openai", CreatedAt: base}))
		must(t, s.Catalog.DeleteModel(ctx, "a"))
		got := findModels(t, s)
		if len(got) != 1 || got[0].Name != "b" {
			t.Errorf("FindModels after deleting a = %+v; want only b", got)
		}
		wantKind(t, s.Catalog.DeleteModel(ctx, "a"), llmservice.NotFound)
	})
}
