package gateway

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
)

// flakyStores is memStores behind a database that can go down: every read
// then fails as the stores report an outage (Unavailable).
type flakyStores struct {
	*memStores
	down   atomic.Bool
	reads  atomic.Int64 // key reads attempted
	models []*llmservice.Model
	// block, when set, holds a key read until it is closed; entered, when
	// set, is sent to as a read starts waiting on block.
	block   chan struct{}
	entered chan struct{}
}

var errDown = &llmservice.Error{Kind: llmservice.Unavailable, Code: "database_unavailable", Message: "The database is unavailable; try again shortly"}

func (f *flakyStores) FindKeyByHash(ctx context.Context, hash string) (*llmservice.Key, error) {
	f.reads.Add(1)
	if f.block != nil {
		if f.entered != nil {
			f.entered <- struct{}{}
		}
		<-f.block
	}
	if f.down.Load() {
		return nil, errDown
	}
	return f.memStores.FindKeyByHash(ctx, hash)
}

func (f *flakyStores) FindTeamByID(ctx context.Context, id string) (*llmservice.Team, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.memStores.FindTeamByID(ctx, id)
}

func (f *flakyStores) FindModels(context.Context) ([]*llmservice.Model, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.models, nil
}

// clock is the gateway's injectable clock, moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type outageFixture struct {
	g     *Gateway
	st    *flakyStores
	clk   *clock
	log   *bytes.Buffer
	hash  string
	known string // a key authenticated once before any outage
	other string // a key that exists but was never used
}

