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
	"runtime"
	"runtime/debug"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/llmservice/llmservice/internal/authguard"
	"github.com/llmservice/llmservice/internal/config"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/meter"
	"github.com/llmservice/llmservice/internal/server"
	"github.com/llmservice/llmservice/internal/telemetry"
	"github.com/llmservice/llmservice/internal/ui"
)

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
	parts, err := buildGateway(ctx, cfg, db, log, stderr)
	if err != nil {
		return err
	}
	defer parts.close()
	addrGuard, userGuard := authGuards(cfg)
	mounted, err := buildAPIs(ctx, cfg, parts, db, userGuard, log)
	if err != nil {
		return err
	}
	hs := newHTTPServer(ctx, cfg, parts, mounted, db, adminHash, addrGuard, log)
	ln, err := listen(cfg)
	if err != nil {
		return err
	}
	// Background work starts once the socket is open, the last step of
	// the start that can fail, so that a failed start leaves no queue
	// worker running against the database it closes.
	bg := startBackgroundWork(ctx, cfg, parts, mounted, db, log)
	announce(ln, cfg, log, ready)
	if err := serveUntilDone(ctx, hs, ln); err != nil {
		return err
	}
	dbOpen = false // shutdown closes it, within its deadline
	err = shutdown(cfg.ShutdownTimeout, hs, bg, parts.meter, db, log)
	exportLastSpans(parts.tel, log)
	return err
}

// adminKeySetting names the stored hash of a generated admin key.
const adminKeySetting = "admin_key_hash"

// newLogger is the process's log on w, at the configured level and in the
// configured format.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // config.Validate refused a bad level
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
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

// startBackgroundWork starts what runs beside the requests until shutdown:
// health checks of in-house hosts (until ctx ends), and, until bg.Stop,
// invalidations from the other replicas, the catalog refresh, the usage
// retention and the APIs' own work (queue workers, the batch sweep).
func startBackgroundWork(ctx context.Context, cfg config.Config, parts *gatewayParts, mounted *apis, db store, log *slog.Logger) *background {
	gw := parts.gw
	if cfg.Routing.HealthCheckInterval > 0 {
		var inHouse []*hostpick.Deployment
		for _, d := range gw.Hosts() {
			if in, _ := gw.Instance(d.Instance); in.Family == config.TypeOllama || in.Family == config.TypeOpenAICompatible {
				inHouse = append(inHouse, d)
			}
		}
		parts.router.StartHealthChecks(ctx, inHouse, cfg.Routing.HealthCheckInterval)
	}
	bg := newBackground()
	if parts.bus != nil {
		parts.bus.Subscribe(bg.ctx, gw.ApplyInvalidation)
	}
	bg.Go(gw.RefreshCatalog)
	bg.Go(func(ctx context.Context) { purgeUsage(ctx, db, cfg.UsageRetention, log) })
	for _, fn := range mounted.background {
		bg.Go(fn)
	}
	return bg
}

// newHTTPServer is the HTTP server of the whole surface: the core routes
// (internal/server), the seed services' APIs, the dashboard and /metrics,
// wrapped in the telemetry's middleware.
func newHTTPServer(ctx context.Context, cfg config.Config, parts *gatewayParts, mounted *apis, db store, adminHash string, addrGuard *authguard.Guard, log *slog.Logger) *http.Server {
	srv := server.New(server.Config{
		Dialects: mounted.mounts,
		Gateway:  parts.gw,
		Stores: server.Stores{Teams: db, Keys: db, Catalog: db, Usage: db, Groups: db, Credits: db,
			Stats: db, Jobs: db},
		UI:           ui.Handler(),
		Batches:      mounted.batches,
		Meter:        parts.meter,
		AdminKeyHash: adminHash,
		BodyLimit:    cfg.BodyLimit,
		// Memory and connections (README, "Limits on memory and connections").
		BodyBytesInFlight:   cfg.BodyBytesInFlight,
		MaxRequestsInFlight: cfg.MaxRequestsInFlight,
		WriteTimeout:        cfg.WriteTimeout,
		TrustedProxies:      server.ParsePrefixes(cfg.TrustedProxies),
		AuthGuard:           addrGuard,
		Metrics:             telemetry.ProtectMetrics(promhttp.HandlerFor(parts.metrics, promhttp.HandlerOpts{}), cfg.Telemetry.MetricsToken),
		Ready:               readiness(ctx, parts.meter),
		Logger:              log,
		Responses:           db,
	})
	// ReadTimeout bounds the arrival of a whole request, body included; the
	// server lifts it once the body is read, so it never cuts a stream.
	// The write side is bounded per write by the server's middleware
	// (WriteTimeout above), as http.Server's own WriteTimeout would cut
	// every answer longer than it.
	return &http.Server{Handler: parts.tel.Handler(srv), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: cfg.ReadTimeout,
		IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}

// listen opens the listening socket, capped at LLMSERVICE_MAX_CONNECTIONS.
func listen(cfg config.Config) (net.Listener, error) {
	// Starting up allocates far more than serving does: goose parses every
	// migration with its own 4 MiB buffer, in parallel. Give those pages back
	// now, or the process would carry them as resident memory for good.
	// goose keeps those buffers in a sync.Pool, whose items survive one
	// collection: the first GC only moves them aside and counts them live
	// (the heap goal would then be twice that, some 16 MiB of garbage
	// touched under load before the next GC), the second frees them
	// (TestStartLeavesNoStartupHeap).
	runtime.GC()
	debug.FreeOSMemory()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	if cfg.MaxConnections > 0 {
		ln = server.LimitListener(ln, cfg.MaxConnections)
	}
	return ln, nil
}

// announce logs the listening address and tells ready (when not nil).
func announce(ln net.Listener, cfg config.Config, log *slog.Logger, ready chan<- string) {
	log.Info("llmservice listening", "addr", ln.Addr().String(), "database", cfg.DatabaseURL, "version", version)
	if ready != nil {
		ready <- ln.Addr().String()
	}
}

// serveUntilDone serves hs on ln until ctx ends (nil: shut down next), or
// until serving fails (that error).
func serveUntilDone(ctx context.Context, hs *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return nil
	}
}

// exportLastSpans sends the last requests' spans: a collector that does not
// answer costs at most two seconds more.
func exportLastSpans(tel *telemetry.Telemetry, log *slog.Logger) {
	tctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := tel.Shutdown(tctx); err != nil {
		log.Warn("shutdown: spans not exported", "err", err)
	}
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
