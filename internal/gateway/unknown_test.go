package gateway

import (
	"testing"
	"time"

	"github.com/llmservice/llmservice"
)

// A wrong key costs the database one lookup per unknownKeyTTL, however
// often it is tried; a key known to the database is unaffected.
func TestUnknownKeysAreNotLookedUpAgain(t *testing.T) {
	f := newOutageFixture(t, time.Minute)
	before := f.st.reads.Load()
	for range 1000 {
		if err := f.auth("sk-wrong"); llmservice.ErrorKind(err) != llmservice.Unauthenticated {
			t.Fatalf("wrong key: %v; want Unauthenticated", err)
		}
	}
	if n := f.st.reads.Load() - before; n != 1 {
		t.Errorf("1000 tries of a wrong key read the database %d times; want 1", n)
	}
	f.clk.Add(unknownKeyTTL)
	_ = f.auth("sk-wrong")
	if n := f.st.reads.Load() - before; n != 2 {
		t.Errorf("after the TTL: %d reads; want 2", n)
	}
	if err := f.auth(f.other); err != nil {
		t.Errorf("an existing key never used: %v", err)
	}
}

func TestUnknownKeysBounded(t *testing.T) {
	var u unknownKeys
	now := time.Now()
	for i := range maxUnknownKeys + 5 {
		u.add(string(rune(i)), now)
	}
	if len(u.m) > maxUnknownKeys {
		t.Errorf("%d entries; want at most %d", len(u.m), maxUnknownKeys)
	}
}
