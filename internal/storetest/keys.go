package storetest

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
)

func testKeys(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()

	t.Run("CreateAndFind", func(t *testing.T) {
		s := open(t)
		mustCreateTeam(t, s.Teams, "t1")
		want := newKey("k1", "t1")
		want.Models = []string{"gpt", "claude"}
		want.ExpiresAt = ptr(base.Add(30 * 24 * time.Hour))
		must(t, s.Keys.CreateKey(ctx, want))

		got, err := s.Keys.FindKeyByHash(ctx, want.KeyHash)
		must(t, err)
		if diff := cmp.Diff(want, got, opts); diff != "" {
			t.Errorf("FindKeyByHash mismatch (-want +got):\n%s", diff)
		}
		got, err = s.Keys.FindKeyByID(ctx, "k1")
		must(t, err)
		if diff := cmp.Diff(want, got, opts); diff != "" {
			t.Errorf("FindKeyByID mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("CreateStampsCreatedAt", func(t *testing.T) {
		s := open(t)
		mustCreateTeam(t, s.Teams, "t1")
		k := newKey("k1", "t1")
		k.CreatedAt = time.Time{}
		must(t, s.Keys.CreateKey(ctx, k))
		if k.CreatedAt.IsZero() {
			t.Fatal("CreatedAt is still zero after CreateKey")
		}
		got, err := s.Keys.FindKeyByID(ctx, "k1")
		must(t, err)
		if !got.CreatedAt.Equal(k.CreatedAt) {
			t.Errorf("CreatedAt = %v; want %v", got.CreatedAt, k.CreatedAt)
		}
	})

	t.Run("Conflict", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			change func(k *llmservice.Key)
		}{
			{"SameID", func(k *llmservice.Key) { k.ID = "k1" }},
			{"SameKeyHash", func(k *llmservice.Key) { k.KeyHash = newKey("k1", "").KeyHash }},
			{"SameSecretHash", func(k *llmservice.Key) { k.SecretHash = newKey("k1", "").SecretHash }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := open(t)
				mustCreateTeam(t, s.Teams, "t1")
				mustCreateKey(t, s.Keys, "k1", "t1")
				k := newKey("k2", "t1")
				tc.change(k)
				wantKind(t, s.Keys.CreateKey(ctx, k), llmservice.Conflict)
			})
		}
	})

	t.Run("EmptySecretHashesDoNotCollide", func(t *testing.T) {
		s := open(t)
		mustCreateTeam(t, s.Teams, "t1")
		for _, id := range []string{"k1", "k2"} {
			k := newKey(id, "t1")
			k.SecretHash = ""
			must(t, s.Keys.CreateKey(ctx, k))
		}
	})

	t.Run("MissingTeamNotFound", func(t *testing.T) {
		s := open(t)
		wantKind(t, s.Keys.CreateKey(ctx, newKey("k1", "nope")), llmservice.NotFound)
	})

	t.Run("FindMissingNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.Keys.FindKeyByHash(ctx, llmservice.HashSecret("nope"))
		wantKind(t, err, llmservice.NotFound)
		_, err = s.Keys.FindKeyByID(ctx, "nope")
		wantKind(t, err, llmservice.NotFound)
	})

	t.Run("RevokeVisibleByHash", func(t *testing.T) {
		s := open(t)
		mustCreateTeam(t, s.Teams, "t1")
		k := mustCreateKey(t, s.Keys, "k1", "t1")
		now := base.Add(time.Hour)
		if got, err := s.Keys.FindKeyByHash(ctx, k.KeyHash); err != nil || !got.Active(now) {
			t.Fatalf("before revocation: key %+v, err %v; want active", got, err)
		}

		must(t, s.Keys.RevokeKey(ctx, "k1", now))
		got, err := s.Keys.FindKeyByHash(ctx, k.KeyHash)
		must(t, err)
		if got.RevokedAt == nil || !got.RevokedAt.Equal(now) {
			t.Errorf("RevokedAt = %v; want %v", got.RevokedAt, now)
		}
		if got.Active(now) {
			t.Error("revoked key is still active")
		}

		// A second revocation keeps the time the key really stopped working.
		must(t, s.Keys.RevokeKey(ctx, "k1", now.Add(time.Hour)))
		got, err = s.Keys.FindKeyByID(ctx, "k1")
		must(t, err)
		if got.RevokedAt == nil || !got.RevokedAt.Equal(now) {
			t.Errorf("after a second revocation RevokedAt = %v; want %v", got.RevokedAt, now)
		}
	})

	t.Run("RevokeMissingNotFound", func(t *testing.T) {
		s := open(t)
		wantKind(t, s.Keys.RevokeKey(ctx, "nope", base), llmservice.NotFound)
	})

	t.Run("FindKeysByTeam", func(t *testing.T) {
		s := open(t)
		mustCreateTeam(t, s.Teams, "a")
		mustCreateTeam(t, s.Teams, "b")
		a1 := mustCreateKey(t, s.Keys, "a1", "a")
		a2 := mustCreateKey(t, s.Keys, "a2", "a")
		b1 := mustCreateKey(t, s.Keys, "b1", "b")
		for _, tc := range []struct {
			team string
			want []*llmservice.Key
		}{
			{"a", []*llmservice.Key{a1, a2}},
			{"b", []*llmservice.Key{b1}},
			{"nobody", nil},
			{"", []*llmservice.Key{a1, a2, b1}},
		} {
			got, err := s.Keys.FindKeys(ctx, llmservice.KeyFilter{TeamID: tc.team})
			must(t, err)
			sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
			if diff := cmp.Diff(tc.want, got, opts); diff != "" {
				t.Errorf("FindKeys(team %q) mismatch (-want +got):\n%s", tc.team, diff)
			}
		}
	})
}
