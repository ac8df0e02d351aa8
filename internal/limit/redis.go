package limit

import (
	"cmp"
	"context"
	"crypto/rand"
	_ "embed"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
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
	//go:embed prelude.lua
	preludeSrc string
	//go:embed take.lua
	takeSrc string
	//go:embed adjust.lua
	adjustSrc string
	//go:embed replay.lua
	replaySrc string
	//go:embed presence.lua
	presenceSrc string

	takeScript     = redis.NewScript(preludeSrc + takeSrc)
	adjustScript   = redis.NewScript(preludeSrc + adjustSrc)
	replayScript   = redis.NewScript(preludeSrc + replaySrc)
	presenceScript = redis.NewScript(preludeSrc + presenceSrc)
	scripts        = []*redis.Script{takeScript, adjustScript, replayScript, presenceScript}
)

// DefaultHeartbeat is how often a replica tells Redis it is there.
const DefaultHeartbeat = 2 * time.Second

// replayChunk is how many journal entries one replay script carries.
const replayChunk = 256

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
	// Heartbeat is how often the replica marks itself present in Redis; a
	// replica is counted while its last mark is under three heartbeats old.
	Heartbeat time.Duration
	// Registry receives the limiter's metrics; nil registers none.
	Registry prometheus.Registerer
	// Logger receives the switches between Redis and local limits.
	Logger *slog.Logger
	// Local answers while Redis is down (NewLocal(nil) if nil). It also
	// keeps a copy of what this replica charged on Redis.
	Local *Local
}

// Redis is a Limiter whose state lives in Redis, so that every replica of the
// gateway enforces the same limits. Each Take or Adjust is one script call:
// one round trip, atomic on the server.
//
// Every replica marks itself present in Redis (a heartbeat) and learns how
// many replicas there are, and keeps in its Local a copy of the units it
// charged. When Redis fails, Redis switches to that Local, logs it once, and
// pings Redis in the background until it answers. While local, each replica
// enforces its share of each limit, the limit divided by the replicas it last
// saw (remainders to the first ones by id), counting what it charged itself,
// so the replicas together stay within the limit. What it admits meanwhile
// is journaled and charged to Redis, in the buckets it belongs to, before
// Redis is used again.
type Redis struct {
	rdb     redis.UniversalClient
	local   *Local
	prefix  string
	timeout time.Duration
	beat    time.Duration
	id      string
	log     *slog.Logger
	sw      *redisfallback.Switch
	metrics metrics
	seen    atomic.Pointer[presence]

	// mu orders the switches with the local path: held for reading by a
	// take answered locally, for writing by the switch.
	mu      sync.RWMutex
	journal *Local // units admitted locally in this outage, for Redis

	stop chan struct{}
	wg   sync.WaitGroup
}

// presence is the replicas this one saw last, and its rank among them.
type presence struct{ n, rank int }

// NewRedis returns a limiter on rdb, which the caller keeps owning. It loads
// the scripts (one round trip bounded by the timeout); if Redis does not
// answer it starts on local limits and probes. Call Close to stop probing.
func NewRedis(rdb redis.UniversalClient, opts RedisOptions) *Redis {
	r := &Redis{
		rdb:     rdb,
		local:   opts.Local,
		prefix:  cmp.Or(opts.Prefix, DefaultPrefix),
		timeout: cmp.Or(opts.Timeout, DefaultTimeout),
		beat:    cmp.Or(opts.Heartbeat, DefaultHeartbeat),
		id:      rand.Text(),
		log:     opts.Logger,
		stop:    make(chan struct{}),
	}
	if r.local == nil {
		r.local = NewLocal(nil)
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.journal = r.local.fork()
	r.seen.Store(&presence{n: 1})
	r.sw = redisfallback.New(redisfallback.Options{
		Name:          "rate limiter",
		FailMessage:   "redis failed, enforcing each replica's share of every limit locally until it answers",
		BackMessage:   "redis is back, limits are shared again",
		Metric:        "llmservice_ratelimit",
		FallbacksHelp: "Times the rate limiter switched from Redis to local limits because Redis failed.",
		BackendHelp:   "1 for the backend keeping rate limits now (redis or local), 0 for the other.",
		Registry:      opts.Registry,
		Logger:        r.log,
		ProbeInterval: cmp.Or(opts.ProbeInterval, DefaultProbeInterval),
		Ping:          redisfallback.Pinger(rdb, r.timeout, scripts...),
		Locker:        &r.mu,
		OnFail:        func() { r.journal = r.local.fork() },
		Recover:       r.recover,
	})
	r.metrics = metrics{fallbacks: r.sw.Fallbacks(), backend: r.sw.BackendGauge()}
	if c, ok := rdb.(*redis.Client); ok && !c.Options().ContextTimeoutEnabled {
		r.log.Warn("rate limiter: redis client has ContextTimeoutEnabled off; a hung Redis stalls requests past the limiter timeout",
			"timeout", r.timeout)
	}
	r.sw.Connect(rdb, r.timeout, scripts...)
	r.heartbeat()
	r.wg.Add(1)
	go r.beating()
	return r
}

// Backends reported by Backend.
const (
	BackendRedis = redisfallback.Redis
	BackendLocal = redisfallback.Local
)

// Backend returns where limits are being kept right now.
func (r *Redis) Backend() string { return r.sw.Backend() }

// Replicas returns how many replicas this one saw present in Redis last
// (itself included): the divisor of its share during an outage.
func (r *Redis) Replicas() int { return r.seen.Load().n }

func (r *Redis) beating() {
	defer r.wg.Done()
	t := time.NewTicker(r.beat)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.heartbeat()
		}
	}
}

