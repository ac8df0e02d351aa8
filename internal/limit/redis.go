package limit

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/llmservice/llmservice/internal/redisfallback"
)

// Defaults of RedisOptions.
const (
	DefaultPrefix        = "llmservice:ratelimit:"
	DefaultTimeout       = 100 * time.Millisecond
	DefaultProbeInterval = time.Second
)

var (
	//go:embed take.lua
	takeSrc    string
	takeScript = redis.NewScript(takeSrc)

	//go:embed adjust.lua
	adjustSrc    string
	adjustScript = redis.NewScript(adjustSrc)
)

// RedisOptions configures a Redis limiter. The zero value is usable.
type RedisOptions struct {
	// Prefix starts every key the limiter writes. One script touches the keys
	// of all the rules of a request, so on Redis Cluster they must share a
	// slot: use a hash tag such as "{llmservice-ratelimit}:".
	Prefix string
	// Timeout bounds each call to Redis; past it the call is answered locally.
	// The client must have ContextTimeoutEnabled for it to bound socket I/O
	// (RedisClientOptions sets it).
	Timeout time.Duration
	// ProbeInterval is how often Redis is pinged while it is down.
	ProbeInterval time.Duration
	// Registry receives the limiter's metrics; nil registers none.
	Registry prometheus.Registerer
	// Logger receives the switches between Redis and local limits.
	Logger *slog.Logger
	// Local answers while Redis is down (NewLocal(nil) if nil).
	Local *Local
}

// Redis is a Limiter whose state lives in Redis, so that every replica of the
// gateway enforces the same limits. Each Take or Adjust is one script call:
// one round trip, atomic on the server.
//
// When Redis fails, Redis switches to its Local limiter, logs it once, and
// pings Redis in the background until it answers. While local, each replica
// enforces the limits on its own, so N replicas may admit up to N times a
// limit; that is the price of staying up.
type Redis struct {
	rdb     redis.UniversalClient
	local   *Local
	prefix  string
	timeout time.Duration
	log     *slog.Logger
	sw      *redisfallback.Switch
	metrics metrics
}

