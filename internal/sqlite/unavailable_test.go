package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
)

func openMigrated(t *testing.T, path string) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// A full disk is an outage of the database, not an internal error: admin
// writes must be told "unavailable" (503). max_page_count on the writer's
// one connection stands in for the disk.
func TestFullDatabaseIsUnavailable(t *testing.T) {
	db := openMigrated(t, filepath.Join(t.TempDir(), "full.db"))
	ctx := context.Background()
	var pages int
	if err := db.writer.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.writer.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages+1)); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; err == nil && i < 10000; i++ {
		err = db.CreateTeam(ctx, &llmservice.Team{ID: fmt.Sprintf("team-%05d-%s", i, strings.Repeat("x", 200))})
	}
	if err == nil {
		t.Fatal("10,000 teams fitted in one more page")
	}
	if k := llmservice.ErrorKind(err); k != llmservice.Unavailable || code(err)&0xff != 13 {
		t.Errorf("CreateTeam on a full database: kind %v, code %d (%v); want unavailable wrapping SQLITE_FULL", k, code(err), err)
	}
	if e := llmservice.AsError(err); e.Message != unavailableMessage {
		t.Errorf("message %q; want %q", e.Message, unavailableMessage)
	}
}

// A write lock another process holds past the caller's deadline is
// Unavailable too, and the store keeps working once the lock is gone.
func TestLockedDatabaseIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	db := openMigrated(t, path)
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err = db.CreateTeam(short, &llmservice.Team{ID: "blocked"})
	cancel()
	if llmservice.ErrorKind(err) != llmservice.Unavailable {
		t.Errorf("CreateTeam while another process holds the lock: %v; want unavailable", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := db.CreateTeam(ctx, &llmservice.Team{ID: "after"}); err != nil {
		t.Errorf("CreateTeam after the lock was released: %v", err)
	}
}

// Errors that are the request's own keep their kind.
func TestRequestErrorsAreNotUnavailable(t *testing.T) {
	db := openMigrated(t, filepath.Join(t.TempDir(), "db.db"))
	ctx := context.Background()
	if _, err := db.FindTeamByID(ctx, "nobody"); llmservice.ErrorKind(err) != llmservice.NotFound {
		t.Errorf("FindTeamByID(missing): %v; want not_found", err)
	}
	if err := db.CreateTeam(ctx, &llmservice.Team{ID: "dup"}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTeam(ctx, &llmservice.Team{ID: "dup"}); llmservice.ErrorKind(err) != llmservice.Conflict {
		t.Errorf("CreateTeam(duplicate): %v; want conflict", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.FindTeamByID(cancelled, "dup"); err == nil || llmservice.ErrorKind(err) == llmservice.Unavailable {
		t.Errorf("FindTeamByID with a cancelled context: %v; want an error that is not unavailable", err)
	} else if !errors.Is(err, context.Canceled) {
		t.Errorf("FindTeamByID with a cancelled context: %v; want context.Canceled kept", err)
	}
}

// InsertUsage under a deadline that has passed is Unavailable, like any
// write that ran out of time waiting for the database, also when it is the
// first (it prepares the ledger's statements then).
func TestInsertUsageOutOfTimeIsUnavailable(t *testing.T) {
	db := openMigrated(t, filepath.Join(t.TempDir(), "db.db"))
	past, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	recs := []llmservice.UsageRecord{{ID: "r1", TeamID: "t", Time: time.Now()}}
	for i := range 2 { // before and after the statements are prepared
		if err := db.InsertUsage(past, recs); llmservice.ErrorKind(err) != llmservice.Unavailable {
			t.Errorf("InsertUsage %d past its deadline: %v; want unavailable", i, err)
		}
		if err := db.InsertUsage(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
	}
}