// heartbeat marks this replica present and reads who else is. While Redis
// is down the last count stays: it is what the shares are made of.
func (r *Redis) heartbeat() {
	if r.sw.OnLocal() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	ids, err := presenceScript.Run(ctx, r.rdb, []string{r.prefix + "presence"}, r.id, (3 * r.beat).Milliseconds()).StringSlice()
	if err != nil {
		return // a take will notice if Redis is down
	}
	slices.Sort(ids)
	r.seen.Store(&presence{n: max(len(ids), 1), rank: max(slices.Index(ids, r.id), 0)})
}

// share is this replica's part of limit: limit/n, one more for the first
// limit%n replicas by rank, so that the parts add up to the limit.
func share(limit int64, p *presence) int64 {
	n := int64(p.n)
	s := limit / n
	if int64(p.rank) < limit%n {
		s++
	}
	return s
}

// Take implements Limiter. A Redis failure is not an error: the call is
// answered by the local limiter. Only a cancelled ctx or an invalid rule is.
func (r *Redis) Take(ctx context.Context, rules []Rule, costs []int64) ([]Status, bool, error) {
	if err := validate(rules, costs); err != nil {
		return nil, false, err
	}
	if len(rules) == 0 {
		return nil, true, nil
	}
	for {
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
		if statuses, ok, local := r.takeLocal(rules, costs); local {
			return statuses, ok, nil
		}
		// Redis came back between the two looks: take there.
	}
}

