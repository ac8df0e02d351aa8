package budget

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/limit"
	"github.com/llmservice/llmservice/internal/redisfallback/redistest"
)

// testTimeout replaces the 100ms production timeout in tests that must not
// fall back: under -race on a busy machine a call may take longer.
const testTimeout = 5 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// redisURL returns the test server's URL or skips the test.
func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("LLMSERVICE_TEST_REDIS_URL")
	if u == "" {
		t.Skip("LLMSERVICE_TEST_REDIS_URL is unset; set it (e.g. redis://127.0.0.1:6379/0) to run the Redis budget tests")
	}
	return u
}

// newClient returns a client configured like production, closed when the
// test ends.
func newClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	o, err := limit.RedisClientOptions(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// testPrefix returns a key prefix of the test's own and deletes its keys
// when the test ends.
func testPrefix(t *testing.T, url string) string {
	t.Helper()
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	prefix := fmt.Sprintf("llmservice-test:budget:%s:%d:", name, time.Now().UnixNano())
	c := newClient(t, url)
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := c.Keys(ctx, prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			err = c.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("clean up %s: %v", prefix, err)
		}
	})
	return prefix
}

// newTestRedis returns a Redis accountant that does not time out under
// -race, closed when the test ends.
func newTestRedis(t *testing.T, rdb redis.UniversalClient, source SpendSource, opts RedisOptions) *Redis {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = testTimeout
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	r := NewRedis(rdb, source, opts)
	t.Cleanup(func() { r.Close() })
	return r
}

// Three replicas share one budget that covers exactly 20 calls; 200 calls
// race for it.
func TestRedisReplicasShareBudget(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t, url)
	ctx := context.Background()
	const cost = 1_000_000 // $0.001
	var replicas []*Redis
	for range 3 {
		replicas = append(replicas, newTestRedis(t, newClient(t, url), fixedSource(0), RedisOptions{Prefix: prefix}))
	}
	team := Scope{Key: "team:t", Label: "team 't'", Limit: 20 * cost, Period: "monthly", TeamID: "t"}
	key := Scope{Key: "key:k", Label: "key k", Limit: 1000 * cost, TeamID: "t", KeyID: "k"}
	var wg sync.WaitGroup
	var admitted, refused atomic.Int64
	for i := range 200 {
		a := replicas[i%len(replicas)]
		wg.Go(func() {
			r, err := a.Reserve(ctx, []Scope{team, key}, cost)
			if llmservice.ErrorKind(err) == llmservice.BudgetExceeded {
				refused.Add(1)
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			admitted.Add(1)
			r.Settle(cost)
		})
	}
	wg.Wait()
	if admitted.Load() != 20 || refused.Load() != 180 {
		t.Errorf("admitted %d, refused %d; want 20 and 180", admitted.Load(), refused.Load())
	}
	for i, a := range replicas {
		if a.Backend() != BackendRedis {
			t.Errorf("replica %d fell back to local budgets", i)
		}
		for _, s := range []Scope{team, key} {
			st, err := a.Status(ctx, s)
			if err != nil || st.Spent != 20*cost || st.Reserved != 0 {
				t.Errorf("replica %d, %s: status %+v, %v; want spent %d, nothing reserved", i, s.Key, st, err, 20*cost)
			}
		}
	}
}

func TestRedisExpiredReservationIsReleased(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t, url)
	ctx := context.Background()
	ttl := 200 * time.Millisecond
	dead := newTestRedis(t, newClient(t, url), fixedSource(0), RedisOptions{Prefix: prefix, ReservationTTL: ttl})
	alive := newTestRedis(t, newClient(t, url), fixedSource(0), RedisOptions{Prefix: prefix, ReservationTTL: ttl})
	s := Scope{Key: "team:t", Limit: 1000, Period: "daily", TeamID: "t"}
	lost, err := dead.Reserve(ctx, []Scope{s}, 1000) // its replica dies before settling
	if err != nil {
		t.Fatal(err)
	}
	keys := dead.keys(nil, s.Key, s.Period, time.Now())
	held, err := newClient(t, url).ZRange(ctx, keys[1], 0, -1).Result()
	if err != nil || len(held) != 1 {
		t.Fatalf("held = %v, %v; want the one reservation", held, err)
	}
	if _, err := alive.Reserve(ctx, []Scope{s}, 1); llmservice.ErrorKind(err) != llmservice.BudgetExceeded {
		t.Fatalf("reserve while the budget is held: err = %v; want BudgetExceeded", err)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	if got, err := alive.Available(ctx, s); got != 1000 || err != nil {
		t.Errorf("available = %d, %v after the reservation expired; want 1000", got, err)
	}
	r, err := alive.Reserve(ctx, []Scope{s}, 600)
	if err != nil {
		t.Fatalf("reserve after the reservation expired: %v", err)
	}
	// A settle after expiry still books the cost, once: the call ran.
	lost.Settle(700)
	r.Settle(500)
	if st, err := alive.Status(ctx, s); err != nil || st.Spent != 1200 || st.Reserved != 0 {
		t.Errorf("status = %+v, %v; want spent 700+500, nothing reserved", st, err)
	}
	// Sent again (as after a lost reply), it books nothing more.
	if err := dead.settle(ctx, settleOp{keys: keys, member: held[0], actual: 700}); err != nil {
		t.Fatal(err)
	}
	if st, err := alive.Status(ctx, s); err != nil || st.Spent != 1200 {
		t.Errorf("status = %+v, %v after a settle sent twice; want spent still 1200", st, err)
	}
}

