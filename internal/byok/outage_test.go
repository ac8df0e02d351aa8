package byok

import (
	"context"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
)

// downStore fails every read as a store does while its database is
// unavailable.
type downStore struct {
	*memStore
	down bool
}

func (s *downStore) FindProviderCredential(ctx context.Context, team, typ string) (*llmservice.ProviderCredential, error) {
	if s.down {
		return nil, &llmservice.Error{Kind: llmservice.Unavailable, Message: "The database is unavailable; try again shortly"}
	}
	return s.memStore.FindProviderCredential(ctx, team, typ)
}

// While the database is unavailable a team's own key is used from its last
// good copy for the grace past its TTL, and no longer.
func TestProvidersServeLastGoodCopyDuringOutage(t *testing.T) {
	f := newFixture(t)
	st := &downStore{memStore: f.store}
	f.p.cfg.Store = st
	f.p.cfg.Grace = 10 * time.Minute
	if _, err := f.p.Save(context.Background(), "a", "openai", "sk-team-a-openai-key"); err != nil {
		t.Fatal(err)
	}
	if key, ok := f.provider(t, "a", "openai"); !ok || key != "sk-team-a-openai-key" {
		t.Fatalf("before the outage: %q, %v", key, ok)
	}
	st.down = true
	f.now = f.now.Add(2 * time.Minute) // past the TTL
	if key, ok := f.provider(t, "a", "openai"); !ok || key != "sk-team-a-openai-key" {
		t.Errorf("during the outage: %q, %v; want the last good copy", key, ok)
	}
	f.now = f.now.Add(10 * time.Minute) // past TTL + grace
	if _, _, err := f.p.Provider(context.Background(), "a", "openai"); llmservice.ErrorKind(err) != llmservice.Unavailable {
		t.Errorf("past the grace: err = %v; want unavailable", err)
	}
}
