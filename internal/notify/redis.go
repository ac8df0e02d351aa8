package notify

import (
	"context"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/llmservice/llmservice/internal/outage"
)

// Redis is a bus over Redis pub/sub.
type Redis struct {
	rdb     redis.UniversalClient
	channel string
	conn    *outage.Tracker
}

// NewRedis returns a bus on channel prefix+Channel. m, when set, receives
// the metrics of the subscription's outages.
func NewRedis(rdb redis.UniversalClient, prefix string, log *slog.Logger, m *outage.Metrics) *Redis {
	return &Redis{rdb: rdb, channel: prefix + Channel, conn: m.Tracker("invalidation bus", "redis", log)}
}

func (r *Redis) Publish(ctx context.Context, msg string) error {
	return r.rdb.Publish(ctx, r.channel, msg).Err()
}

func (r *Redis) Subscribe(ctx context.Context, fn func(string)) {
	go retry(ctx, r.conn, func(ctx context.Context, connected func()) error {
		sub := r.rdb.Subscribe(ctx, r.channel)
		defer sub.Close()
		// Receive confirms the subscription: only then can nothing published
		// from here on be missed, and the resync covers what came before.
		if _, err := sub.Receive(ctx); err != nil {
			return err
		}
		connected()
		fn(Resync)
		for {
			m, err := sub.ReceiveMessage(ctx)
			if err != nil {
				return err
			}
			fn(m.Payload)
		}
	})
}

var _ Bus = (*Redis)(nil)
