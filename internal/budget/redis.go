package budget

import (
	"cmp"
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/redisfallback"
)

// Defaults of RedisOptions.
const (
	DefaultPrefix         = "llmservice:"
	DefaultTimeout        = 100 * time.Millisecond
	DefaultProbeInterval  = time.Second
	DefaultReservationTTL = 15 * time.Minute
)

// maxBacklog bounds the settles kept for Redis while it is down; past it
// they are dropped (their cost is in the ledger, read at the next period).
const maxBacklog = 100_000

// idleTTL is how long a budget without a period stays in Redis unused; it is
// then loaded from the ledger again.
const idleTTL = 24 * time.Hour

var (
	//go:embed prelude.lua
	preludeSrc string
	//go:embed reserve.lua
	reserveSrc string
	//go:embed settle.lua
	settleSrc string
	//go:embed load.lua
	loadSrc string
	//go:embed read.lua
	readSrc string
	//go:embed forget.lua
	forgetSrc string

	reserveScript = redis.NewScript(preludeSrc + reserveSrc)
	settleScript  = redis.NewScript(preludeSrc + settleSrc)
	loadScript    = redis.NewScript(preludeSrc + loadSrc)
	readScript    = redis.NewScript(preludeSrc + readSrc)
	forgetScript  = redis.NewScript(preludeSrc + forgetSrc)
	scripts       = []*redis.Script{reserveScript, settleScript, loadScript, readScript, forgetScript}
)

// RedisOptions configures a Redis accountant. The zero value is usable.
type RedisOptions struct {
	// Prefix starts every key. A reserve touches the keys of a team and of
	// a key in one script, so on Redis Cluster they must share a slot: use a
	// hash tag such as "{llmservice-budget}:".
	Prefix string
	// Timeout bounds each call to Redis; past it Redis counts as down. The
	// client must have ContextTimeoutEnabled for it to bound socket I/O
	// (limit.RedisClientOptions sets it, and turns retries off).
	Timeout time.Duration
	// ProbeInterval is how often Redis is pinged while it is down.
	ProbeInterval time.Duration
	// ReservationTTL is how long a reservation holds its money unsettled
	// before any replica may release it (its replica is presumed dead). A
	// call that outlives it still books its cost when it settles, but
	// meanwhile others may spend the money it held: make it exceed all but
	// the longest calls.
	ReservationTTL time.Duration
	// Registry receives the accountant's metrics; nil registers none.
	Registry prometheus.Registerer
	// Logger receives the switches between Redis and local budgets.
	Logger *slog.Logger
	// Now is the clock that picks budget periods (time.Now if nil).
	// Reservation expiry uses Redis's clock, shared by every replica.
	Now func() time.Time
}

// Redis is an accountant whose figures live in Redis, so that every replica
// of the gateway spends against the same budgets. A reserve checks and holds
// every scope in one script, atomic on the server; a settle books the true
// cost in another, once per reservation.
//
// When Redis fails, Redis switches to a local Accountant (loaded afresh from
// the ledger), logs it once, and pings Redis until it answers. While local,
// each replica keeps budgets on its own, so N replicas may spend up to N
// times what was left; that is the price of staying up. Costs booked
// meanwhile, and settles Redis did not take, are sent to Redis before it is
// used again, so the shared figures do not miss them.
type Redis struct {
	rdb     redis.UniversalClient
	source  SpendSource
	prefix  string
	timeout time.Duration
	ttl     time.Duration
	now     func() time.Time
	log     *slog.Logger
	sw      *redisfallback.Switch
	metrics metrics

	mu      sync.Mutex // guards local and backlog; the switch holds it to change backend
	local   *Accountant
	backlog []settleOp // settles for Redis, kept while it is down
}

