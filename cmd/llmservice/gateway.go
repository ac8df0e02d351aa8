package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/llmservice/llmservice/internal/budget"
	"github.com/llmservice/llmservice/internal/byok"
	"github.com/llmservice/llmservice/internal/cache"
	"github.com/llmservice/llmservice/internal/config"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/limit"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/meter"
	"github.com/llmservice/llmservice/internal/notify"
	"github.com/llmservice/llmservice/internal/outage"
	"github.com/llmservice/llmservice/internal/provider"
	"github.com/llmservice/llmservice/internal/provider/anthropic"
	"github.com/llmservice/llmservice/internal/provider/mock"
	"github.com/llmservice/llmservice/internal/provider/openai"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	"github.com/llmservice/llmservice/internal/redisfallback"
	"github.com/llmservice/llmservice/internal/telemetry"
)

// gatewayParts is the gateway and what was built for it that the APIs, the
// background work and the HTTP server use too.
type gatewayParts struct {
	gw      *gateway.Gateway
	meter   *meter.Writer
	tel     *telemetry.Telemetry
	metrics *prometheus.Registry
	outages *outage.Metrics
	router  *hostpick.Router
	// bus carries admin changes between replicas; nil for one SQLite
	// process.
	bus notify.Bus
	// teamProviders are the teams' own provider keys: the gateway calls
	// with them, the StackForDevs API manages them.
	teamProviders *byok.Providers
	// closers release the Redis clients, last first; run by close.
	closers []func()
}

// close releases what the parts hold open, after shutdown.
func (p *gatewayParts) close() {
	for _, c := range slices.Backward(p.closers) {
		c()
	}
}

// buildGateway builds the gateway from the configuration: the provider
// instances, metrics and traces, the usage meter, the limiter and budgets
// (shared on Redis when configured), the invalidation bus, the host picker
// and the teams' own keys. accessLog receives the access log's lines.
func buildGateway(ctx context.Context, cfg config.Config, db store, log *slog.Logger, accessLog io.Writer) (_ *gatewayParts, err error) {
	p := &gatewayParts{}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	hc := upstream.NewClientWithLimit(0, cfg.UpstreamBodyLimit, cfg.UpstreamHTTP1)
	instances, err := providerInstances(cfg, hc, log)
	if err != nil {
		return nil, err
	}
	p.metrics = prometheus.NewRegistry()
	p.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p.outages = outage.NewMetrics(p.metrics)
	if p.tel, err = newTelemetry(cfg, p.metrics, instances, accessLog); err != nil {
		return nil, err
	}
	hc.Transport = p.tel.Transport(hc.Transport)
	p.meter = newMeter(cfg, db, p.metrics, p.outages, log)
	shared, err := shareOnRedis(cfg, clockOf(ctx), db, p.meter, p.metrics, p.outages, log)
	if err != nil {
		return nil, err
	}
	p.closers = shared.closers
	if p.bus, err = invalidationBus(ctx, db, shared.rdb, log, p.outages); err != nil {
		return nil, err
	}
	p.router = hostpick.New(hostpick.Policy{
		MaxAttempts:          cfg.Routing.MaxAttempts,
		RetriesPerDeployment: cfg.Routing.RetriesPerDeployment,
		Cooldown:             cfg.Routing.Cooldown,
		FailuresToOpen:       cfg.Routing.FailuresToOpen,
	})
	if p.teamProviders, err = newTeamProviders(cfg, db, hc, log); err != nil {
		return nil, err
	}
	p.gw, err = gateway.New(ctx, gateway.Config{
		Instances: instances,
		Stores:    gateway.Stores{Keys: db, Teams: db, Catalog: db, Groups: db},
		Meter:     p.meter,
		Logger:    log,
		Router:    p.router,
		Limiter:   shared.limiter,
		Spend:     spendSource(db, p.meter),
		Budgets:   shared.budgets,
		Defaults: gateway.Defaults{
			Team: llmservice.Limits{RPM: cfg.Limits.TeamRPM, TPM: cfg.Limits.TeamTPM},
			Key:  llmservice.Limits{RPM: cfg.Limits.KeyRPM, TPM: cfg.Limits.KeyTPM},
		},
		LogBodies:     cfg.LogBodies,
		Timeout:       cfg.RequestTimeout,
		Bus:           p.bus,
		Refresh:       cfg.CacheRefresh,
		StaleGrace:    staleGrace(cfg),
		Outages:       p.outages,
		Now:           clockOf(ctx),
		Tokens:        djangoTokens(cfg, db, clockOf(ctx)),
		TeamProviders: p.teamProviders,
		Cache:         responseCache(cfg, shared.rdb),
		Observer:      p.tel,
	})
	if err != nil {
		return nil, err
	}
	p.metrics.MustRegister(telemetry.DeploymentStates{Router: p.router, Hosts: p.gw.Hosts})
	p.metrics.MustRegister(&telemetry.QueueDepth{Store: db})
	return p, nil
}

// providerInstances are the configured provider instances, after the
// built-in mock unless it is disabled or the configuration names one.
func providerInstances(cfg config.Config, hc *http.Client, log *slog.Logger) ([]gateway.Instance, error) {
	var instances []gateway.Instance
	if !cfg.DisableMock && !declares(cfg.Providers, "mock") {
		instances = append(instances, gateway.Instance{Name: "mock", Family: config.TypeMock, Hosts: []llm.Provider{mock.Client{}}, Models: []string{"echo"}})
	}
	for _, p := range cfg.Providers {
		hosts, err := provider.New(p, hc)
		if err != nil {
			return nil, err
		}
		instances = append(instances, gateway.Instance{Name: p.Name, Family: p.Type, Hosts: hosts, Models: p.Models})
		log.Info("provider enabled", "name", p.Name, "type", p.Type, "hosts", len(hosts))
	}
	return instances, nil
}

