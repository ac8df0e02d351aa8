// Package storetest is the conformance suite every store implementation of
// the root package's interfaces must pass (SQLite now, Postgres later). It
// pins down the behaviour the interfaces only describe in words: error kinds,
// tenant isolation, idempotent usage inserts and how usage is summed.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/llmservice/llmservice"
)

// Stores is one database seen through each store interface.
type Stores struct {
	Teams    llmservice.TeamStore
	Keys     llmservice.KeyStore
	Catalog  llmservice.CatalogStore
	Settings llmservice.SettingStore
	Usage    llmservice.UsageStore
	Groups   llmservice.ModelGroupStore
	Credits  llmservice.CreditStore
}

// Run runs the suite. open must return stores over a fresh, migrated and
// empty database, closed by t.Cleanup; every subtest calls it once.
func Run(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("Teams", func(t *testing.T) { testTeams(t, open) })
	t.Run("Keys", func(t *testing.T) { testKeys(t, open) })
	t.Run("Catalog", func(t *testing.T) { testCatalog(t, open) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, open) })
	t.Run("Usage", func(t *testing.T) { testUsage(t, open) })
	t.Run("KeyPolicy", func(t *testing.T) { testKeyPolicy(t, open) })
	t.Run("ModelGroups", func(t *testing.T) { testModelGroups(t, open) })
	t.Run("Credits", func(t *testing.T) { testCredits(t, open) })
	t.Run("CatalogDeployments", func(t *testing.T) { testCatalogDeployments(t, open) })
}

// base is a fixed time at the millisecond precision every store keeps.
var base = time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

// opts compare what came back from a store: an empty list may come back nil,
// and averages computed by the database may differ in the last bits.
var opts = cmp.Options{
	cmpopts.EquateEmpty(),
	cmpopts.EquateApprox(0, 1e-9),
}

// wantKind fails unless err carries an *llmservice.Error of kind want.
func wantKind(t *testing.T, err error, want llmservice.Kind) {
	t.Helper()
	var e *llmservice.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v; want an *llmservice.Error of kind %v", err, want)
	}
	if e.Kind != want {
		t.Fatalf("kind = %v (err %v); want %v", e.Kind, err, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// mustCreateTeam creates a team named after id, created at base.
func mustCreateTeam(t *testing.T, s llmservice.TeamStore, id string) *llmservice.Team {
	t.Helper()
	team := &llmservice.Team{ID: id, Name: "team " + id, CreatedAt: base}
	if err := s.CreateTeam(context.Background(), team); err != nil {
		t.Fatalf("CreateTeam(%s): %v", id, err)
	}
	return team
}

// newKey returns a key of team whose hashes derive from id.
func newKey(id, team string) *llmservice.Key {
	return &llmservice.Key{
		ID:         id,
		TeamID:     team,
		Name:       "key " + id,
		Prefix:     "sk-" + id,
		KeyHash:    llmservice.HashSecret("key " + id),
		SecretHash: llmservice.HashSecret("secret " + id),
		CreatedAt:  base,
	}
}

func mustCreateKey(t *testing.T, s llmservice.KeyStore, id, team string) *llmservice.Key {
	t.Helper()
	k := newKey(id, team)
	if err := s.CreateKey(context.Background(), k); err != nil {
		t.Fatalf("CreateKey(%s): %v", id, err)
	}
	return k
}

func ptr[T any](v T) *T { return &v }
