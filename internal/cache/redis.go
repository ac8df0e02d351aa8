package cache

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps entries in Redis, shared by every replica. Each operation is
// bounded by a short timeout: a Redis that does not answer makes Get a miss
// and Set a no-op, never a slow call.
type Redis struct {
	c       redis.UniversalClient
	prefix  string
	timeout time.Duration
}

// NewRedis returns a store on c whose keys begin with prefix
// ("llmservice:cache:" when empty). timeout bounds each operation (250ms
// when zero).
func NewRedis(c redis.UniversalClient, prefix string, timeout time.Duration) *Redis {
	if prefix == "" {
		prefix = "llmservice:cache:"
	}
	if timeout <= 0 {
		timeout = 250 * time.Millisecond
	}
	return &Redis{c: c, prefix: prefix, timeout: timeout}
}

// Get returns the entry under key.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
	defer cancel()
	b, err := r.c.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// Set stores val under key for ttl.
func (r *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
	defer cancel()
	return r.c.Set(ctx, r.prefix+key, val, ttl).Err()
}

// Purge deletes one team's entries, or all when team is "", by scanning
// their keys.
func (r *Redis) Purge(ctx context.Context, team string) (int, error) {
	pattern := r.prefix + "*"
	if team != "" {
		pattern = r.prefix + escapeGlob(team) + ":*"
	}
	n := 0
	iter := r.c.Scan(ctx, 0, pattern, 500).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		d, err := r.c.Del(ctx, batch...).Result()
		n += int(d)
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// escapeGlob escapes Redis glob characters in s.
func escapeGlob(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}
