package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/llmservice/llmservice/internal/postgres/pgtest"
)

// testDatabaseEnv switches every server this package's tests start to
// PostgreSQL; TestE2EOnPostgres sets it for a second run of the suite.
const testDatabaseEnv = "LLMSERVICE_TEST_DATABASE"

// onPostgres reports whether this run of the suite is on PostgreSQL.
func onPostgres() bool { return os.Getenv(testDatabaseEnv) == "postgres" }

// testDatabaseURL returns a fresh database for a server: a SQLite file
// named name in a temporary directory, or a private PostgreSQL schema.
func testDatabaseURL(t testing.TB, name string) string {
	t.Helper()
	if onPostgres() {
		return pgtest.URL(t)
	}
	return filepath.Join(t.TempDir(), name)
}

// skipOnPostgres skips a test of something only the SQLite file has.
func skipOnPostgres(t testing.TB, why string) {
	t.Helper()
	if onPostgres() {
		t.Skip("SQLite only: " + why)
	}
}

// openTestStore opens the database a stopped server used.
func openTestStore(t testing.TB, url string) store {
	t.Helper()
	db, err := openDB(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// dbContains reports where secret appears in plaintext in the database at
// url ("" when nowhere): in the SQLite file and its journals, or in any row
// of any table of the PostgreSQL schema.
func dbContains(t testing.TB, url string, secret string) string {
	t.Helper()
	if !isPostgres(url) {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(url + suffix)
			if err != nil {
				if suffix == "" {
					t.Fatal(err)
				}
				continue
			}
			if bytes.Contains(b, []byte(secret)) {
				return filepath.Base(url) + suffix
			}
		}
		return ""
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		name := pgx.Identifier{tb}.Sanitize()
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+name+" r WHERE strpos(r::text, $1) > 0", secret).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return "table " + tb
		}
	}
	return ""
}

// TestE2EOnPostgres runs this package's whole suite a second time with
// every server on PostgreSQL (a private schema each), so that both stores
// pass the same end-to-end tests. It re-executes the test binary, so
// `go test ./...` runs both.
func TestE2EOnPostgres(t *testing.T) {
	if onPostgres() {
		t.Skip("this is the PostgreSQL run")
	}
	if os.Getenv(pgtest.EnvURL) == "" {
		t.Skipf("%s is not set; the suite runs on SQLite only (.ci/run sets it)", pgtest.EnvURL)
	}
	if testing.Short() {
		t.Skip("-short")
	}
	args := []string{"-test.run=^Test", "-test.skip=^TestE2EOnPostgres$", "-test.timeout=20m"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), testDatabaseEnv+"=postgres",
		"LLMSERVICE_ENCRYPTION_KEY="+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		lines := strings.Split(string(out), "\n")
		t.Fatalf("the suite on PostgreSQL failed: %v\n%s", err, strings.Join(lines[max(0, len(lines)-200):], "\n"))
	}
	t.Logf("the suite passed on PostgreSQL:\n%s", lastLines(string(out), 3))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