// Three replicas load a scope new to Redis at the same moment, each reading
// a different figure from the ledger: the first one set wins everywhere.
func TestRedisConcurrentLoadAgrees(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t, url)
	ctx := context.Background()
	var arrived sync.WaitGroup
	arrived.Add(3)
	var reads atomic.Int64
	src := func(context.Context, string, string, time.Time) (llmservice.Nanos, error) {
		n := reads.Add(1)
		arrived.Done()
		arrived.Wait() // all three replicas read the ledger before any sets
		return llmservice.Nanos(100 * n), nil
	}
	s := Scope{Key: "key:k", Limit: 1000, Period: "weekly", TeamID: "t", KeyID: "k"}
	var wg sync.WaitGroup
	got := make([]llmservice.Nanos, 3)
	for i := range 3 {
		a := newTestRedis(t, newClient(t, url), src, RedisOptions{Prefix: prefix})
		wg.Go(func() {
			var err error
			if got[i], err = a.Available(ctx, s); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if reads.Load() != 3 {
		t.Fatalf("ledger read %d times; want 3", reads.Load())
	}
	keys := (&Redis{prefix: prefix}).keys(nil, s.Key, s.Period, time.Now())
	spent, err := newClient(t, url).HGet(ctx, keys[0], "spent").Int64()
	if err != nil {
		t.Fatal(err)
	}
	if spent != 100 && spent != 200 && spent != 300 {
		t.Errorf("spent in redis = %d; want one replica's ledger figure", spent)
	}
	for i, g := range got {
		if g != s.Limit-llmservice.Nanos(spent) {
			t.Errorf("replica %d sees %d available; want %d", i, g, s.Limit-llmservice.Nanos(spent))
		}
	}
}

func TestRedisLedgerErrorIsNotARedisFailure(t *testing.T) {
	url := redisURL(t)
	fail := errors.New("ledger down")
	src := func(context.Context, string, string, time.Time) (llmservice.Nanos, error) { return 0, fail }
	a := newTestRedis(t, newClient(t, url), src, RedisOptions{Prefix: testPrefix(t, url)})
	_, err := a.Reserve(context.Background(), []Scope{{Key: "team:t", Limit: 10, TeamID: "t"}}, 1)
	if !errors.Is(err, fail) {
		t.Errorf("err = %v; want the ledger's error", err)
	}
}

// outage makes every command fail while it is on, like an unreachable Redis.
type outage struct{ on atomic.Bool }

func (o *outage) DialHook(next redis.DialHook) redis.DialHook { return next }

func (o *outage) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if o.on.Load() {
			err := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("redis is down (test)")}
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (o *outage) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// While Redis is down a replica keeps budgets locally; what it settled
// meanwhile, and a settle Redis missed, reach Redis when it is back.
func TestRedisFallbackAndRecovery(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t, url)
	ctx := context.Background()
	c := newClient(t, url)
	down := &outage{}
	c.AddHook(down)
	reg := prometheus.NewRegistry()
	a := newTestRedis(t, c, fixedSource(0), RedisOptions{Prefix: prefix, ProbeInterval: 10 * time.Millisecond, Registry: reg})
	other := newTestRedis(t, newClient(t, url), fixedSource(0), RedisOptions{Prefix: prefix})
	s := Scope{Key: "team:t", Limit: 1000, Period: "monthly", TeamID: "t"}

	held, err := a.Reserve(ctx, []Scope{s}, 400)
	if err != nil {
		t.Fatal(err)
	}
	down.on.Store(true)
	held.Settle(100) // Redis misses it: kept for later
	if a.Backend() != BackendLocal {
		t.Fatalf("backend = %s after a failed settle; want local", a.Backend())
	}
	if n := testutil.ToFloat64(a.metrics.fallbacks); n != 1 {
		t.Errorf("fallbacks = %v; want 1", n)
	}
	// Locally, the budget is what the ledger says (0 spent) and still enforced.
	r, err := a.Reserve(ctx, []Scope{s}, 900)
	if err != nil {
		t.Fatalf("local reserve: %v", err)
	}
	if _, err := a.Reserve(ctx, []Scope{s}, 200); llmservice.ErrorKind(err) != llmservice.BudgetExceeded {
		t.Errorf("local reserve past the limit: err = %v; want BudgetExceeded", err)
	}
	r.Settle(30)
	if st, _ := other.Status(ctx, s); st.Spent != 0 || st.Reserved != 400 {
		t.Errorf("redis during the outage: %+v; want the 400 still held", st)
	}

	down.on.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for a.Backend() != BackendRedis && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if a.Backend() != BackendRedis {
		t.Fatal("still local 5s after Redis came back")
	}
	if st, err := other.Status(ctx, s); err != nil || st.Spent != 130 || st.Reserved != 0 {
		t.Errorf("redis after the outage: %+v, %v; want spent 100+30, nothing held", st, err)
	}
}

func TestRedisUnreachableAtStart(t *testing.T) {
	o, err := limit.RedisClientOptions("redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	defer c.Close()
	a := NewRedis(c, fixedSource(0), RedisOptions{Logger: quiet, ProbeInterval: time.Hour})
	defer a.Close()
	if a.Backend() != BackendLocal {
		t.Fatalf("backend = %s; want local", a.Backend())
	}
	ctx := context.Background()
	s := Scope{Key: "team:t", Limit: 1000, TeamID: "t"}
	r, err := a.Reserve(ctx, []Scope{s}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Reserve(ctx, []Scope{s}, 1); llmservice.ErrorKind(err) != llmservice.BudgetExceeded {
		t.Errorf("err = %v; want BudgetExceeded from the local accountant", err)
	}
	r.Settle(10)
	if got, err := a.Available(ctx, s); got != 990 || err != nil {
		t.Errorf("available = %d, %v; want 990", got, err)
	}
}

// Figures lost from Redis (evicted under memory pressure) are loaded again
// from the ledger, and the calls in flight keep their money held.
func TestRedisReloadKeepsWhatIsHeld(t *testing.T) {
	url := redisURL(t)
	ctx := context.Background()
	a := newTestRedis(t, newClient(t, url), fixedSource(100), RedisOptions{Prefix: testPrefix(t, url)})
	s := Scope{Key: "team:t", Limit: 1000, Period: "monthly", TeamID: "t"}
	r, err := a.Reserve(ctx, []Scope{s}, 400)
	if err != nil {
		t.Fatal(err)
	}
	if err := newClient(t, url).Del(ctx, a.keys(nil, s.Key, s.Period, time.Now())[0]).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Available(ctx, s); got != 500 || err != nil {
		t.Errorf("available = %d, %v after a reload; want 1000-100-400 = 500", got, err)
	}
	r.Settle(250)
	if st, err := a.Status(ctx, s); err != nil || st.Spent != 350 || st.Reserved != 0 {
		t.Errorf("status = %+v, %v; want spent 100+250, nothing reserved", st, err)
	}
}

// Issue 11: a reserve sent to a frozen Redis (SIGSTOP) times out and the
// call is answered locally, but Redis runs the reserve when it thaws: its
// money stayed held until the 15-minute reservation TTL. Now the failed
// reserve is cancelled as soon as Redis answers again.
func TestRedisFrozenReserveIsReleased(t *testing.T) {
	url := redisURL(t)
	addr, proc := redistest.StartServer(t)
	o, err := limit.RedisClientOptions(url)
	if err != nil {
		t.Fatal(err)
	}
	o.Addr = addr
	c := redis.NewClient(o)
	defer c.Close()
	ctx := context.Background()
	a := newTestRedis(t, c, fixedSource(0), RedisOptions{Timeout: 300 * time.Millisecond, ProbeInterval: 20 * time.Millisecond})
	s := Scope{Key: "team:frozen", Limit: 1000, Period: "monthly", TeamID: "frozen"}
	res, err := a.Reserve(ctx, []Scope{s}, 100) // loads the scope
	if err != nil {
		t.Fatal(err)
	}
	res.Settle(10)

	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	res, err = a.Reserve(ctx, []Scope{s}, 300) // times out, answered locally
	if err != nil || a.Backend() != BackendLocal {
		t.Fatalf("reserve during the freeze = %v on %s; want a local reservation", err, a.Backend())
	}
	res.Settle(20)
	if err := proc.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); a.Backend() != BackendRedis; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("still local 30s after Redis thawed")
		}
	}
	// Within a minute of Redis's return nothing is held (it was 15 minutes).
	var st Status
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if st, err = a.Status(ctx, s); err == nil && st.Reserved == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after Redis thawed: %+v, %v; want nothing reserved", st, err)
		}
	}
	if st.Spent != 30 {
		t.Errorf("spent = %d; want 10 + 20 (the cost answered locally, booked on return)", st.Spent)
	}
}
