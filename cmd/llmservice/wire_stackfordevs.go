package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"

	"github.com/llmservice/llmservice/internal/byok"
	"github.com/llmservice/llmservice/internal/config"
	"github.com/llmservice/llmservice/internal/dialect/stackfordevs"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/anthropic"
	"github.com/llmservice/llmservice/internal/provider/openai"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

func init() {
	dialectBuilders = append(dialectBuilders, func(d *deps) (registrar, error) {
		tp, err := teamProvidersOf(d.Config, d.DB, nil, d.Logger)
		if err != nil {
			return nil, err
		}
		return &stackfordevs.Handler{
			GW:          d.Gateway,
			Credentials: tp,
			Usage:       d.DB,
			Flush:       d.Meter.Flush,
			Log:         d.Logger,
			BodyLimit:   d.Config.BodyLimit,
		}, nil
	})
}

// byokByDB shares one set of team providers between the gateway, built
// first (serve.go), and the StackForDevs API that manages them. It is keyed
// by database because tests run several servers in one process.
var byokByDB sync.Map // store -> *byokEntry

type byokEntry struct {
	once sync.Once
	p    *byok.Providers
	err  error
}

// teamProviders is the gateway's TeamProviders: teams' own OpenAI and
// Anthropic keys. A failure to load the encryption key is reported when the
// StackForDevs API is built, which stops the server.
func teamProviders(cfg config.Config, db store, hc *http.Client, log *slog.Logger) gateway.TeamProviders {
	p, err := teamProvidersOf(cfg, db, hc, log)
	if err != nil {
		return nil
	}
	return p
}

func teamProvidersOf(cfg config.Config, db store, hc *http.Client, log *slog.Logger) (*byok.Providers, error) {
	v, _ := byokByDB.LoadOrStore(db, &byokEntry{})
	e := v.(*byokEntry)
	e.once.Do(func() { e.p, e.err = newTeamProviders(cfg, db, hc, log) })
	return e.p, e.err
}

// encryptionKeyEnv names the variable holding the key that seals teams'
// provider keys (base64 of 32 bytes).
const encryptionKeyEnv = "LLMSERVICE_ENCRYPTION_KEY"

func newTeamProviders(cfg config.Config, db store, hc *http.Client, log *slog.Logger) (*byok.Providers, error) {
	if hc == nil {
		hc = upstream.NewClient(0)
	}
	if isPostgres(cfg.DatabaseURL) && cfg.EncryptionKey == "" {
		// Replicas must seal and open with one key, and the key must not
		// live in the database it protects: only the operator can give it.
		return nil, fmt.Errorf("%s must be set when the database is PostgreSQL: teams' provider keys are sealed with it (base64 of 32 random bytes, e.g. `openssl rand -base64 32`), shared by every replica", encryptionKeyEnv)
	}
	key, path, generated, err := byok.LoadKey(cfg.EncryptionKey, keyDir(cfg.DatabaseURL))
	if err != nil {
		return nil, fmt.Errorf("encryption key for provider credentials: %w", err)
	}
	switch {
	case generated && path != "":
		log.Info("generated an encryption key for teams' provider keys; back it up with the database, or set "+encryptionKeyEnv, "path", path)
	case generated:
		log.Warn("in-memory database: teams' provider keys are sealed with a key that lives as long as the process")
	}
	sealer, err := byok.NewSealer(key)
	if err != nil {
		return nil, err
	}
	bases := map[string]string{}
	for _, typ := range []string{config.TypeOpenAI, config.TypeAnthropic} {
		bases[typ] = baseURLOf(cfg.Providers, typ)
	}
	build := func(family, apiKey string) (llm.Provider, error) {
		switch family {
		case config.TypeOpenAI:
			return openai.New(openai.Config{BaseURL: bases[family], APIKey: apiKey, Responses: true}, hc), nil
		case config.TypeAnthropic:
			return anthropic.New(anthropic.Config{BaseURL: bases[family], APIKey: apiKey}, hc), nil
		}
		return nil, fmt.Errorf("no adapter for provider family %q", family)
	}
	return byok.New(byok.Config{Store: db, Sealer: sealer, Build: build, Grace: cfg.StaleKeyGrace}), nil
}

// baseURLOf is the base URL of the configured instance of a provider type
// (the one named like the type first), so that a team's own key goes where
// the operator sends that provider's traffic; "" is the public API.
func baseURLOf(ps []config.Provider, typ string) string {
	base, found := "", false
	for _, p := range ps {
		if p.Type != typ {
			continue
		}
		if p.Name == typ {
			return p.BaseURL
		}
		if !found {
			base, found = p.BaseURL, true
		}
	}
	return base
}

// keyDir is the directory of the SQLite file named by the database URL, or
// "" for an in-memory database.
func keyDir(url string) string {
	path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite://"), "sqlite:")
	if path == "" || path == ":memory:" {
		return ""
	}
	return filepath.Dir(path)
}