func newOutageFixture(t *testing.T, grace time.Duration) *outageFixture {
	t.Helper()
	f := &outageFixture{known: "sk-known", other: "sk-other", clk: &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, log: &bytes.Buffer{}}
	f.hash = llmservice.HashSecret(f.known)
	oh := llmservice.HashSecret(f.other)
	f.st = &flakyStores{memStores: &memStores{team: &llmservice.Team{ID: "t"}, keys: map[string]*llmservice.Key{
		f.hash: {ID: "k1", TeamID: "t", KeyHash: f.hash},
		oh:     {ID: "k2", TeamID: "t", KeyHash: oh},
	}}, models: []*llmservice.Model{{Name: "house", Provider: "mock", UpstreamModel: "echo"}}}
	var err error
	f.g, err = New(context.Background(), Config{
		Stores:     Stores{Keys: f.st, Teams: f.st, Catalog: f.st},
		Refresh:    30 * time.Second,
		StaleGrace: grace,
		Now:        f.clk.Now,
		Logger:     slog.New(slog.NewTextHandler(f.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.g.Authenticate(context.Background(), f.known); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *outageFixture) auth(key string) error {
	_, err := f.g.Authenticate(context.Background(), key)
	return err
}

// A known key outlives a database outage longer than its refresh, for the
// stale grace and no longer; a key never seen gets the stores' 503; when the
// database answers again everything is read afresh.
func TestKnownKeySurvivesOutage(t *testing.T) {
	f := newOutageFixture(t, 10*time.Minute)
	f.st.down.Store(true)
	f.clk.Add(31 * time.Second) // past the refresh: the copy is due
	if err := f.auth(f.known); err != nil {
		t.Fatalf("known key 31s into an outage: %v; want its last good copy", err)
	}
	if err := f.auth(f.other); llmservice.ErrorKind(err) != llmservice.Unavailable || !strings.Contains(llmservice.AsError(err).Message, "database") {
		t.Errorf("unknown key during the outage: %v; want unavailable, naming the database", err)
	}
	f.clk.Add(9*time.Minute + 59*time.Second) // refresh + grace after the last good read
	if err := f.auth(f.known); err != nil {
		t.Errorf("known key at the end of the grace: %v", err)
	}
	f.clk.Add(time.Second) // past refresh + grace
	if err := f.auth(f.known); llmservice.ErrorKind(err) != llmservice.Unavailable {
		t.Errorf("known key past the grace: %v; want unavailable", err)
	}
	f.st.down.Store(false)
	if err := f.auth(f.known); err != nil {
		t.Errorf("known key after the outage: %v", err)
	}
	if err := f.auth(f.other); err != nil {
		t.Errorf("other key after the outage: %v", err)
	}
	if n := strings.Count(f.log.String(), "database unavailable"); n != 1 {
		t.Errorf("the outage was logged %d times; want once:\n%s", n, f.log)
	}
	if n := strings.Count(f.log.String(), "database answers again"); n != 1 {
		t.Errorf("the recovery was logged %d times; want once:\n%s", n, f.log)
	}
}

// With the grace off, an outage past the refresh fails known keys too, as
// Unavailable (never an internal error).
func TestStaleGraceOff(t *testing.T) {
	f := newOutageFixture(t, -1)
	f.st.down.Store(true)
	if err := f.auth(f.known); err != nil {
		t.Errorf("within the refresh: %v", err)
	}
	f.clk.Add(31 * time.Second)
	if err := f.auth(f.known); llmservice.ErrorKind(err) != llmservice.Unavailable {
		t.Errorf("past the refresh with no grace: %v; want unavailable", err)
	}
}

// Only an outage is covered by the copy: a key deleted or revoked while the
// database answers is refused at the refresh as before.
func TestStaleCopyOnlyForOutages(t *testing.T) {
	f := newOutageFixture(t, 10*time.Minute)
	f.st.mu.Lock()
	now := f.clk.Now()
	f.st.keys[f.hash].RevokedAt = &now
	f.st.mu.Unlock()
	f.clk.Add(31 * time.Second)
	if err := f.auth(f.known); llmservice.ErrorKind(err) != llmservice.Unauthenticated {
		t.Errorf("revoked key at the refresh: %v; want unauthenticated", err)
	}
}

// A revocation known during the outage (a bus message) drops the copy: the
// key is refused at once, not served stale.
func TestRevocationDuringOutage(t *testing.T) {
	f := newOutageFixture(t, 10*time.Minute)
	f.st.down.Store(true)
	f.clk.Add(31 * time.Second)
	if err := f.auth(f.known); err != nil {
		t.Fatal(err)
	}
	f.g.ApplyInvalidation("key:" + f.hash)
	if err := f.auth(f.known); err == nil {
		t.Error("a key invalidated during the outage was still served")
	}
	f.st.down.Store(false)
	if err := f.auth(f.known); err != nil { // not revoked in the store: back
		t.Errorf("after the outage: %v", err)
	}
}

// A resync (the bus reconnected and may have missed messages) makes every
// key due for a reload, but keeps the copies for an outage.
func TestResyncKeepsCopiesForOutage(t *testing.T) {
	f := newOutageFixture(t, 10*time.Minute)
	f.st.down.Store(true)
	f.g.ApplyInvalidation("*")
	if err := f.auth(f.known); err != nil {
		t.Errorf("known key after a resync during an outage: %v", err)
	}
	f.st.down.Store(false)
	f.st.mu.Lock()
	now := f.clk.Now()
	f.st.keys[f.hash].RevokedAt = &now
	f.st.mu.Unlock()
	f.g.ApplyInvalidation("*")
	if err := f.auth(f.known); llmservice.ErrorKind(err) != llmservice.Unauthenticated {
		t.Errorf("revoked key after a resync with the database up: %v; want unauthenticated", err)
	}
}

// During an outage the database is tried once per probe interval for the
// whole gateway, not once per request whose copy is due.
func TestOutageProbesOncePerInterval(t *testing.T) {
	f := newOutageFixture(t, 10*time.Minute)
	f.st.down.Store(true)
	f.clk.Add(31 * time.Second)
	before := f.st.reads.Load()
	for range 100 {
		if err := f.auth(f.known); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.st.reads.Load() - before; n != 1 {
		t.Errorf("100 calls within one probe interval read the database %d times; want 1", n)
	}
	f.clk.Add(probeInterval)
	f.st.down.Store(false)
	for range 100 {
		if err := f.auth(f.known); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.st.reads.Load() - before; n != 2 {
		t.Errorf("after the database returned: %d reads in all; want 2 (the probe that found it back)", n)
	}
}

// A read that an invalidation overtook is used once but not cached: it may
// predate the change the invalidation announced.
func TestOvertakenLoadIsNotCached(t *testing.T) {
	f := newOutageFixture(t, 10*time.Minute)
	f.clk.Add(31 * time.Second)
	f.st.block, f.st.entered = make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() { done <- f.auth(f.known) }()
	<-f.st.entered // the read has begun
	f.g.ApplyInvalidation("team:t")
	close(f.st.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, ok := f.g.keys.Load(f.hash); ok {
		t.Error("a load overtaken by an invalidation was cached")
	}
}

// A failed catalog reload keeps the last good copy, and an outage is
// logged once however many refreshes it spans.
func TestCatalogKeepsLastGoodCopy(t *testing.T) {
	f := newOutageFixture(t, 10*time.Minute)
	f.st.down.Store(true)
	for range 20 {
		f.g.reloadCatalogLogged()
	}
	if f.g.CatalogEntries()["house"] == nil {
		t.Errorf("catalog during the outage: %v; want the last good copy", f.g.CatalogEntries())
	}
	if n := strings.Count(f.log.String(), "database unavailable"); n != 1 {
		t.Errorf("20 failed reloads logged %d outage lines; want 1:\n%s", n, f.log)
	}
	f.st.down.Store(false)
	f.g.reloadCatalogLogged()
	if n := strings.Count(f.log.String(), "database answers again"); n != 1 {
		t.Errorf("recovery logged %d times; want 1:\n%s", n, f.log)
	}
}
