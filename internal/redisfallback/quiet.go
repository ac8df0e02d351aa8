package redisfallback

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/llmservice/llmservice/internal/outage"
)

// Quiet makes rdb's connection failures one structured log line when
// Redis stops answering and one when it answers again (with the outage
// metrics of m, which may be nil), instead of go-redis's own unstructured
// "connection pool: failed to dial" line on stderr at every attempt (every
// second while a probe pings). It installs a dial hook on rdb and routes
// go-redis's process-wide logger to log: dial failures at debug level (the
// tracker has reported the outage), anything else at warning level.
func Quiet(rdb *redis.Client, log *slog.Logger, m *outage.Metrics) {
	if log == nil {
		log = slog.Default()
	}
	redis.SetLogger(clientLog{log})
	rdb.AddHook(dialHook{m.Tracker("redis client", "redis", log)})
}

// clientLog is go-redis's logger, as structured lines.
type clientLog struct{ log *slog.Logger }

func (c clientLog) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	level := slog.LevelWarn
	if strings.Contains(msg, "failed to dial") {
		level = slog.LevelDebug
	}
	c.log.Log(ctx, level, "redis client", "detail", msg)
}

// dialHook tells the tracker how each connection attempt went.
type dialHook struct{ t *outage.Tracker }

func (h dialHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if err != nil {
			if ctx.Err() == nil {
				h.t.Fail(err, "limits and budgets are kept per replica until it answers")
			}
			return nil, err
		}
		h.t.OK()
		return conn, nil
	}
}

func (h dialHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h dialHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
