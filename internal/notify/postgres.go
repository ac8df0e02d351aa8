package notify

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/llmservice/llmservice/internal/outage"
)

// Postgres is a bus over LISTEN/NOTIFY. A listener holds one connection of
// the pool for good.
type Postgres struct {
	pool    *pgxpool.Pool
	conn    *outage.Tracker
	channel string
}

// NewPostgres returns a bus on the pool's database. Channels are per
// database, not per schema, so the channel is named after the schema the
// stores live in: installations sharing a database in separate schemas
// (and parallel tests) do not hear each other. m, when set, receives the
// metrics of the listening connection's outages.
func NewPostgres(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, m *outage.Metrics) (*Postgres, error) {
	if log == nil {
		log = slog.Default()
	}
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("invalidation bus: %w", err)
	}
	channel := Channel
	if schema != "public" {
		channel += "_" + schema
	}
	return &Postgres{pool: pool, conn: m.Tracker("invalidation bus", "postgres", log), channel: channel}, nil
}

func (p *Postgres) Publish(ctx context.Context, msg string) error {
	_, err := p.pool.Exec(ctx, "SELECT pg_notify($1, $2)", p.channel, msg)
	return err
}

func (p *Postgres) Subscribe(ctx context.Context, fn func(string)) {
	go retry(ctx, p.conn, func(ctx context.Context, connected func()) error {
		pc, err := p.pool.Acquire(ctx)
		if err != nil {
			return err
		}
		// The connection will have heard LISTEN: it must not go back to the
		// pool, where a query could be handed notifications it never asked for.
		conn := pc.Hijack()
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{p.channel}.Sanitize()); err != nil {
			return err
		}
		connected()
		fn(Resync)
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				return err
			}
			fn(n.Payload)
		}
	})
}

var _ Bus = (*Postgres)(nil)
