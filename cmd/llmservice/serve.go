package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/llmservice/llmservice/internal/budget"
	"github.com/llmservice/llmservice/internal/cache"
	"github.com/llmservice/llmservice/internal/config"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/limit"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/meter"
	"github.com/llmservice/llmservice/internal/outage"
	"github.com/llmservice/llmservice/internal/provider"
	"github.com/llmservice/llmservice/internal/provider/mock"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	"github.com/llmservice/llmservice/internal/redisfallback"
	"github.com/llmservice/llmservice/internal/server"
	"github.com/llmservice/llmservice/internal/telemetry"
	"github.com/llmservice/llmservice/internal/ui"
)

// adminKeySetting names the stored hash of a generated admin key.
const adminKeySetting = "admin_key_hash"

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(args, getenv)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied to", cfg.DatabaseURL)
	return db.Close()
}

// adminKeyHash returns the hash the admin API checks. A configured key wins;
// otherwise a key is generated on first start, printed once, and only its
// hash is kept.
func adminKeyHash(ctx context.Context, cfg config.Config, db llmservice.SettingStore, log *slog.Logger, stdout io.Writer) (string, error) {
	if cfg.AdminKey != "" {
		return llmservice.HashSecret(cfg.AdminKey), nil
	}
	h, err := db.Setting(ctx, adminKeySetting)
	if err == nil {
		log.Info("admin key: using the one generated on first start (set LLMSERVICE_ADMIN_KEY to choose your own)")
		return h, nil
	}
	if llmservice.ErrorKind(err) != llmservice.NotFound {
		return "", err
	}
	key := "sk-admin-" + rand.Text()
	stored, err := db.SetSettingIfAbsent(ctx, adminKeySetting, llmservice.HashSecret(key))
	if err != nil {
		return "", err
	}
	if stored == llmservice.HashSecret(key) {
		fmt.Fprintf(stdout, "\nGenerated admin key (shown once; only its hash is stored):\n\n    %s\n\n", key)
	}
	return stored, nil
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

// declares reports whether the configuration names an instance.
func declares(ps []config.Provider, name string) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}

