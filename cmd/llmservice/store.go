package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/notify"
	"github.com/llmservice/llmservice/internal/outage"
	"github.com/llmservice/llmservice/internal/postgres"
	"github.com/llmservice/llmservice/internal/sqlite"
	"github.com/redis/go-redis/v9"
)

// store is every store interface, which both databases implement: the
// embedded SQLite file of a single process, and PostgreSQL shared by
// replicas.
type store interface {
	llmservice.TeamStore
	llmservice.KeyStore
	llmservice.CatalogStore
	llmservice.SettingStore
	llmservice.ResponseStore
	llmservice.UsageStore
	llmservice.ModelGroupStore
	llmservice.CreditStore
	llmservice.ConversationStore
	llmservice.DjangoUserStore
	llmservice.CreditJobStore
	llmservice.ProviderCredentialStore
	llmservice.TaskStore
	llmservice.BatchStore
	llmservice.FileStore
	llmservice.WebhookStore
	llmservice.UsagePurger
	llmservice.UsageStatsStore
	llmservice.TaskBrowser
	Close() error
}

var (
	_ store = (*sqlite.DB)(nil)
	_ store = (*postgres.DB)(nil)
)

// isPostgres reports whether a database URL names PostgreSQL.
func isPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// openDB opens and migrates the store named by the database URL.
func openDB(ctx context.Context, url string) (store, error) {
	if isPostgres(url) {
		db, err := postgres.Open(ctx, url)
		if err != nil {
			return nil, err
		}
		if err := db.Migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
		return db, nil
	}
	path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite://"), "sqlite:")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// invalidationBus picks how replicas tell each other of admin changes:
// Redis pub/sub when Redis is configured, else PostgreSQL's LISTEN/NOTIFY;
// a single SQLite process needs none (nil). m receives the metrics of the
// bus's outages.
func invalidationBus(ctx context.Context, db store, rdb *redis.Client, log *slog.Logger, m *outage.Metrics) (notify.Bus, error) {
	if rdb != nil {
		return notify.NewRedis(rdb, "llmservice:", log, m), nil
	}
	if pg, ok := db.(interface{ Pool() *pgxpool.Pool }); ok {
		return notify.NewPostgres(ctx, pg.Pool(), log, m)
	}
	return nil, nil
}

// purgeUsage applies the usage retention every hour until ctx ends: raw
// records older than the retention go, in small batches; rollups stay.
// Every replica runs it; the deletes are idempotent and short, so replicas
// racing on it merely find less to do.
func purgeUsage(ctx context.Context, db llmservice.UsagePurger, retention time.Duration, log *slog.Logger) {
	if retention <= 0 {
		return
	}
	for {
		n, err := db.PurgeUsage(ctx, time.Now().Add(-retention), 0)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("usage retention: purge failed; retrying in an hour", "err", err)
		case n > 0:
			log.Info("usage retention: deleted old usage records", "records", n, "retention", retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Hour):
		}
	}
}