// NewRedis returns a limiter on rdb, which the caller keeps owning. It loads
// the scripts (one round trip bounded by the timeout); if Redis does not
// answer it starts on local limits and probes. Call Close to stop probing.
func NewRedis(rdb redis.UniversalClient, opts RedisOptions) *Redis {
	r := &Redis{
		rdb:     rdb,
		local:   opts.Local,
		prefix:  cmp.Or(opts.Prefix, DefaultPrefix),
		timeout: cmp.Or(opts.Timeout, DefaultTimeout),
		log:     opts.Logger,
	}
	if r.local == nil {
		r.local = NewLocal(nil)
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.sw = redisfallback.New(redisfallback.Options{
		Name:          "rate limiter",
		FailMessage:   "redis failed, enforcing limits locally per replica until it answers",
		BackMessage:   "redis is back, limits are shared again",
		Metric:        "llmservice_ratelimit",
		FallbacksHelp: "Times the rate limiter switched from Redis to local limits because Redis failed.",
		BackendHelp:   "1 for the backend keeping rate limits now (redis or local), 0 for the other.",
		Registry:      opts.Registry,
		Logger:        r.log,
		ProbeInterval: cmp.Or(opts.ProbeInterval, DefaultProbeInterval),
		Ping:          redisfallback.Pinger(rdb, r.timeout, takeScript, adjustScript),
	})
	r.metrics = metrics{fallbacks: r.sw.Fallbacks(), backend: r.sw.BackendGauge()}
	if c, ok := rdb.(*redis.Client); ok && !c.Options().ContextTimeoutEnabled {
		r.log.Warn("rate limiter: redis client has ContextTimeoutEnabled off; a hung Redis stalls requests past the limiter timeout",
			"timeout", r.timeout)
	}
	r.sw.Connect(rdb, r.timeout, takeScript, adjustScript)
	return r
}

// Backends reported by Backend.
const (
	BackendRedis = redisfallback.Redis
	BackendLocal = redisfallback.Local
)

// Backend returns where limits are being kept right now.
func (r *Redis) Backend() string { return r.sw.Backend() }

// Take implements Limiter. A Redis failure is not an error: the call is
// answered by the local limiter. Only a cancelled ctx or an invalid rule is.
func (r *Redis) Take(ctx context.Context, rules []Rule, costs []int64) ([]Status, bool, error) {
	if err := validate(rules, costs); err != nil {
		return nil, false, err
	}
	if len(rules) == 0 {
		return nil, true, nil
	}
	if !r.sw.OnLocal() {
		statuses, ok, err := r.takeRedis(ctx, rules, costs)
		if err == nil {
			return statuses, ok, nil
		}
		if ctx.Err() != nil { // the caller gave up; Redis is not to blame
			return nil, false, ctx.Err()
		}
		r.sw.Fail(err)
	}
	return r.local.Take(ctx, rules, costs)
}

func (r *Redis) takeRedis(ctx context.Context, rules []Rule, costs []int64) ([]Status, bool, error) {
	cells := make([]cell, len(rules))
	keys := make([]string, len(rules))
	args := make([]any, 0, 2*len(rules))
	for i, rule := range rules {
		cells[i] = newCell(rule, costs[i])
		keys[i] = r.prefix + rule.Key
		inc := cells[i].inc
		if cells[i].tooLarge {
			inc = -1
		}
		args = append(args, strconv.FormatInt(inc, 10), strconv.FormatInt(cells[i].window, 10))
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := takeScript.Run(ctx, r.rdb, keys, args...).Int64Slice()
	if err != nil {
		return nil, false, err
	}
	if len(res) != len(rules)+1 {
		return nil, false, fmt.Errorf("limit: take script returned %d values for %d rules", len(res), len(rules))
	}
	for i := range cells {
		cells[i].backlog = res[i+1]
	}
	statuses := make([]Status, len(rules))
	ok := decide(statuses, rules, cells)
	if charged := res[0] == 1; ok != charged {
		// The script and decide run the same arithmetic; if they disagree
		// the statuses cannot be trusted.
		return nil, false, fmt.Errorf("limit: take script charged=%v but rules fit=%v", charged, ok)
	}
	return statuses, ok, nil
}

// Adjust implements Limiter. Like Take, it falls back to the local limiter
// when Redis fails.
func (r *Redis) Adjust(ctx context.Context, rule Rule, delta int64) error {
	if err := validateRule(rule); err != nil {
		return err
	}
	if !r.sw.OnLocal() {
		err := r.adjustRedis(ctx, rule, delta)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.sw.Fail(err)
	}
	return r.local.Adjust(ctx, rule, delta)
}

func (r *Redis) adjustRedis(ctx context.Context, rule Rule, delta int64) error {
	change := change(rule, delta)
	if change == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	keys := []string{r.prefix + rule.Key}
	return adjustScript.Run(ctx, r.rdb, keys,
		strconv.FormatInt(change, 10), strconv.FormatInt(maxBacklog, 10)).Err()
}

// Close stops the background probe. It does not close the Redis client.
func (r *Redis) Close() error {
	r.sw.Close()
	return nil
}

// RedisClientOptions parses a redis:// URL into client options suited to the
// limiter: context deadlines bound socket I/O (so the per-call timeout
// holds), and no automatic retries, because a retried script whose reply was
// lost would charge twice. Timeouts set in the URL are kept.
func RedisClientOptions(url string) (*redis.Options, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	o.ContextTimeoutEnabled = true
	if o.MaxRetries == 0 {
		o.MaxRetries = -1 // go-redis: -1 disables retries, 0 means the default 3
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = time.Second
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = time.Second
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = time.Second
	}
	return o, nil
}