// NewRedis returns an accountant on rdb, which the caller keeps owning,
// reading initial spend from source. It loads the scripts (one round trip
// bounded by the timeout); if Redis does not answer it starts local and
// probes. Call Close to stop probing.
func NewRedis(rdb redis.UniversalClient, source SpendSource, opts RedisOptions) *Redis {
	r := &Redis{
		rdb:     rdb,
		source:  source,
		prefix:  cmp.Or(opts.Prefix, DefaultPrefix),
		timeout: cmp.Or(opts.Timeout, DefaultTimeout),
		ttl:     cmp.Or(opts.ReservationTTL, DefaultReservationTTL),
		now:     opts.Now,
		log:     cmp.Or(opts.Logger, slog.Default()),
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.local = New(source, r.now)
	r.sw = redisfallback.New(redisfallback.Options{
		Name:          "budgets",
		FailMessage:   "redis failed, keeping budgets locally per replica until it answers",
		BackMessage:   "redis is back, budgets are shared again",
		Metric:        "llmservice_budget",
		FallbacksHelp: "Times budgets switched from Redis to local figures per replica because Redis failed.",
		BackendHelp:   "1 for the backend keeping budgets now (redis or local), 0 for the other.",
		Registry:      opts.Registry,
		Logger:        r.log,
		ProbeInterval: cmp.Or(opts.ProbeInterval, DefaultProbeInterval),
		Ping:          redisfallback.Pinger(rdb, r.timeout, scripts...),
		Locker:        &r.mu,
		// Fresh, so that it starts from the ledger rather than from figures
		// left over from an earlier outage.
		OnFail:  func() { r.local = New(r.source, r.now) },
		Recover: r.flush,
	})
	r.metrics = newMetrics(r.sw, opts.Registry, r.log)
	if c, ok := rdb.(*redis.Client); ok && !c.Options().ContextTimeoutEnabled {
		r.log.Warn("budgets: redis client has ContextTimeoutEnabled off; a hung Redis stalls requests past the budget timeout",
			"timeout", r.timeout)
	}
	r.sw.Connect(rdb, r.timeout, scripts...)
	return r
}

// Backends reported by Backend.
const (
	BackendRedis = redisfallback.Redis
	BackendLocal = redisfallback.Local
)

// Backend returns where budgets are being kept right now.
func (r *Redis) Backend() string { return r.sw.Backend() }

// redisFailure is a failure of Redis itself (down, slow, a script error), as
// opposed to a refusal or a ledger error: only it switches to local.
type redisFailure struct{ err error }

func (e redisFailure) Error() string { return "budget: redis: " + e.err.Error() }
func (e redisFailure) Unwrap() error { return e.err }

func isRedisFailure(err error) bool {
	var rf redisFailure
	return errors.As(err, &rf)
}

// run runs a script within the timeout.
func (r *Redis) run(ctx context.Context, s *redis.Script, keys []string, args ...any) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	v, err := s.Run(ctx, r.rdb, keys, args...).Result()
	if err != nil {
		return nil, redisFailure{err}
	}
	return v, nil
}

// keys appends the keys of a scope in the period of now: its hash, held and
// released (see prelude.lua). Periods are named by their start, so that a
// scope whose period changes from monthly to daily on the 1st rightly keeps
// the spend of that day.
func (r *Redis) keys(dst []string, key, period string, now time.Time) []string {
	var start int64
	if s := PeriodStart(period, now); !s.IsZero() {
		start = s.Unix()
	}
	hash := r.prefix + "budget:{" + key + "}:" + strconv.FormatInt(start, 10)
	return append(dst, hash, hash+":held", hash+":released")
}

// keepUntil is when scope s's keys may leave Redis, in Unix ms: once its
// period is over and its last reservations have expired.
func (r *Redis) keepUntil(s Scope, now time.Time) string {
	end := PeriodEnd(s.Period, now)
	if end.IsZero() {
		end = now.Add(max(idleTTL, 2*r.ttl))
	}
	return strconv.FormatInt(end.Add(r.ttl).UnixMilli(), 10)
}

// Reserve implements the budget check of Accountant.Reserve on Redis. A
// Redis failure is not an error: the local accountant answers instead.
func (r *Redis) Reserve(ctx context.Context, scopes []Scope, amount llmservice.Nanos) (*Reservation, error) {
	amount = max(amount, 0)
	scopes = distinct(scopes)
	if !r.sw.OnLocal() {
		res, sent, err := r.reserveRedis(ctx, scopes, amount)
		if !isRedisFailure(err) {
			return res, err
		}
		if ctx.Err() != nil { // the caller gave up; Redis is not to blame
			r.cancel(sent)
			return nil, ctx.Err()
		}
		r.sw.Fail(err)
		r.cancel(sent)
	}
	return r.reserveLocal(ctx, scopes, amount)
}

// distinct drops scopes sharing a key with an earlier one, keeping the
// lowest limit: one reservation per key is what the scripts can track.
func distinct(scopes []Scope) []Scope {
	out := make([]Scope, 0, len(scopes))
	for _, s := range scopes {
		if i := slices.IndexFunc(out, func(o Scope) bool { return o.Key == s.Key }); i >= 0 {
			out[i].Limit = min(out[i].Limit, s.Limit)
			continue
		}
		out = append(out, s)
	}
	return out
}

// cancel releases a reservation whose reserve failed after it was sent:
// Redis may have run it, or may run it when it thaws, holding money for a
// call answered otherwise until the reservation TTL. The cancel goes now if
// Redis answers, else when it is back, before anything else is sent.
func (r *Redis) cancel(sent *settleOp) {
	if sent != nil {
		op := *sent
		op.cancel = true
		r.book(op)
	}
}

