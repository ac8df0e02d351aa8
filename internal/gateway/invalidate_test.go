package gateway

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
)

// memStores is the least a gateway reads: one team, keys by hash.
type memStores struct {
	mu   sync.Mutex
	keys map[string]*llmservice.Key
	team *llmservice.Team
}

func (m *memStores) FindKeyByHash(_ context.Context, hash string) (*llmservice.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.keys[hash]; ok {
		c := *k
		return &c, nil
	}
	return nil, llmservice.Errorf(llmservice.NotFound, "key not found")
}

func (m *memStores) FindKeyByID(ctx context.Context, id string) (*llmservice.Key, error) {
	return nil, llmservice.Errorf(llmservice.NotFound, "key not found")
}

func (m *memStores) FindTeamByID(context.Context, string) (*llmservice.Team, error) {
	return m.team, nil
}
func (m *memStores) FindModels(context.Context) ([]*llmservice.Model, error) { return nil, nil }

type recorder struct{ msgs []string }

func (r *recorder) Publish(_ context.Context, msg string) error {
	r.msgs = append(r.msgs, msg)
	return nil
}

// Another replica's revocation reaches this one through ApplyInvalidation,
// or, if the message was lost, through the refresh interval.
func TestInvalidationAcrossReplicas(t *testing.T) {
	const secret = "sk-test-1"
	hash := llmservice.HashSecret(secret)
	st := &memStores{team: &llmservice.Team{ID: "t"}, keys: map[string]*llmservice.Key{
		hash: {ID: "k1", TeamID: "t", KeyHash: hash},
	}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	bus := &recorder{}
	g, err := New(context.Background(), Config{
		Stores:  Stores{Keys: st, Teams: st, Catalog: st},
		Bus:     bus,
		Refresh: 10 * time.Second,
		Now:     clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := g.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	revoke := func() {
		st.mu.Lock()
		r := now
		st.keys[hash].RevokedAt = &r
		st.mu.Unlock()
	}
	revoke()
	if _, err := g.Authenticate(ctx, secret); err != nil {
		t.Fatalf("cached key refused before any invalidation: %v", err)
	}
	g.ApplyInvalidation("key:" + hash)
	if _, err := g.Authenticate(ctx, secret); llmservice.ErrorKind(err) != llmservice.Unauthenticated {
		t.Fatalf("after the bus message: err = %v; want Unauthenticated", err)
	}

	// The message lost: the refresh interval catches it.
	st.mu.Lock()
	st.keys[hash].RevokedAt = nil
	st.mu.Unlock()
	g.ApplyInvalidation("*")
	if _, err := g.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	revoke()
	mu.Lock()
	now = now.Add(11 * time.Second)
	mu.Unlock()
	if _, err := g.Authenticate(ctx, secret); llmservice.ErrorKind(err) != llmservice.Unauthenticated {
		t.Fatalf("after the refresh interval: err = %v; want Unauthenticated", err)
	}

	// Local changes are announced to the others.
	g.InvalidateKey(hash)
	g.InvalidateTeam("t")
	if err := g.ReloadCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"key:" + hash, "team:t", "catalog"}
	if len(bus.msgs) != len(want) {
		t.Fatalf("published %q; want %q", bus.msgs, want)
	}
	for i := range want {
		if bus.msgs[i] != want[i] {
			t.Fatalf("published %q; want %q", bus.msgs, want)
		}
	}
}

// heldCatalog is a catalog store whose next FindModels, once held, takes
// its snapshot, says so on read and waits for release before returning.
type heldCatalog struct {
	memStores
	models        []*llmservice.Model
	read, release chan struct{}
}

func (h *heldCatalog) FindModels(context.Context) ([]*llmservice.Model, error) {
	h.mu.Lock()
	snap := append([]*llmservice.Model(nil), h.models...)
	read, release := h.read, h.release
	h.read, h.release = nil, nil
	h.mu.Unlock()
	if read != nil {
		close(read)
		<-release
	}
	return snap, nil
}

// TestOlderCatalogLoadLoses: a load that read the catalog before an admin
// write (the bus's reload of an earlier write, slow on a busy database)
// and finishes after the write's own reload must not put its older
// snapshot back: the new model stayed missing until the next refresh
// (TestAthenaCatalogPricesAndRateLimits on PostgreSQL listed two of three
// models now and then).
func TestOlderCatalogLoadLoses(t *testing.T) {
	ctx := context.Background()
	cs := &heldCatalog{models: []*llmservice.Model{{Name: "a", Provider: "openai"}}}
	g, err := New(ctx, Config{Stores: Stores{Keys: cs, Teams: cs, Catalog: cs}})
	if err != nil {
		t.Fatal(err)
	}
	cs.mu.Lock()
	cs.read, cs.release = make(chan struct{}), make(chan struct{})
	read, release := cs.read, cs.release
	cs.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.ApplyInvalidation("catalog") // reads [a], then waits
	}()
	<-read
	cs.mu.Lock()
	cs.models = append(cs.models, &llmservice.Model{Name: "b", Provider: "openai"})
	cs.mu.Unlock()
	if err := g.ReloadCatalog(ctx); err != nil { // the write's reload: [a b]
		t.Fatal(err)
	}
	close(release)
	<-done
	if _, ok := g.catalog.p.Load().models["b"]; !ok {
		t.Fatal("the older load's snapshot replaced the newer one: model b is gone")
	}
}