// serve runs the gateway until ctx ends. ready, when not nil, receives the
// listening address (tests listen on port 0).
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready chan<- string) error {
	cfg, err := config.Load(args, getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	dbOpen := true
	defer func() {
		if dbOpen {
			db.Close()
		}
	}()
	adminHash, err := adminKeyHash(ctx, cfg, db, log, stdout)
	if err != nil {
		return err
	}

	hc := upstream.NewClientWithLimit(0, cfg.UpstreamBodyLimit)
	var instances []gateway.Instance
	if !cfg.DisableMock && !declares(cfg.Providers, "mock") {
		instances = append(instances, gateway.Instance{Name: "mock", Family: config.TypeMock, Hosts: []llm.Provider{mock.Client{}}, Models: []string{"echo"}})
	}
	for _, p := range cfg.Providers {
		hosts, err := provider.New(p, hc)
		if err != nil {
			return err
		}
		instances = append(instances, gateway.Instance{Name: p.Name, Family: p.Type, Hosts: hosts, Models: p.Models})
		log.Info("provider enabled", "name", p.Name, "type", p.Type, "hosts", len(hosts))
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	outages := outage.NewMetrics(reg)
	tel, err := newTelemetry(cfg, reg, instances, stderr)
	if err != nil {
		return err
	}
	hc.Transport = tel.Transport(hc.Transport)
	journal := meter.NewJournal(cfg.JournalDir(), cfg.JournalMaxBytes())
	var mw *meter.Writer
	mw = meter.New(telemetry.NewLedger(reg, db, func() int { return mw.Buffered() }), meter.Config{Logger: log, Journal: journal,
		Registry: reg, Outages: outages, Interval: cfg.FlushInterval(), Buffer: cfg.LedgerBuffer()})
	if n := journal.Size(); n > 0 {
		log.Info("usage journal: replaying records an earlier run could not write", "dir", journal.Dir(), "bytes", n)
	}
	var (
		limiter limit.Limiter = limit.NewLocal(nil)
		rdb     *redis.Client
		budgets gateway.Budgets // nil: in memory, over the ledger
	)
	if cfg.RedisURL != "" {
		opts, err := limit.RedisClientOptions(cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("LLMSERVICE_REDIS_URL: %w", err)
		}
		// Every request waits on one limiter call, so the pool must not be
		// the bottleneck of a burst; and a call that merely waited for a
		// busy pool must not be mistaken for an outage (the fallback to
		// per-replica limits lets more through than the limit).
		opts.PoolSize = max(opts.PoolSize, 128)
		rdb = redis.NewClient(opts)
		defer rdb.Close()
		// One structured line when Redis stops answering and one when it
		// is back, not go-redis's own line at every dial.
		redisfallback.Quiet(rdb, log, outages)
		rl := limit.NewRedis(rdb, limit.RedisOptions{Registry: reg, Logger: log, Timeout: 500 * time.Millisecond})
		defer rl.Close()
		limiter = rl
		// Budgets too: N replicas with their own figures would let N
		// times a budget through.
		bs := budget.NewRedis(rdb, spendSource(db, mw), budget.RedisOptions{Registry: reg, Logger: log, Timeout: 500 * time.Millisecond})
		defer bs.Close()
		budgets = bs
		log.Info("rate limits and budgets shared through redis", "backend", rl.Backend())
	}

	bus, err := invalidationBus(ctx, db, rdb, log, outages)
	if err != nil {
		return err
	}
	router := hostpick.New(hostpick.Policy{
		MaxAttempts:          cfg.Routing.MaxAttempts,
		RetriesPerDeployment: cfg.Routing.RetriesPerDeployment,
		Cooldown:             cfg.Routing.Cooldown,
		FailuresToOpen:       cfg.Routing.FailuresToOpen,
	})
	gw, err := gateway.New(ctx, gateway.Config{
		Instances: instances,
		Stores:    gateway.Stores{Keys: db, Teams: db, Catalog: db, Groups: db},
		Meter:     mw,
		Logger:    log,
		Router:    router,
		Limiter:   limiter,
		Spend:     spendSource(db, mw),
		Budgets:   budgets,
		Defaults: gateway.Defaults{
			Team: llmservice.Limits{RPM: cfg.Limits.TeamRPM, TPM: cfg.Limits.TeamTPM},
			Key:  llmservice.Limits{RPM: cfg.Limits.KeyRPM, TPM: cfg.Limits.KeyTPM},
		},
		LogBodies:     cfg.LogBodies,
		Timeout:       cfg.RequestTimeout,
		Bus:           bus,
		Refresh:       cfg.CacheRefresh,
		StaleGrace:    staleGrace(cfg),
		Outages:       outages,
		Tokens:        djangoTokens(cfg, db),
		TeamProviders: teamProviders(cfg, db, hc, log),
		Cache:         responseCache(cfg, rdb),
		Observer:      tel,
	})
	if err != nil {
		return err
	}
	reg.MustRegister(telemetry.DeploymentStates{Router: router, Hosts: gw.Hosts})
	reg.MustRegister(&telemetry.QueueDepth{Store: db})
	if cfg.Routing.HealthCheckInterval > 0 {
		var inHouse []*hostpick.Deployment
		for _, d := range gw.Hosts() {
			if in, _ := gw.Instance(d.Instance); in.Family == config.TypeOllama || in.Family == config.TypeOpenAICompatible {
				inHouse = append(inHouse, d)
			}
		}
		router.StartHealthChecks(ctx, inHouse, cfg.Routing.HealthCheckInterval)
	}
	bg := newBackground()
	if bus != nil {
		bus.Subscribe(bg.ctx, gw.ApplyInvalidation)
	}
	bg.Go(gw.RefreshCatalog)
	bg.Go(func(ctx context.Context) { purgeUsage(ctx, db, cfg.UsageRetention, log) })
	addrGuard, userGuard := authGuards(cfg)
	dialects, err := buildDialects(&deps{Config: cfg, Gateway: gw, DB: db, Meter: mw, Logger: log, Background: bg, Outages: outages,
		UserGuard: userGuard})
	if err != nil {
		return err
	}
	var mounts []server.Registrar
	for _, d := range dialects {
		mounts = append(mounts, d)
	}
	srv := server.New(server.Config{
		Dialects: mounts,
		Gateway:  gw,
		Stores: server.Stores{Teams: db, Keys: db, Catalog: db, Usage: db, Groups: db, Credits: db,
			Stats: db, Jobs: db},
		UI:           ui.Handler(),
		Batches:      batchCanceller(dialects),
		Meter:        mw,
		AdminKeyHash: adminHash,
		BodyLimit:    cfg.BodyLimit,
		// Memory and connections (README, "Limits on memory and connections").
		BodyBytesInFlight:   cfg.BodyBytesInFlight,
		MaxRequestsInFlight: cfg.MaxRequestsInFlight,
		WriteTimeout:        cfg.WriteTimeout,
		TrustedProxies:      server.ParsePrefixes(cfg.TrustedProxies),
		AuthGuard:           addrGuard,
		Metrics:             telemetry.ProtectMetrics(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), cfg.Telemetry.MetricsToken),
		Ready:               readiness(ctx, mw),
		Logger:              log,
		Responses:           db,
	})
	// ReadTimeout bounds the arrival of a whole request, body included; the
	// server lifts it once the body is read, so it never cuts a stream.
	// The write side is bounded per write by the server's middleware
	// (WriteTimeout above), as http.Server's own WriteTimeout would cut
	// every answer longer than it.
	hs := &http.Server{Handler: tel.Handler(srv), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: cfg.ReadTimeout,
		IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	// Starting up allocates far more than serving does: goose parses every
	// migration with its own 4 MiB buffer, in parallel. Give those pages back
	// now, or the process would carry them as resident memory for good.
	debug.FreeOSMemory()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.MaxConnections > 0 {
		ln = server.LimitListener(ln, cfg.MaxConnections)
	}
	log.Info("llmservice listening", "addr", ln.Addr().String(), "database", cfg.DatabaseURL, "version", version)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	dbOpen = false // shutdown closes it, within its deadline
	err = shutdown(cfg.ShutdownTimeout, hs, bg, mw, db, log)
	// The last requests' spans: a collector that does not answer costs
	// at most two seconds more.
	tctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if terr := tel.Shutdown(tctx); terr != nil {
		log.Warn("shutdown: spans not exported", "err", terr)
	}
	return err
}

// readiness is /readyz: not ready once shutdown began, nor while the usage
// ledger can be written neither to the database nor to the journal.
func readiness(ctx context.Context, mw *meter.Writer) func() error {
	return func() error {
		if ctx.Err() != nil {
			return errors.New("shutting down")
		}
		if mw.Full() {
			return errors.New("the usage ledger can be written neither to the database nor to the journal")
		}
		return nil
	}
}

// shutdown stops the server within timeout: requests get all of it but a
// reserve, which the meter has to place what it buffers (the database,
// else the journal). It returns an error, so that the process exits
// non-zero, when usage records were lost; nothing here waits past the
// deadline, not even a database whose connections hang.
func shutdown(timeout time.Duration, hs *http.Server, bg *background, mw *meter.Writer, db store, log *slog.Logger) error {
	log.Info("shutting down: finishing requests and writing usage", "deadline", timeout)
	start := time.Now()
	sctx, cancel := context.WithDeadline(context.Background(), start.Add(timeout))
	defer cancel()
	reserve := min(timeout/4, 5*time.Second)
	hctx, hcancel := context.WithDeadline(sctx, start.Add(timeout-reserve))
	defer hcancel()
	if err := hs.Shutdown(hctx); err != nil {
		log.Warn("shutdown: requests still running at the deadline", "err", err)
	}
	if err := bg.Stop(hctx); err != nil {
		log.Warn("shutdown: background work still running at the deadline", "err", err)
	}
	if err := mw.Close(sctx); err != nil {
		log.Error("shutdown: usage not kept", "err", err)
		return err
	}
	// The deferred db.Close waits for queries in progress; bound it.
	closed := make(chan struct{})
	go func() { db.Close(); close(closed) }()
	select {
	case <-closed:
	case <-sctx.Done():
		log.Warn("shutdown: database connections still busy at the deadline")
	}
	log.Info("stopped")
	return nil
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
