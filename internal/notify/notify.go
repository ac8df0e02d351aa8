// Package notify carries cache invalidations between gateway replicas. A
// replica that changes a key, a team, the catalog or a model group publishes
// one short message; every replica (itself included) drops what it cached.
//
// Messages are best effort: one lost while a subscription reconnects is
// covered by Resync, which a subscriber receives after every (re)connect and
// after which nothing cached may be trusted without a reload (the gateway
// keeps the copies only to serve them while the database is down), and by
// the gateway's periodic refresh.
package notify

import (
	"context"
	"time"

	"github.com/llmservice/llmservice/internal/outage"
)

// Resync is delivered to a subscriber when it may have missed messages: on
// first connect and after every reconnect.
const Resync = "*"

// Channel is the Redis channel and PostgreSQL NOTIFY channel used.
const Channel = "llmservice_invalidate"

// Bus publishes invalidations and delivers everyone's to a handler.
type Bus interface {
	Publish(ctx context.Context, msg string) error
	// Subscribe calls fn for every message until ctx ends, reconnecting
	// after errors. It returns at once; fn runs on one goroutine.
	Subscribe(ctx context.Context, fn func(msg string))
}

// Local is the bus of a single process: publishing calls the subscribers
// directly.
type Local struct{ fns []func(string) }

func (l *Local) Publish(_ context.Context, msg string) error {
	for _, fn := range l.fns {
		fn(msg)
	}
	return nil
}

func (l *Local) Subscribe(_ context.Context, fn func(string)) { l.fns = append(l.fns, fn) }

// retry runs connect-and-listen loops until ctx ends, backing off between
// failures from 100 ms up to 5 s. run calls connected once it listens. A
// lost connection is logged once, when it is lost, and once when it is
// back (bus), not once per attempt to reconnect.
func retry(ctx context.Context, bus *outage.Tracker, run func(ctx context.Context, connected func()) error) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := run(ctx, func() { bus.OK() })
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		bus.Fail(err, "reconnecting with backoff up to 5s; until then other replicas' changes apply here at the cache refresh")
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
