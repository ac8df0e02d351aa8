package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/sqlite"
	"github.com/llmservice/llmservice/internal/storetest"
)

// MustOpenDB opens and migrates a fresh database in a temporary directory,
// closed when the test ends.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	return mustOpenPath(tb, filepath.Join(tb.TempDir(), "llmservice.db"))
}

func mustOpenPath(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}

func stores(db *sqlite.DB) storetest.Stores {
	return storetest.Stores{Teams: db, Keys: db, Catalog: db, Settings: db, Usage: db, Groups: db, Credits: db}
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores { return stores(MustOpenDB(t)) })
}

// The in-memory database shares one connection between reads and writes, so
// it must behave exactly like a file.
func TestStoreInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores { return stores(mustOpenPath(t, ":memory:")) })
}

func TestOpenCreatesParentDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "llmservice.db")
	db := mustOpenPath(t, path)
	if _, err := db.FindTeams(context.Background()); err != nil {
		t.Fatalf("FindTeams on %s: %v", path, err)
	}
}

func TestOpenRejectsQuestionMark(t *testing.T) {
	if db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x?mode=ro")); err == nil {
		db.Close()
		t.Fatal("Open accepted a path with '?'")
	}
}

// Migrate runs at every start, so it must be a no-op the second time, and the
// data must survive a reopen.
func TestMigrateTwiceAndReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "llmservice.db")
	db := mustOpenPath(t, path)
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if err := db.CreateTeam(ctx, &llmservice.Team{ID: "t1", Name: "one"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db2 := mustOpenPath(t, path)
	if _, err := db2.FindTeamByID(ctx, "t1"); err != nil {
		t.Fatalf("FindTeamByID after reopen: %v", err)
	}
}

func TestNowStampsCreatedAt(t *testing.T) {
	db := MustOpenDB(t)
	now := time.Date(2026, 5, 6, 7, 8, 9, 123_456_789, time.UTC)
	db.Now = func() time.Time { return now }
	team := &llmservice.Team{ID: "t1", Name: "one"}
	if err := db.CreateTeam(context.Background(), team); err != nil {
		t.Fatal(err)
	}
	// Stored to the millisecond.
	if want := now.Truncate(time.Millisecond); !team.CreatedAt.Equal(want) {
		t.Errorf("CreatedAt = %v; want %v", team.CreatedAt, want)
	}
}

// Two processes starting at once on the same file must agree on a generated
// setting such as the admin key hash; two DBs on one file stand in for them.
func TestSetSettingIfAbsentAcrossHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "llmservice.db")
	dbs := []*sqlite.DB{mustOpenPath(t, path), mustOpenPath(t, path)}
	const n = 8
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			got[i], errs[i] = dbs[i%2].SetSettingIfAbsent(context.Background(), "admin", fmt.Sprintf("v%d", i))
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Errorf("caller %d got %q, caller 0 got %q; want the same value", i, got[i], got[0])
		}
	}
}

func TestInsertUsageRejectsEmptyID(t *testing.T) {
	db := MustOpenDB(t)
	err := db.InsertUsage(context.Background(), []llmservice.UsageRecord{{ID: "a", TeamID: "t"}, {TeamID: "t"}})
	if got := llmservice.ErrorKind(err); got != llmservice.Invalid {
		t.Fatalf("InsertUsage with an empty ID: kind %v (err %v); want invalid", got, err)
	}
	totals, err := db.SumUsage(context.Background(), llmservice.UsageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if totals[0].Requests != 0 {
		t.Errorf("a rejected batch wrote %d records; want none", totals[0].Requests)
	}
}

func BenchmarkInsertUsage(b *testing.B) {
	const batch = 500
	db := MustOpenDB(b)
	ctx := context.Background()
	now := time.Now()
	recs := make([]llmservice.UsageRecord, batch)
	n := 0
	for b.Loop() {
		for i := range recs {
			n++
			recs[i] = llmservice.UsageRecord{
				ID: fmt.Sprintf("rec-%09d", n), Time: now.Add(time.Duration(n) * time.Millisecond),
				TeamID: fmt.Sprintf("team-%d", n%10), KeyID: fmt.Sprintf("key-%d", n%50),
				Endpoint: "chat", RequestedModel: "gpt-4o-mini", Provider: "openai",
				UpstreamModel: "gpt-4o-mini-2024-07-18", PromptTokens: 120, CompletionTokens: 80,
				Cost: 42_000, LatencyMS: 350, Status: 200, Attempts: 1,
			}
		}
		if err := db.InsertUsage(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