// reserveRedis returns, with a Redis failure, the reservation that may be
// held if the failure came after a reserve was sent (nil otherwise).
func (r *Redis) reserveRedis(ctx context.Context, scopes []Scope, amount llmservice.Nanos) (*Reservation, *settleOp, error) {
	now := r.now()
	id, amt := rand.Text(), strconv.FormatInt(int64(amount), 10)
	op := settleOp{member: id + ":" + amt}
	args := []any{amt, id, r.ttl.Milliseconds()}
	for _, s := range scopes {
		op.keys = r.keys(op.keys, s.Key, s.Period, now)
		args = append(args, strconv.FormatInt(int64(s.Limit), 10), r.keepUntil(s, now))
	}
	// A scope new to Redis is loaded and the reserve sent again; a third
	// miss means the keys vanish as they are written (Forget racing, or
	// Redis evicting them).
	for range 3 {
		v, err := r.run(ctx, reserveScript, op.keys, args...)
		if err != nil {
			return nil, &op, err
		}
		reply, _ := v.([]any)
		code, _ := at(reply, 0).(int64)
		switch {
		case code == 2: // only a reserve that ran after its cancel
			return nil, nil, redisFailure{errors.New("reserve script found its reservation cancelled")}
		case code == 1:
			return &Reservation{settle: func(actual llmservice.Nanos) { r.book(op.with(actual)) }}, nil, nil
		case code == 0 && len(reply) == 4:
			return nil, nil, r.refusal(scopes, reply, now)
		case code == -1 && len(reply) > 1:
			missing, err := pick(scopes, reply[1:])
			if err != nil {
				return nil, nil, err
			}
			if err := r.load(ctx, missing, now); err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, redisFailure{fmt.Errorf("reserve script returned %v", v)}
		}
	}
	return nil, nil, fmt.Errorf("budget: scopes %v not kept in redis after loading them", op.keys)
}

func at(reply []any, i int) any {
	if i < len(reply) {
		return reply[i]
	}
	return nil
}

// refusal turns the reserve script's {0, i, spent, reserved} into the
// BudgetExceeded error of scope i.
func (r *Redis) refusal(scopes []Scope, reply []any, now time.Time) error {
	i, _ := reply[1].(int64)
	spent, err1 := nanos(reply[2])
	reserved, err2 := nanos(reply[3])
	if i < 1 || int(i) > len(scopes) || err1 != nil || err2 != nil {
		return redisFailure{fmt.Errorf("reserve script returned %v", reply)}
	}
	return exceeded(scopes[i-1], spent, reserved, now)
}

func nanos(v any) (llmservice.Nanos, error) {
	switch v := v.(type) {
	case int64:
		return llmservice.Nanos(v), nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return llmservice.Nanos(n), err
	}
	return 0, fmt.Errorf("not an amount: %v", v)
}

// pick returns the scopes the reserve script named (1-based).
func pick(scopes []Scope, idx []any) ([]Scope, error) {
	out := make([]Scope, 0, len(idx))
	for _, v := range idx {
		i, _ := v.(int64)
		if i < 1 || int(i) > len(scopes) {
			return nil, redisFailure{fmt.Errorf("reserve script named scope %v of %d", v, len(scopes))}
		}
		out = append(out, scopes[i-1])
	}
	return out, nil
}

// load reads the scopes' spend from the ledger and sets it in Redis where
// no replica did first.
func (r *Redis) load(ctx context.Context, scopes []Scope, now time.Time) error {
	var keys []string
	args := []any{r.ttl.Milliseconds()}
	for _, s := range scopes {
		spent, err := r.source(ctx, s.TeamID, s.KeyID, PeriodStart(s.Period, now))
		if err != nil {
			return fmt.Errorf("load spend of %s: %w", s.Key, err)
		}
		keys = r.keys(keys, s.Key, s.Period, now)
		args = append(args, strconv.FormatInt(int64(spent), 10), r.keepUntil(s, now))
	}
	_, err := r.run(ctx, loadScript, keys, args...)
	return err
}

// reserveLocal reserves on the local accountant. The cost it settles is
// also booked to Redis, now or when it is back.
func (r *Redis) reserveLocal(ctx context.Context, scopes []Scope, amount llmservice.Nanos) (*Reservation, error) {
	r.mu.Lock()
	local := r.local
	r.mu.Unlock()
	res, err := local.Reserve(ctx, scopes, amount)
	if err != nil {
		return nil, err
	}
	now := r.now()
	var op settleOp
	for _, s := range scopes {
		op.keys = r.keys(op.keys, s.Key, s.Period, now)
	}
	return &Reservation{settle: func(actual llmservice.Nanos) {
		res.Settle(actual)
		if actual > 0 {
			r.book(op.with(actual))
		}
	}}, nil
}

// settleOp is one run of the settle script: release member (if any) from
// keys and book actual, or cancel member.
type settleOp struct {
	keys   []string
	member string // "" for a cost admitted locally, held by no reservation in Redis
	actual llmservice.Nanos
	cancel bool // release member and book nothing, even if it is reserved later
}