// declares reports whether the configuration names an instance.
func declares(ps []config.Provider, name string) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}

// newMeter is the usage meter: records wait in memory, then go to the
// ledger, or to the journal while the ledger cannot be written. What an
// earlier run left in the journal is replayed.
func newMeter(cfg config.Config, db store, reg *prometheus.Registry, outages *outage.Metrics, log *slog.Logger) *meter.Writer {
	journal := meter.NewJournal(cfg.JournalDir(), cfg.JournalMaxBytes())
	var mw *meter.Writer
	mw = meter.New(telemetry.NewLedger(reg, db, func() int { return mw.Buffered() }), meter.Config{Logger: log, Journal: journal,
		Registry: reg, Outages: outages, Interval: cfg.FlushInterval(), Buffer: cfg.LedgerBuffer()})
	if n := journal.Size(); n > 0 {
		log.Info("usage journal: replaying records an earlier run could not write", "dir", journal.Dir(), "bytes", n)
	}
	return mw
}

// sharedState is where rate limits and budgets are kept: in this process,
// or on Redis, shared by the replicas.
type sharedState struct {
	limiter limit.Limiter
	budgets gateway.Budgets // nil: in memory, over the ledger
	rdb     *redis.Client   // nil without Redis
	closers []func()
}

// shareOnRedis connects to Redis when it is configured, for rate limits
// and budgets; else both stay in this process.
func shareOnRedis(cfg config.Config, now func() time.Time, db store, mw *meter.Writer, reg *prometheus.Registry, outages *outage.Metrics, log *slog.Logger) (sharedState, error) {
	if cfg.RedisURL == "" {
		return sharedState{limiter: limit.NewLocal(now)}, nil
	}
	opts, err := limit.RedisClientOptions(cfg.RedisURL)
	if err != nil {
		return sharedState{}, fmt.Errorf("LLMSERVICE_REDIS_URL: %w", err)
	}
	// Every request waits on one limiter call, so the pool must not be
	// the bottleneck of a burst; and a call that merely waited for a
	// busy pool must not be mistaken for an outage (the fallback to
	// per-replica limits lets more through than the limit).
	opts.PoolSize = max(opts.PoolSize, 128)
	rdb := redis.NewClient(opts)
	// One structured line when Redis stops answering and one when it
	// is back, not go-redis's own line at every dial.
	redisfallback.Quiet(rdb, log, outages)
	rl := limit.NewRedis(rdb, limit.RedisOptions{Registry: reg, Logger: log, Timeout: 500 * time.Millisecond})
	// Budgets too: N replicas with their own figures would let N
	// times a budget through.
	bs := budget.NewRedis(rdb, spendSource(db, mw), budget.RedisOptions{Registry: reg, Logger: log, Timeout: 500 * time.Millisecond})
	log.Info("rate limits and budgets shared through redis", "backend", rl.Backend())
	// Closed in this order after shutdown (gatewayParts.close runs them
	// last first): the budgets, the limiter, then their client.
	return sharedState{limiter: rl, budgets: bs, rdb: rdb,
		closers: []func(){func() { rdb.Close() }, func() { rl.Close() }, func() { bs.Close() }}}, nil
}

// spendSource reads a budget scope's spend from the ledger, after writing
// what the meter still buffers so that no call is missed. A ledger that
// cannot be written in time (a database outage) makes the spend unknown:
// the call is refused with 503 rather than held for the whole outage or
// let through on a figure that misses the buffered calls.
func spendSource(db llmservice.UsageStore, mw *meter.Writer) budget.SpendSource {
	return func(ctx context.Context, teamID, keyID string, from time.Time) (llmservice.Nanos, error) {
		if gateway.FlushUsage(ctx, mw.Flush) {
			return 0, &llmservice.Error{Kind: llmservice.Unavailable, Code: "database_unavailable",
				Message: "The usage ledger cannot be written, so the budget cannot be checked; try again shortly"}
		}
		ts, err := db.SumUsage(ctx, llmservice.UsageFilter{TeamID: teamID, KeyID: keyID, From: from})
		if err != nil || len(ts) == 0 {
			return 0, err
		}
		return ts[0].Cost, nil
	}
}

// staleGrace is the gateway's StaleGrace for the configured
// LLMSERVICE_STALE_KEY_GRACE, where 0 means off.
func staleGrace(cfg config.Config) time.Duration {
	if cfg.StaleKeyGrace <= 0 {
		return -1
	}
	return cfg.StaleKeyGrace
}

// responseCache is the response cache's store: Redis, shared by the
// replicas, when Redis is configured; else memory bounded by
// LLMSERVICE_RESPONSE_CACHE_BYTES.
func responseCache(cfg config.Config, rdb *redis.Client) cache.Store {
	if rdb != nil {
		return cache.NewRedis(rdb, "llmservice:cache:", 250*time.Millisecond)
	}
	return cache.NewMemory(cfg.ResponseCacheBytes, nil)
}

// encryptionKeyEnv names the variable holding the key that seals teams'
// provider keys (base64 of 32 bytes).
const encryptionKeyEnv = "LLMSERVICE_ENCRYPTION_KEY"

// newTeamProviders is the gateway's TeamProviders, teams' own OpenAI and
// Anthropic keys ("bring your own key"), which the StackForDevs API
// manages. hc carries their calls.
func newTeamProviders(cfg config.Config, db store, hc *http.Client, log *slog.Logger) (*byok.Providers, error) {
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
