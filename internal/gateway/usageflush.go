package gateway

import (
	"context"
	"time"
)

// UsageFlushWait bounds how long a read of usage (admin totals, a tenant's
// stats or logs) waits for the meter to write the records it still
// buffers. Within it the answer includes every call made so far; past it
// the answer is built from what is written and says so, rather than
// waiting for a database that may be down for minutes.
const UsageFlushWait = 1500 * time.Millisecond

// FlushUsage asks flush (the meter's Flush) to write what it buffers and
// waits for it at most UsageFlushWait. It reports whether the read that
// follows may miss records: the flush did not finish in time, or failed.
// A nil flush has nothing buffered.
func FlushUsage(ctx context.Context, flush func(context.Context) error) (partial bool) {
	if flush == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, UsageFlushWait)
	defer cancel()
	return flush(ctx) != nil
}
