package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
)

// DjangoStores is one database seen through the stores the Django API uses.
type DjangoStores struct {
	Users llmservice.DjangoUserStore
	Teams llmservice.TeamStore
	Keys  llmservice.KeyStore
}

// RunDjango runs the Django user store's suite. open must return stores
// over a fresh, migrated and empty database.
func RunDjango(t *testing.T, open func(t *testing.T) DjangoStores) {
	t.Run("CreateAndFind", func(t *testing.T) { testDjangoCreateFind(t, open) })
	t.Run("UsernameTaken", func(t *testing.T) { testDjangoUsernameTaken(t, open) })
	t.Run("TeamTaken", func(t *testing.T) { testDjangoTeamTaken(t, open) })
	t.Run("UsernameIsExact", func(t *testing.T) { testDjangoUsernameExact(t, open) })
	t.Run("DeleteTeamDeletesUser", func(t *testing.T) { testDjangoDeleteTeam(t, open) })
	t.Run("ConcurrentSignups", func(t *testing.T) { testDjangoConcurrent(t, open) })
}

// newDjangoUser returns a user, its team and its key, all named after name.
func newDjangoUser(name string) (*llmservice.DjangoUser, *llmservice.Team, *llmservice.Key) {
	u := &llmservice.DjangoUser{Username: name, PasswordHash: "hash of " + name, CreatedAt: base}
	tm := &llmservice.Team{ID: "user-" + name, Name: name, CreatedAt: base}
	k := newKey("key-"+name, tm.ID)
	return u, tm, k
}

func testDjangoCreateFind(t *testing.T, open func(t *testing.T) DjangoStores) {
	ctx := context.Background()
	s := open(t)
	u, tm, k := newDjangoUser("alice")
	must(t, s.Users.CreateDjangoUser(ctx, u, tm, k))
	if u.ID == 0 {
		t.Fatal("CreateDjangoUser left ID zero")
	}
	want := &llmservice.DjangoUser{ID: u.ID, Username: "alice", PasswordHash: "hash of alice",
		TeamID: "user-alice", KeyID: "key-alice", CreatedAt: base}
	for name, find := range map[string]func() (*llmservice.DjangoUser, error){
		"ByUsername": func() (*llmservice.DjangoUser, error) { return s.Users.FindDjangoUserByUsername(ctx, "alice") },
		"ByID":       func() (*llmservice.DjangoUser, error) { return s.Users.FindDjangoUserByID(ctx, u.ID) },
	} {
		got, err := find()
		must(t, err)
		if diff := cmp.Diff(want, got, opts); diff != "" {
			t.Errorf("FindDjangoUser%s mismatch (-want +got):\n%s", name, diff)
		}
	}
	// The team and the key exist and belong together.
	gotTeam, err := s.Teams.FindTeamByID(ctx, "user-alice")
	must(t, err)
	if gotTeam.Name != "alice" {
		t.Errorf("team name = %q; want alice", gotTeam.Name)
	}
	gotKey, err := s.Keys.FindKeyByHash(ctx, k.KeyHash)
	must(t, err)
	if gotKey.ID != "key-alice" || gotKey.TeamID != "user-alice" {
		t.Errorf("key = %s of team %s; want key-alice of user-alice", gotKey.ID, gotKey.TeamID)
	}

	_, err = s.Users.FindDjangoUserByUsername(ctx, "bob")
	wantKind(t, err, llmservice.NotFound)
	_, err = s.Users.FindDjangoUserByID(ctx, u.ID+1)
	wantKind(t, err, llmservice.NotFound)
}

// wantConflictOn fails unless err is a Conflict naming param.
func wantConflictOn(t *testing.T, err error, param string) {
	t.Helper()
	wantKind(t, err, llmservice.Conflict)
	var e *llmservice.Error
	errors.As(err, &e)
	if e.Param != param {
		t.Errorf("conflict param = %q; want %q", e.Param, param)
	}
}