func (op settleOp) with(actual llmservice.Nanos) settleOp {
	op.actual = actual
	return op
}

func (r *Redis) settle(ctx context.Context, op settleOp) error {
	cancel := "0"
	if op.cancel {
		cancel = "1"
	}
	_, err := r.run(ctx, settleScript, op.keys, op.member, strconv.FormatInt(int64(op.actual), 10), cancel)
	return err
}

// book settles op on Redis, or keeps it for when Redis is back. A settle
// with a member is safe to send twice (the second finds it neither held nor
// released); one without is not, so a reply lost at the wrong moment may
// book a local cost twice: too much spend rather than too little.
func (r *Redis) book(op settleOp) {
	for {
		if !r.sw.OnLocal() {
			err := r.settle(context.Background(), op)
			if err == nil {
				return
			}
			r.sw.Fail(err)
		}
		r.mu.Lock()
		if r.sw.OnLocal() { // the probe switches back under mu, after emptying the backlog
			r.keep(op)
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
	}
}

// keep queues op for the probe; r.mu is held.
func (r *Redis) keep(op settleOp) {
	if len(r.backlog) >= maxBacklog {
		r.metrics.dropped.Inc()
		return
	}
	r.backlog = append(r.backlog, op)
}

// Available implements Accountant.Available on Redis.
func (r *Redis) Available(ctx context.Context, s Scope) (llmservice.Nanos, error) {
	st, err := r.Status(ctx, s)
	if err != nil {
		return 0, err
	}
	return max(s.Limit-st.Spent-st.Reserved, 0), nil
}

// Status implements Accountant.Status on Redis.
func (r *Redis) Status(ctx context.Context, s Scope) (Status, error) {
	if !r.sw.OnLocal() {
		st, err := r.statusRedis(ctx, s)
		if !isRedisFailure(err) {
			return st, err
		}
		if ctx.Err() != nil {
			return Status{}, ctx.Err()
		}
		r.sw.Fail(err)
	}
	r.mu.Lock()
	local := r.local
	r.mu.Unlock()
	return local.Status(ctx, s)
}

func (r *Redis) statusRedis(ctx context.Context, s Scope) (Status, error) {
	now := r.now()
	keys := r.keys(nil, s.Key, s.Period, now)
	st := Status{PeriodStart: PeriodStart(s.Period, now), PeriodEnd: PeriodEnd(s.Period, now)}
	for range 3 {
		v, err := r.run(ctx, readScript, keys)
		if err != nil {
			return Status{}, err
		}
		reply, _ := v.([]any)
		if len(reply) == 0 {
			if err := r.load(ctx, []Scope{s}, now); err != nil {
				return Status{}, err
			}
			continue
		}
		spent, err1 := nanos(at(reply, 0))
		reserved, err2 := nanos(at(reply, 1))
		if len(reply) != 2 || err1 != nil || err2 != nil {
			return Status{}, redisFailure{fmt.Errorf("read script returned %v", v)}
		}
		st.Spent, st.Reserved = spent, reserved
		return st, nil
	}
	return Status{}, fmt.Errorf("budget: scope %s not kept in redis after loading it", s.Key)
}

// Forget implements Accountant.Forget: the scope's figures of the current
// period of each kind are dropped from Redis where nothing is held, and
// loaded from the ledger by the next call of any replica.
func (r *Redis) Forget(key string) {
	r.mu.Lock()
	local := r.local
	r.mu.Unlock()
	local.Forget(key)
	if r.sw.OnLocal() {
		return
	}
	now := r.now()
	var keys []string
	for _, period := range []string{"", "daily", "weekly", "monthly"} {
		if k := r.keys(nil, key, period, now); !slices.Contains(keys, k[0]) {
			keys = append(keys, k...)
		}
	}
	if _, err := r.run(context.Background(), forgetScript, keys); err != nil {
		r.sw.Fail(err)
	}
}

// Close stops the background probe. It does not close the Redis client.
// Settles still kept for Redis are dropped.
func (r *Redis) Close() error {
	r.sw.Close()
	return nil
}

// flush sends the kept settles to Redis and, once none is left, switches
// back to Redis, still holding mu so that book keeps none past the switch.
// Settles kept meanwhile are sent in the next round; if Redis fails one, the
// rest wait for the next probe.
func (r *Redis) flush(back func()) {
	for {
		r.mu.Lock()
		ops := r.backlog
		r.backlog = nil
		if len(ops) == 0 {
			back()
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		for i, op := range ops {
			if err := r.settle(context.Background(), op); err != nil {
				r.mu.Lock()
				r.backlog = append(slices.Clone(ops[i:]), r.backlog...)
				r.mu.Unlock()
				return
			}
		}
	}
}
