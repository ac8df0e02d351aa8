package byok

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

// Builder makes a provider adapter of a family that calls upstream with
// apiKey. cmd/llmservice supplies it, so this package imports no adapter.
type Builder func(family, apiKey string) (llm.Provider, error)

// Config wires Providers.
type Config struct {
	Store  llmservice.ProviderCredentialStore
	Sealer *Sealer
	Build  Builder
	// TTL bounds how long a cached adapter (or the absence of a team key)
	// is trusted: a change made through another replica applies within it.
	// Changes made through this process apply at once. Default one minute.
	TTL time.Duration
	// Grace is how long past its TTL a cached adapter (or absence) is still
	// used while the store is unavailable, so that a database outage does
	// not fail the calls of teams with their own keys (0: not at all).
	Grace time.Duration
	Now   func() time.Time
}

// Providers hands out teams' own provider adapters. It implements the
// gateway's TeamProviders and is safe for concurrent use.
type Providers struct {
	cfg   Config
	cache sync.Map // cacheKey -> *entry
	// gen counts invalidations: a load that began before one does not
	// cache what it read, which may be stale.
	gen atomic.Uint64
}

type entry struct {
	p  llm.Provider // nil: the team has no key for the family
	at time.Time
}

// New returns Providers for cfg.
func New(cfg Config) *Providers {
	if cfg.TTL <= 0 {
		cfg.TTL = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Providers{cfg: cfg}
}

// Supported reports whether a team may bring its own key for family.
func Supported(family string) bool {
	return family == llmservice.CredentialOpenAI || family == llmservice.CredentialAnthropic
}

func cacheKey(teamID, family string) string { return teamID + "\x00" + family }

// aad binds a sealed key to its team and provider.
func aad(teamID, family string) []byte { return []byte("byok\x00" + teamID + "\x00" + family) }

// Provider returns the team's own adapter for family, or false when the team
// brought no key for it. Families other than openai and anthropic are
// answered without a lookup.
func (p *Providers) Provider(ctx context.Context, teamID, family string) (llm.Provider, bool, error) {
	if !Supported(family) {
		return nil, false, nil
	}
	k := cacheKey(teamID, family)
	now := p.cfg.Now()
	var old *entry
	if v, ok := p.cache.Load(k); ok {
		old = v.(*entry)
		if now.Sub(old.at) < p.cfg.TTL {
			return old.p, old.p != nil, nil
		}
	}
	gen := p.gen.Load()
	e := &entry{at: now}
	c, err := p.cfg.Store.FindProviderCredential(ctx, teamID, family)
	switch {
	case llmservice.ErrorKind(err) == llmservice.NotFound:
	case llmservice.ErrorKind(err) == llmservice.Unavailable && old != nil && now.Sub(old.at) < p.cfg.TTL+p.cfg.Grace:
		return old.p, old.p != nil, nil // the last good copy, during an outage
	case err != nil:
		return nil, false, err
	default:
		key, err := p.cfg.Sealer.Open(c.Ciphertext, aad(teamID, family))
		if err != nil {
			return nil, false, &llmservice.Error{Kind: llmservice.Internal, Message: "internal error",
				Err: fmt.Errorf("team %s %s credential: %w", teamID, family, err)}
		}
		if e.p, err = p.cfg.Build(family, string(key)); err != nil {
			return nil, false, err
		}
	}
	if p.gen.Load() == gen {
		p.cache.Store(k, e)
	}
	return e.p, e.p != nil, nil
}

// Invalidate drops the cached adapter of a team and family.
func (p *Providers) Invalidate(teamID, family string) {
	p.gen.Add(1)
	p.cache.Delete(cacheKey(teamID, family))
}

// maxKeyLen bounds an API key; real ones are under 200 characters.
const maxKeyLen = 1024

// Save seals apiKey and stores it as the team's key for family, replacing
// any earlier one. Invalid (param providerType or apiKey) for bad input;
// NotFound when the team does not exist.
func (p *Providers) Save(ctx context.Context, teamID, family, apiKey string) (*llmservice.ProviderCredential, error) {
	if !Supported(family) {
		return nil, llmservice.InvalidParam("providerType", "providerType must be 'openai' or 'anthropic'")
	}
	if err := checkKey(apiKey); err != nil {
		return nil, err
	}
	sealed, err := p.cfg.Sealer.Seal([]byte(apiKey), aad(teamID, family))
	if err != nil {
		return nil, err
	}
	now := p.cfg.Now().UTC()
	c := &llmservice.ProviderCredential{TeamID: teamID, ProviderType: family, Ciphertext: sealed, Hint: Mask(apiKey), CreatedAt: now, UpdatedAt: now}
	err = p.cfg.Store.UpsertProviderCredential(ctx, c)
	p.Invalidate(teamID, family)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func checkKey(k string) error {
	switch {
	case k == "":
		return llmservice.InvalidParam("apiKey", "apiKey is required")
	case len(k) > maxKeyLen:
		return llmservice.InvalidParam("apiKey", "apiKey is longer than %d characters", maxKeyLen)
	case strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		// A key with spaces or control characters would be sent as a broken
		// header; it is a copy-paste mistake, better reported now.
		return llmservice.InvalidParam("apiKey", "apiKey must not contain spaces or control characters")
	}
	return nil
}

// List returns the team's credentials (sealed; show only their Hint).
func (p *Providers) List(ctx context.Context, teamID string) ([]*llmservice.ProviderCredential, error) {
	return p.cfg.Store.FindProviderCredentials(ctx, teamID)
}

// Delete removes the team's key for family. NotFound when there is none.
func (p *Providers) Delete(ctx context.Context, teamID, family string) error {
	err := p.cfg.Store.DeleteProviderCredential(ctx, teamID, family)
	p.Invalidate(teamID, family)
	return err
}

// Mask shows enough of a key to recognise it: "sk-...abcd". Short keys show
// only their last two characters, so that a mask never reveals most of one.
func Mask(k string) string {
	if len(k) < 12 {
		if len(k) <= 4 {
			return "..."
		}
		return "..." + k[len(k)-2:]
	}
	return k[:3] + "..." + k[len(k)-4:]
}
