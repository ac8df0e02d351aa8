package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pressly/goose/v3"

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

// A database with records from before the rollups gets them backfilled by
// the migration that adds the rollups; buckets are floored, before 1970 too.
func TestUsageRollupBackfill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "llmservice.db")
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, old, os.DirFS("migration"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 69); err != nil {
		t.Fatal(err)
	}
	day0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	day1 := day0.Add(24 * time.Hour)
	epoch := time.UnixMilli(0).UTC()
	for i, r := range []struct {
		at     time.Time
		cost   int
		status int
	}{
		{day0.Add(30 * time.Minute), 1, 200},
		{day0.Add(5 * time.Hour), 2, 500},
		{day1.Add(10*time.Hour + 15*time.Minute), 4, 200},
		{epoch.Add(-time.Millisecond), 8, 200},
	} {
		if _, err := old.ExecContext(ctx, `INSERT INTO usage (id, time, team_id, key_id, requested_model, cost, status, latency_ms)
			VALUES (?, ?, 'a', 'k', 'gpt', ?, ?, 10)`, fmt.Sprint("r", i), r.at.UnixMilli(), r.cost, r.status); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db := mustOpenPath(t, path)
	sum := func(cost llmservice.Nanos, requests, errors int64, group string) llmservice.UsageTotal {
		return llmservice.UsageTotal{Group: group, Requests: requests, Errors: errors, Cost: cost, CostUSD: cost.Dollars(), AvgLatencyMS: 10}
	}
	for _, tc := range []struct {
		f    llmservice.UsageFilter
		want []llmservice.UsageTotal
	}{
		{llmservice.UsageFilter{TeamID: "a"}, []llmservice.UsageTotal{sum(15, 4, 1, "")}},
		{llmservice.UsageFilter{TeamID: "a", From: day0, To: day1}, []llmservice.UsageTotal{sum(3, 2, 1, "")}},
		{llmservice.UsageFilter{TeamID: "a", From: day0.Add(time.Hour), To: day1.Add(11 * time.Hour)}, []llmservice.UsageTotal{sum(6, 2, 1, "")}},
		{llmservice.UsageFilter{GroupBy: "day"}, []llmservice.UsageTotal{
			sum(8, 1, 0, "1969-12-31"), sum(3, 2, 1, "2026-03-01"), sum(4, 1, 0, "2026-03-02")}},
		{llmservice.UsageFilter{TeamID: "a", From: epoch.Add(-24 * time.Hour), To: epoch}, []llmservice.UsageTotal{sum(8, 1, 0, "")}},
		{llmservice.UsageFilter{TeamID: "a", From: epoch.Add(-30 * time.Minute), To: epoch, GroupBy: "day"},
			[]llmservice.UsageTotal{sum(8, 1, 0, "1969-12-31")}},
	} {
		got, err := db.SumUsage(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("SumUsage(%+v) after the backfill (-want +got):\n%s", tc.f, diff)
		}
	}
}

func BenchmarkInsertUsage(b *testing.B) {
	storetest.BenchInsertUsage(b, MustOpenDB(b))
}

func BenchmarkInsertUsageSmallBatches(b *testing.B) {
	storetest.BenchInsertUsageBatch(b, MustOpenDB(b), 40)
}