func testDjangoUsernameTaken(t *testing.T, open func(t *testing.T) DjangoStores) {
	ctx := context.Background()
	s := open(t)
	u, tm, k := newDjangoUser("alice")
	must(t, s.Users.CreateDjangoUser(ctx, u, tm, k))

	u2, tm2, k2 := newDjangoUser("alice")
	tm2.ID, k2.ID, k2.KeyHash = "user-alice-2", "key-alice-2", llmservice.HashSecret("other")
	wantConflictOn(t, s.Users.CreateDjangoUser(ctx, u2, tm2, k2), "username")
	// Nothing of the refused signup was kept.
	_, err := s.Teams.FindTeamByID(ctx, "user-alice-2")
	wantKind(t, err, llmservice.NotFound)
	_, err = s.Keys.FindKeyByID(ctx, "key-alice-2")
	wantKind(t, err, llmservice.NotFound)
}

func testDjangoTeamTaken(t *testing.T, open func(t *testing.T) DjangoStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "user-alice")
	u, tm, k := newDjangoUser("alice")
	wantConflictOn(t, s.Users.CreateDjangoUser(ctx, u, tm, k), "team_id")
	_, err := s.Users.FindDjangoUserByUsername(ctx, "alice")
	wantKind(t, err, llmservice.NotFound)
	_, err = s.Keys.FindKeyByID(ctx, k.ID)
	wantKind(t, err, llmservice.NotFound)

	// Another team ID succeeds.
	tm.ID = "user-alice-x"
	must(t, s.Users.CreateDjangoUser(ctx, u, tm, k))
	got, err := s.Users.FindDjangoUserByUsername(ctx, "alice")
	must(t, err)
	if got.TeamID != "user-alice-x" {
		t.Errorf("team = %q; want user-alice-x", got.TeamID)
	}
}

func testDjangoUsernameExact(t *testing.T, open func(t *testing.T) DjangoStores) {
	ctx := context.Background()
	s := open(t)
	for _, name := range []string{"Alice", "alice"} {
		u, tm, k := newDjangoUser(name)
		must(t, s.Users.CreateDjangoUser(ctx, u, tm, k))
	}
	got, err := s.Users.FindDjangoUserByUsername(ctx, "Alice")
	must(t, err)
	if got.Username != "Alice" {
		t.Errorf("FindDjangoUserByUsername(Alice) = %q", got.Username)
	}
	_, err = s.Users.FindDjangoUserByUsername(ctx, "ALICE")
	wantKind(t, err, llmservice.NotFound)
}

func testDjangoDeleteTeam(t *testing.T, open func(t *testing.T) DjangoStores) {
	ctx := context.Background()
	s := open(t)
	u, tm, k := newDjangoUser("alice")
	must(t, s.Users.CreateDjangoUser(ctx, u, tm, k))
	must(t, s.Teams.DeleteTeam(ctx, tm.ID))
	_, err := s.Users.FindDjangoUserByID(ctx, u.ID)
	wantKind(t, err, llmservice.NotFound)
	// The username is free again.
	u2, tm2, k2 := newDjangoUser("alice")
	must(t, s.Users.CreateDjangoUser(ctx, u2, tm2, k2))
}

// Many signups of one username at once: exactly one wins, the others get
// the username conflict (never a raw constraint error).
func testDjangoConcurrent(t *testing.T, open func(t *testing.T) DjangoStores) {
	ctx := context.Background()
	s := open(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, tm, k := newDjangoUser("alice")
			tm.ID = fmt.Sprintf("user-alice-%d", i)
			k.ID, k.KeyHash = fmt.Sprintf("key-%d", i), llmservice.HashSecret(fmt.Sprint(i))
			errs[i] = s.Users.CreateDjangoUser(ctx, u, tm, k)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		wantConflictOn(t, err, "username")
	}
	if won != 1 {
		t.Errorf("%d signups succeeded; want exactly 1", won)
	}
}
