package byok

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

// memStore is an in-memory ProviderCredentialStore that counts reads.
type memStore struct {
	mu    sync.Mutex
	m     map[string]*llmservice.ProviderCredential
	reads int
}

func (s *memStore) UpsertProviderCredential(ctx context.Context, c *llmservice.ProviderCredential) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*llmservice.ProviderCredential{}
	}
	if old, ok := s.m[c.TeamID+"/"+c.ProviderType]; ok {
		c.CreatedAt = old.CreatedAt
	}
	cp := *c
	s.m[c.TeamID+"/"+c.ProviderType] = &cp
	return nil
}

func (s *memStore) FindProviderCredential(ctx context.Context, team, typ string) (*llmservice.ProviderCredential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	c, ok := s.m[team+"/"+typ]
	if !ok {
		return nil, llmservice.Errorf(llmservice.NotFound, "provider credential not found")
	}
	cp := *c
	return &cp, nil
}

func (s *memStore) FindProviderCredentials(ctx context.Context, team string) ([]*llmservice.ProviderCredential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*llmservice.ProviderCredential
	for _, c := range s.m {
		if c.TeamID == team {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *memStore) DeleteProviderCredential(ctx context.Context, team, typ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[team+"/"+typ]; !ok {
		return llmservice.Errorf(llmservice.NotFound, "provider credential not found")
	}
	delete(s.m, team+"/"+typ)
	return nil
}

// keyed is a provider that remembers the key it was built with.
type keyed struct {
	llm.Provider
	family, key string
}

type fixture struct {
	store *memStore
	p     *Providers
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{store: &memStore{}, now: time.Unix(1000, 0)}
	f.p = New(Config{Store: f.store, Sealer: mustSealer(t, 3), TTL: time.Minute, Now: func() time.Time { return f.now },
		Build: func(family, key string) (llm.Provider, error) { return &keyed{family: family, key: key}, nil }})
	return f
}

func (f *fixture) provider(t *testing.T, team, family string) (string, bool) {
	t.Helper()
	p, ok, err := f.p.Provider(context.Background(), team, family)
	if err != nil {
		t.Fatalf("Provider(%s, %s): %v", team, family, err)
	}
	if !ok {
		return "", false
	}
	return p.(*keyed).key, true
}

func TestProvidersUseTheTeamsKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, ok := f.provider(t, "a", "openai"); ok {
		t.Fatal("a team without a key got a provider")
	}
	c, err := f.p.Save(ctx, "a", "openai", "sk-team-a-openai-key")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(c.Ciphertext), "sk-team-a") || c.Hint != "sk-...-key" {
		t.Errorf("saved credential = %q, hint %q; want it sealed, hint sk-...-key", c.Ciphertext, c.Hint)
	}
	// Save invalidated the cached absence: the key applies at once.
	if key, ok := f.provider(t, "a", "openai"); !ok || key != "sk-team-a-openai-key" {
		t.Fatalf("provider key = %q, %v; want the team's key", key, ok)
	}
	if _, ok := f.provider(t, "b", "openai"); ok {
		t.Error("team b got team a's key")
	}
	if _, ok := f.provider(t, "a", "anthropic"); ok {
		t.Error("team a got an anthropic provider from its openai key")
	}

	reads := f.store.reads
	for range 10 {
		f.provider(t, "a", "openai")
	}
	if f.store.reads != reads {
		t.Errorf("%d store reads for cached lookups; want none", f.store.reads-reads)
	}
	f.now = f.now.Add(2 * time.Minute)
	f.provider(t, "a", "openai")
	if f.store.reads != reads+1 {
		t.Errorf("after the TTL: %d reads; want one", f.store.reads-reads)
	}

	if _, err := f.p.Save(ctx, "a", "openai", "sk-replacement-key-0000"); err != nil {
		t.Fatal(err)
	}
	if key, _ := f.provider(t, "a", "openai"); key != "sk-replacement-key-0000" {
		t.Errorf("after replacing: key %q; want the new one", key)
	}
	if err := f.p.Delete(ctx, "a", "openai"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.provider(t, "a", "openai"); ok {
		t.Error("a deleted key still serves")
	}
	if err := f.p.Delete(ctx, "a", "openai"); llmservice.ErrorKind(err) != llmservice.NotFound {
		t.Errorf("second Delete: %v; want NotFound", err)
	}
}

func TestProvidersOtherFamiliesNeedNoLookup(t *testing.T) {
	f := newFixture(t)
	for _, fam := range []string{"mock", "ollama", "gemini", "openai-compatible"} {
		if _, ok := f.provider(t, "a", fam); ok {
			t.Errorf("family %s: got a team provider", fam)
		}
	}
	if f.store.reads != 0 {
		t.Errorf("%d store reads for unsupported families; want none", f.store.reads)
	}
}

func TestProvidersUnopenableKey(t *testing.T) {
	f := newFixture(t)
	// A credential sealed for another team (copied row) must not open.
	sealed, _ := f.p.cfg.Sealer.Seal([]byte("sk-other"), aad("b", "openai"))
	_ = f.store.UpsertProviderCredential(context.Background(), &llmservice.ProviderCredential{TeamID: "a", ProviderType: "openai", Ciphertext: sealed})
	_, _, err := f.p.Provider(context.Background(), "a", "openai")
	e := llmservice.AsError(err)
	if e.Kind != llmservice.Internal || strings.Contains(e.Error(), "sk-other") {
		t.Errorf("Provider with a foreign ciphertext: %v; want an Internal error without the key", err)
	}
}

func TestSaveValidates(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, family, key, param string
	}{
		{"UnknownFamily", "gemini", "k", "providerType"},
		{"EmptyKey", "openai", "", "apiKey"},
		{"SpaceInKey", "openai", "sk-abc def", "apiKey"},
		{"NewlineInKey", "anthropic", "sk-abc\n", "apiKey"},
		{"LongKey", "openai", strings.Repeat("k", maxKeyLen+1), "apiKey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.p.Save(context.Background(), "a", tc.family, tc.key)
			if e := llmservice.AsError(err); e.Kind != llmservice.Invalid || e.Param != tc.param {
				t.Errorf("Save: %v (param %q); want Invalid naming %s", err, e.Param, tc.param)
			}
		})
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"sk-proj-abcdefghijklmnopqrstuvwxyz1234", "sk-...1234"},
		{"sk-ant-api03-xyzw", "sk-...xyzw"},
		{"shortkey12", "...12"},
		{"abcd", "..."},
		{"", "..."},
	} {
		if got := Mask(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
