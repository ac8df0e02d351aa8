package notify

import (
	"context"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// Redis is a bus over Redis pub/sub.
type Redis struct {
	rdb     redis.UniversalClient
	channel string
	log     *slog.Logger
}

// NewRedis returns a bus on channel prefix+Channel.
func NewRedis(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Redis {
	if log == nil {
		log = slog.Default()
	}
	return &Redis{rdb: rdb, channel: prefix + Channel, log: log}
}

func (r *Redis) Publish(ctx context.Context, msg string) error {
	return r.rdb.Publish(ctx, r.channel, msg).Err()
}

func (r *Redis) Subscribe(ctx context.Context, fn func(string)) {
	go retry(ctx, r.log, "redis", func(ctx context.Context) error {
		sub := r.rdb.Subscribe(ctx, r.channel)
		defer sub.Close()
		// Receive confirms the subscription: only then can nothing published
		// from here on be missed, and the resync covers what came before.
		if _, err := sub.Receive(ctx); err != nil {
			return err
		}
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