func (r *Redis) takeRedis(ctx context.Context, rules []Rule, costs []int64) ([]Status, bool, error) {
	keys := make([]string, len(rules))
	args := make([]any, 0, 4*len(rules))
	for i, rule := range rules {
		sp := spanOf(rule)
		keys[i] = r.prefix + rule.Key
		args = append(args, strconv.FormatInt(costs[i], 10), strconv.FormatInt(rule.Limit, 10),
			strconv.FormatInt(sp.g, 10), strconv.FormatInt(sp.w, 10))
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := takeScript.Run(ctx, r.rdb, keys, args...).Int64Slice()
	if err != nil {
		return nil, false, err
	}
	if len(res) != 2+3*len(rules) {
		return nil, false, fmt.Errorf("limit: take script returned %d values for %d rules", len(res), len(rules))
	}
	now, charged := res[1], res[0] == 1
	ok := true
	views := make([]view, len(rules))
	for i := range rules {
		views[i] = view{used: res[2+3*i], newest: res[3+3*i], retry: res[4+3*i]}
		if !fits(views[i].used, costs[i], rules[i].Limit) {
			ok = false
		}
	}
	if ok != charged {
		// The script and fits run the same arithmetic; if they disagree
		// the statuses cannot be trusted.
		return nil, false, fmt.Errorf("limit: take script charged=%v but rules fit=%v", charged, ok)
	}
	statuses := make([]Status, len(rules))
	for i, rule := range rules {
		statuses[i] = status(rule, costs[i], views[i], now, spanOf(rule).bucket(now), ok)
		statuses[i].receipt.onRedis = true
	}
	if ok {
		// The local copy: this replica's own charges, which its share
		// counts if Redis fails.
		var buf [stackRules]Status
		copies := buf[:0]
		if len(rules) > stackRules {
			copies = make([]Status, 0, len(rules))
		}
		copies = copies[:len(rules)]
		r.local.take(rules, costs, copies, true)
		for i := range statuses {
			statuses[i].receipt.shadow = copies[i].receipt.bucket
		}
	}
	return statuses, ok, nil
}

// takeLocal answers a take from the local limiter with this replica's
// share of each limit, and journals what it admits. It reports false,
// having done nothing, if Redis is back.
func (r *Redis) takeLocal(rules []Rule, costs []int64) ([]Status, bool, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !r.sw.OnLocal() {
		return nil, false, false
	}
	p := r.seen.Load()
	shares := make([]Rule, len(rules))
	for i, rule := range rules {
		rule.Limit = share(rule.Limit, p)
		shares[i] = rule
	}
	statuses := make([]Status, len(rules))
	ok := r.local.take(shares, costs, statuses, false)
	for i := range statuses {
		st := &statuses[i]
		st.Rule = rules[i]
		if st.TooLarge && costs[i] <= rules[i].Limit {
			// Too large for this replica's share, not for the limit: it
			// fits again once Redis is back.
			st.TooLarge, st.RetryAfter = false, DefaultProbeInterval
		}
		st.receipt.journal = r.journal
	}
	if ok {
		r.journal.take(rules, costs, make([]Status, len(rules)), true)
	}
	return statuses, ok, true
}

// Adjust implements Limiter. Like Take, it falls back to the local limiter
// when Redis fails. Units charged on Redis are given back there (and to the
// local copy); units charged during an outage, to the local limiter and the
// journal if it was not yet replayed; a refund Redis cannot take now is
// dropped, leaving the limit stricter, never looser.
func (r *Redis) Adjust(ctx context.Context, taken Status, delta int64) error {
	rule, rc := taken.Rule, taken.receipt
	if err := validateRule(rule); err != nil {
		return err
	}
	if delta == 0 || delta < 0 && !rc.charged {
		return nil
	}
	if !rc.onRedis {
		r.local.adjust(rule, rc.charged, rc.bucket, delta)
		if delta < 0 {
			r.mu.RLock()
			if rc.journal != nil && rc.journal == r.journal {
				rc.journal.adjust(rule, true, rc.bucket, delta)
			}
			r.mu.RUnlock()
			return nil
		}
	} else {
		r.local.adjust(rule, rc.charged, rc.shadow, delta)
	}
	if !r.sw.OnLocal() {
		if delta < 0 && !rc.onRedis {
			return nil
		}
		err := r.adjustRedis(ctx, rule, rc.bucket, delta)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.sw.Fail(err)
	}
	if delta > 0 {
		r.mu.RLock()
		if r.sw.OnLocal() {
			r.journal.adjust(rule, false, 0, delta)
		}
		r.mu.RUnlock()
	}
	return nil
}

func (r *Redis) adjustRedis(ctx context.Context, rule Rule, k, delta int64) error {
	sp := spanOf(rule)
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	keys := []string{r.prefix + rule.Key}
	return adjustScript.Run(ctx, r.rdb, keys, strconv.FormatInt(max(min(delta, maxUnits), -maxUnits), 10),
		strconv.FormatInt(k, 10), strconv.FormatInt(sp.g, 10), strconv.FormatInt(sp.w, 10)).Err()
}

// recover replays the journal to Redis and, once it is empty, switches
// back, still holding mu so that no local take journals past the switch.
// If Redis fails a replay, what was not sent waits for the next probe.
func (r *Redis) recover(back func()) {
	for {
		r.mu.Lock()
		j := r.journal
		if j.Len() == 0 {
			back()
			r.mu.Unlock()
			return
		}
		r.journal = r.local.fork()
		r.mu.Unlock()
		es := j.entries()
		for i := 0; i < len(es); i += replayChunk {
			if err := r.replay(es[i:min(i+replayChunk, len(es))]); err != nil {
				r.mu.Lock()
				r.journal.restore(es[i:])
				r.mu.Unlock()
				return
			}
		}
	}
}

func (r *Redis) replay(es []entry) error {
	keys := make([]string, len(es))
	args := make([]any, 0, 4*len(es))
	for i, e := range es {
		keys[i] = r.prefix + e.key
		args = append(args, strconv.FormatInt(e.n, 10), strconv.FormatInt(e.age, 10),
			strconv.FormatInt(e.g, 10), strconv.FormatInt(e.w, 10))
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	return replayScript.Run(ctx, r.rdb, keys, args...).Err()
}

// Close stops the heartbeat and the background probe. It does not close
// the Redis client.
func (r *Redis) Close() error {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	r.wg.Wait()
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
