package postgres

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/postgres/pgtest"
)

// unavailableCalls exercises each path a query takes (QueryRow, Query,
// Exec, a transaction) and returns what each answered.
func unavailableCalls(ctx context.Context, db *DB) map[string]error {
	_, findErr := db.FindTeamByID(ctx, "acme")
	_, listErr := db.FindTeams(ctx)
	_, updateErr := db.UpdateTeam(ctx, "acme", func(*llmservice.Team) error { return nil })
	return map[string]error{
		"FindTeamByID (QueryRow)":         findErr,
		"FindTeams (Query)":               listErr,
		"CreateTeam (Exec)":               db.CreateTeam(ctx, &llmservice.Team{ID: "new-" + strconv.FormatInt(time.Now().UnixNano(), 36)}),
		"UpdateTeam (transaction)":        updateErr,
		"RevokeKey (Exec, row count)":     db.RevokeKey(ctx, "key_x", time.Now()),
		"FindKeyByHash (the gateway's)":   func() error { _, err := db.FindKeyByHash(ctx, "h"); return err }(),
		"FindModels (the catalog reload)": func() error { _, err := db.FindModels(ctx); return err }(),
	}
}

func wantUnavailable(t *testing.T, when string, errs map[string]error) {
	t.Helper()
	for call, err := range errs {
		e := llmservice.AsError(err)
		if err == nil || e.Kind != llmservice.Unavailable || e.Code != "database_unavailable" || e.Message != unavailableMessage {
			t.Errorf("%s: %s = %v; want unavailable %q", when, call, err, unavailableMessage)
		}
	}
}

// Nothing listens where the database should be: every path is Unavailable
// (connection refused), never an internal error.
func TestUnreachableServerIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	pp, err := pgxpool.New(context.Background(), "postgres://postgres@"+addr+"/none?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	db := &DB{pool: &pool{Pool: pp}}
	defer db.Close()
	wantUnavailable(t, "connection refused", unavailableCalls(context.Background(), db))
}

// A pool closed at shutdown answers Unavailable too.
func TestClosedPoolIsUnavailable(t *testing.T) {
	db := openTest(t)
	db.Close()
	wantUnavailable(t, "closed pool", unavailableCalls(context.Background(), db))
}

// A server that shuts down under open connections (the client hears
// 57P01 or finds its socket closed), then comes back: every path is
// Unavailable while it is down, and the same DB works again after.
func TestServerRestartIsUnavailableThenRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a private PostgreSQL")
	}
	srv := pgtest.StartServer(t)
	ctx := context.Background()
	db, err := Open(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTeam(ctx, &llmservice.Team{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	wantUnavailable(t, "server stopped", unavailableCalls(ctx, db))
	srv.Start()
	if _, err := db.FindTeamByID(ctx, "acme"); err != nil {
		t.Errorf("after the restart: FindTeamByID = %v", err)
	}
	if _, err := db.FindTeamByID(ctx, "nobody"); llmservice.ErrorKind(err) != llmservice.NotFound {
		t.Errorf("after the restart: FindTeamByID(missing) = %v; want not_found", err)
	}
}

// Errors that are the request's own keep their kind, and a caller that gave
// up is not mistaken for an outage.
func TestRequestErrorsAreNotUnavailable(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.CreateTeam(ctx, &llmservice.Team{ID: "dup"}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTeam(ctx, &llmservice.Team{ID: "dup"}); llmservice.ErrorKind(err) != llmservice.Conflict {
		t.Errorf("CreateTeam(duplicate) = %v; want conflict", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.FindTeamByID(cancelled, "dup"); err == nil || llmservice.ErrorKind(err) == llmservice.Unavailable {
		t.Errorf("FindTeamByID with a cancelled context = %v; want an error that is not unavailable", err)
	}
}
