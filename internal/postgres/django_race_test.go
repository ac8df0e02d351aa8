package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
)

// Two signups for one username race past the username check together. The
// winner here is held open in its own transaction after it has written a
// key whose secret hash the loser's key shares; the loser passes the
// username check (nothing committed yet), then waits on that key index and
// fails on it once the winner commits. The error must still name the
// username, the conflict a caller can act on (CI saw "key" instead).
func TestDjangoSignupLoserOnAnotherIndexIsToldUsername(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)

	winner, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer winner.Rollback(ctx)
	now := time.Now().UTC()
	if _, err := winner.Exec(ctx, `INSERT INTO teams (id, name, models, policy, credits, created_at) VALUES ('user-alice-1', 'alice', '[]', '{}', 0, $1)`, now); err != nil {
		t.Fatal(err)
	}
	secret := llmservice.HashSecret("shared secret")
	if _, err := winner.Exec(ctx, `INSERT INTO keys (id, team_id, name, prefix, key_hash, secret_hash, models, created_at, policy)
		VALUES ('key-1', 'user-alice-1', 'k', 'sk-1', $1, $2, '[]', $3, '{}')`, llmservice.HashSecret("key 1"), secret, now); err != nil {
		t.Fatal(err)
	}
	if _, err := winner.Exec(ctx, `INSERT INTO django_users (username, password_hash, team_id, key_id, created_at) VALUES ('alice', 'h', 'user-alice-1', 'key-1', $1)`, now); err != nil {
		t.Fatal(err)
	}

	lost := make(chan error, 1)
	go func() {
		u := &llmservice.DjangoUser{Username: "alice", PasswordHash: "h2"}
		tm := &llmservice.Team{ID: "user-alice-2", Name: "alice"}
		k := &llmservice.Key{ID: "key-2", TeamID: tm.ID, Name: "k", Prefix: "sk-2",
			KeyHash: llmservice.HashSecret("key 2"), SecretHash: secret}
		lost <- db.CreateDjangoUser(ctx, u, tm, k)
	}()
	// The loser is blocked on the winner's key row: wait until PostgreSQL
	// shows it waiting on a lock, then let the winner commit.
	for waiting := false; !waiting; {
		if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO keys%')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-lost:
			t.Fatalf("loser finished before the winner committed: %v", err)
		default:
		}
	}
	if err := winner.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	err = <-lost
	var e *llmservice.Error
	if !errors.As(err, &e) || e.Kind != llmservice.Conflict || e.Param != "username" {
		t.Fatalf("loser's error = %v (%#v); want a Conflict on username", err, e)
	}
}
