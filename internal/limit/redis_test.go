package limit

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/llmservice/llmservice/internal/redisfallback/redistest"
)

// testTimeout replaces the 100ms production timeout in tests that must not
// fall back: under -race on a busy machine a call may take longer.
const testTimeout = 5 * time.Second

// redisURL returns the test server's URL or skips the test.
func redisURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("LLMSERVICE_TEST_REDIS_URL")
	if u == "" {
		tb.Skip("LLMSERVICE_TEST_REDIS_URL is unset; set it (e.g. redis://127.0.0.1:6379/0) to run the Redis limiter tests")
	}
	return u
}

// newClient returns a client configured like production (RedisClientOptions),
// pointed at addr if set, closed when the test ends.
func newClient(tb testing.TB, url, addr string) *redis.Client {
	tb.Helper()
	o, err := RedisClientOptions(url)
	if err != nil {
		tb.Fatal(err)
	}
	if addr != "" {
		o.Addr = addr
	}
	c := redis.NewClient(o)
	tb.Cleanup(func() { c.Close() })
	return c
}

// testPrefix returns a key prefix of the test's own and deletes its keys at
// the end.
func testPrefix(tb testing.TB, url string) string {
	tb.Helper()
	name := strings.NewReplacer("/", "-", " ", "-").Replace(tb.Name())
	prefix := fmt.Sprintf("llmservice-test:limit:%s:%d:", name, time.Now().UnixNano())
	tb.Cleanup(func() {
		c := newClient(tb, url, "")
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("clean up %s: %v", prefix, err)
		}
	})
	return prefix
}

func TestRedisScenarios(t *testing.T) {
	url := redisURL(t)
	c := newClient(t, url, "")
	for _, sc := range scenarios {
		if !sc.instant() {
			continue // Redis's clock cannot be moved; refill is tested below
		}
		t.Run(sc.name, func(t *testing.T) {
			l := NewRedis(c, RedisOptions{Prefix: testPrefix(t, url), Timeout: testTimeout})
			defer l.Close()
			// Windows 60 times longer make the time between calls (well
			// under a second) negligible next to the smallest unit.
			runScenario(t, l, sc, nil, 60, "")
			if got := l.Backend(); got != BackendRedis {
				t.Errorf("Backend() = %q after the scenario; want %q", got, BackendRedis)
			}
		})
	}
}

// After a refusal, waiting RetryAfter on Redis's clock is enough for the cost
// to fit.
func TestRedisRefill(t *testing.T) {
	url := redisURL(t)
	l := NewRedis(newClient(t, url, ""), RedisOptions{Prefix: testPrefix(t, url), Timeout: testTimeout})
	defer l.Close()
	ctx := context.Background()
	r := []Rule{rule("refill", 2, 2*time.Second)}
	for i := range 2 {
		if _, ok, err := l.Take(ctx, r, one(1)); !ok || err != nil {
			t.Fatalf("take %d = %v, %v; want admitted", i, ok, err)
		}
	}
	st, ok, err := l.Take(ctx, r, one(1))
	if ok || err != nil {
		t.Fatalf("third take = %v, %v; want refused", ok, err)
	}
	wait := st[0].RetryAfter
	if wait <= 0 || wait > 2*time.Second+time.Second/Buckets*2 {
		t.Fatalf("RetryAfter = %v; want in (0, window + one bucket]", wait)
	}
	time.Sleep(wait)
	if _, ok, err := l.Take(ctx, r, one(1)); !ok || err != nil {
		t.Errorf("take after RetryAfter = %v, %v; want admitted", ok, err)
	}
}

// Two replicas, each with its own connection pool, share one limit.
func TestRedisConcurrentTwoReplicas(t *testing.T) {
	url := redisURL(t)
	prefix := testPrefix(t, url)
	replicas := []*Redis{
		NewRedis(newClient(t, url, ""), RedisOptions{Prefix: prefix, Timeout: testTimeout}),
		NewRedis(newClient(t, url, ""), RedisOptions{Prefix: prefix, Timeout: testTimeout}),
	}
	r := []Rule{rule("key:race:rpm", 50, time.Minute)}
	var admitted atomic.Int64
	race(200, func(i int) {
		_, ok, err := replicas[i%2].Take(context.Background(), r, one(1))
		if err != nil {
			t.Error(err)
		}
		if ok {
			admitted.Add(1)
		}
	})
	if got := admitted.Load(); got != 50 {
		t.Errorf("admitted %d of 200 against 50 RPM on two replicas; want 50", got)
	}
	for i, l := range replicas {
		if got := l.Backend(); got != BackendRedis {
			t.Errorf("replica %d Backend() = %q; want %q", i, got, BackendRedis)
		}
		l.Close()
	}
}

// The stored state is a hash of live buckets that expires once the newest
// has left the window; a full refund deletes its bucket.
func TestRedisKeyState(t *testing.T) {
	url := redisURL(t)
	c := newClient(t, url, "")
	prefix := testPrefix(t, url)
	l := NewRedis(c, RedisOptions{Prefix: prefix, Timeout: testTimeout})
	defer l.Close()
	ctx := context.Background()
	r := rule("state", 10, 6*time.Second)
	st, ok, err := l.Take(ctx, []Rule{r}, one(3))
	if !ok || err != nil {
		t.Fatalf("Take = %v, %v", ok, err)
	}
	h, err := c.HGetAll(ctx, prefix+r.Key).Result()
	if err != nil {
		t.Fatal(err)
	}
	now, err := c.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	g := int64(6 * time.Second / time.Microsecond / Buckets)
	if len(h) != 1 {
		t.Fatalf("hash = %v; want one bucket", h)
	}
	for k, n := range h {
		b, _ := strconv.ParseInt(k, 10, 64)
		if cur := now.UnixMicro() / g; n != "3" || b > cur || b < cur-10 {
			t.Errorf("bucket %s = %s; want 3 units in a bucket near %d", k, n, cur)
		}
	}
	ttl, err := c.PTTL(ctx, prefix+r.Key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 5*time.Second || ttl > 6100*time.Millisecond+time.Millisecond {
		t.Errorf("PTTL = %v; want in (5s, 6.101s]", ttl)
	}
	if err := l.Adjust(ctx, st[0], -3); err != nil {
		t.Fatal(err)
	}
	if n, err := c.HLen(ctx, prefix+r.Key).Result(); err != nil || n != 0 {
		t.Errorf("HLen after a full refund = %d, %v; want 0", n, err)
	}
}

// syncBuffer collects log output from the probe goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitBackend waits until l reports want. It waits for a condition, not a
// duration: the deadline only stops a broken test from hanging.
func waitBackend(t *testing.T, l *Redis, want string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); l.Backend() != want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Backend() = %q; still not %q", l.Backend(), want)
		}
	}
}

// Redis goes down mid-run: takes are answered locally, the switch is logged
// and counted once; when Redis is back the limiter returns to it.
func TestRedisFallbackAndRecovery(t *testing.T) {
	url := redisURL(t)
	direct := newClient(t, url, "")
	proxy := startProxy(t, direct.Options().Addr)
	prefix := testPrefix(t, url)
	var logs syncBuffer
	reg := prometheus.NewRegistry()
	l := NewRedis(newClient(t, url, proxy.addr), RedisOptions{
		Prefix:        prefix,
		Timeout:       testTimeout,
		ProbeInterval: 20 * time.Millisecond,
		Registry:      reg,
		Logger:        slog.New(slog.NewTextHandler(&logs, nil)),
	})
	defer l.Close()
	ctx := context.Background()
	r := []Rule{rule("outage", 10, time.Minute)}

	if _, ok, err := l.Take(ctx, r, one(1)); !ok || err != nil || l.Backend() != BackendRedis {
		t.Fatalf("Take before the outage = %v, %v on %s; want admitted on redis", ok, err, l.Backend())
	}

	proxy.down()
	var st []Status
	for i := range 3 {
		var ok bool
		var err error
		st, ok, err = l.Take(ctx, r, one(1))
		if !ok || err != nil {
			t.Fatalf("Take %d during the outage = %v, %v; want admitted locally", i, ok, err)
		}
		// The local limiter holds a copy of the take made on Redis: 10 - 1 - (i+1) left.
		if want := int64(8 - i); st[0].Remaining != want {
			t.Errorf("Take %d during the outage: Remaining = %d; want %d (from the local limiter)", i, st[0].Remaining, want)
		}
	}
	if err := l.Adjust(ctx, st[0], -1); err != nil {
		t.Errorf("Adjust during the outage = %v; want nil", err)
	}
	if got := l.Backend(); got != BackendLocal {
		t.Errorf("Backend() during the outage = %q; want %q", got, BackendLocal)
	}
	if got := testutil.ToFloat64(l.metrics.fallbacks); got != 1 {
		t.Errorf("fallbacks counter = %v; want 1", got)
	}
	if got := testutil.ToFloat64(l.metrics.backend.WithLabelValues(BackendLocal)); got != 1 {
		t.Errorf("backend{local} gauge = %v; want 1", got)
	}
	if got := strings.Count(logs.String(), "redis failed"); got != 1 {
		t.Errorf("logged the switch %d times; want once:\n%s", got, logs.String())
	}

	proxy.up()
	waitBackend(t, l, BackendRedis)
	if !strings.Contains(logs.String(), "redis is back") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}
	if got := testutil.ToFloat64(l.metrics.backend.WithLabelValues(BackendRedis)); got != 1 {
		t.Errorf("backend{redis} gauge = %v; want 1", got)
	}
	// Back on Redis, whose state holds the take from before and the two
	// (three, one refunded) admitted locally, replayed before the switch.
	st, ok, err := l.Take(ctx, r, one(1))
	if !ok || err != nil || st[0].Remaining != 6 {
		t.Errorf("Take after recovery = %v, %v, Remaining %d; want admitted with 6 left", ok, err, st[0].Remaining)
	}
	if n, err := testutil.GatherAndCount(reg, "llmservice_ratelimit_fallbacks_total", "llmservice_ratelimit_backend"); err != nil || n != 3 {
		t.Errorf("registered series = %d, %v; want 3", n, err)
	}
}

// Whatever way Redis is unreachable, Take answers from the local limiter.
func TestRedisUnreachable(t *testing.T) {
	url := redisURL(t)
	closedPort := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	// A server that accepts and never answers: only the timeout saves us.
	hung := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var conns []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			ln.Close()
			mu.Lock()
			for _, c := range conns {
				c.Close()
			}
			mu.Unlock()
		})
		return ln.Addr().String()
	}
	tests := []struct {
		name   string
		client func(t *testing.T) *redis.Client
		midRun bool // Redis works at first, then the client is closed
	}{
		{"closed port", func(t *testing.T) *redis.Client { return newClient(t, url, closedPort(t)) }, false},
		{"hung server", func(t *testing.T) *redis.Client { return newClient(t, url, hung(t)) }, false},
		{"client closed mid-run", func(t *testing.T) *redis.Client { return newClient(t, url, "") }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client(t)
			timeout := 50 * time.Millisecond
			if tt.midRun { // Redis must answer at first, even under load
				timeout = testTimeout
			}
			l := NewRedis(c, RedisOptions{
				Prefix:   testPrefix(t, url),
				Timeout:  timeout,
				Registry: prometheus.NewRegistry(),
				Logger:   slog.New(slog.NewTextHandler(&syncBuffer{}, nil)),
			})
			defer l.Close()
			if tt.midRun {
				if got := l.Backend(); got != BackendRedis {
					t.Fatalf("Backend() = %q before closing the client; want %q", got, BackendRedis)
				}
				c.Close()
			}
			st, ok, err := l.Take(context.Background(), []Rule{rule("down", 5, time.Minute)}, one(1))
			if !ok || err != nil || st[0].Remaining != 4 {
				t.Fatalf("Take = %v, %v; want admitted by the local limiter", ok, err)
			}
			if got := l.Backend(); got != BackendLocal {
				t.Errorf("Backend() = %q; want %q", got, BackendLocal)
			}
			if got := testutil.ToFloat64(l.metrics.fallbacks); got != 1 {
				t.Errorf("fallbacks counter = %v; want 1", got)
			}
		})
	}
}

// A cancelled request is the caller's doing: no fallback, the error returns.
func TestRedisCancelledContext(t *testing.T) {
	url := redisURL(t)
	l := NewRedis(newClient(t, url, ""), RedisOptions{Prefix: testPrefix(t, url), Timeout: testTimeout})
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := l.Take(ctx, []Rule{rule("cancel", 5, time.Minute)}, one(1)); err == nil {
		t.Errorf("Take(cancelled ctx) = nil error; want the context's")
	}
	if got := l.Backend(); got != BackendRedis {
		t.Errorf("Backend() = %q after a cancelled call; want %q", got, BackendRedis)
	}
}

// A Redis that lost its scripts (restart, SCRIPT FLUSH) answers EVALSHA with
// NOSCRIPT; the call is retried with EVAL and stays on Redis.
func TestRedisScriptFlushed(t *testing.T) {
	url := redisURL(t)
	addr, _ := redistest.StartServer(t)
	c := newClient(t, url, addr)
	l := NewRedis(c, RedisOptions{Timeout: testTimeout})
	defer l.Close()
	ctx := context.Background()
	r := []Rule{rule("flushed", 5, time.Minute)}
	for i, flush := range []bool{false, true, true} {
		if flush {
			if err := c.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		st, ok, err := l.Take(ctx, r, one(1))
		if want := int64(4 - i); !ok || err != nil || st[0].Remaining != want {
			t.Errorf("take %d = %v, %v, Remaining %d; want admitted with %d left", i, ok, err, st[0].Remaining, want)
		}
	}
	if got := l.Backend(); got != BackendRedis {
		t.Errorf("Backend() = %q after NOSCRIPT; want %q", got, BackendRedis)
	}
}

// Issue 11: during a Redis outage each replica enforces its share of a
// limit (the limit divided by the replicas it saw), counting what it
// charged on Redis before, so two replicas together admit at most the
// limit. Before, each fell back to the whole limit: twice as many.
func TestRedisOutageEachReplicaTakesItsShare(t *testing.T) {
	url := redisURL(t)
	addr, proc := redistest.StartServer(t)
	var replicas []*Redis
	for range 2 {
		l := NewRedis(newClient(t, url, addr), RedisOptions{
			Timeout:       testTimeout,
			Heartbeat:     20 * time.Millisecond,
			ProbeInterval: 20 * time.Millisecond,
			Registry:      prometheus.NewRegistry(),
			Logger:        slog.New(slog.NewTextHandler(&syncBuffer{}, nil)),
		})
		defer l.Close()
		replicas = append(replicas, l)
	}
	for deadline := time.Now().Add(30 * time.Second); replicas[0].Replicas() != 2 || replicas[1].Replicas() != 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("replicas see %d and %d replicas; want 2", replicas[0].Replicas(), replicas[1].Replicas())
		}
	}
	ctx := context.Background()
	r := []Rule{rule("team:outage:rpm", 50, time.Minute)}
	// Before the outage, 10 through each replica on Redis.
	for i := range 20 {
		if _, ok, err := replicas[i%2].Take(ctx, r, one(1)); !ok || err != nil {
			t.Fatalf("take %d on redis = %v, %v", i, ok, err)
		}
	}
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	proc.Wait()
	var admitted [2]atomic.Int64
	race(200, func(i int) {
		_, ok, err := replicas[i%2].Take(ctx, r, one(1))
		if err != nil {
			t.Error(err)
		}
		if ok {
			admitted[i%2].Add(1)
		}
	})
	a, b := admitted[0].Load(), admitted[1].Load()
	if a != 15 || b != 15 {
		t.Errorf("during the outage the replicas admitted %d and %d; want 15 each (a share of 25, 10 used)", a, b)
	}
	for i, l := range replicas {
		if got := l.Backend(); got != BackendLocal {
			t.Errorf("replica %d Backend() = %q; want %q", i, got, BackendLocal)
		}
	}
}

func TestShare(t *testing.T) {
	tests := []struct {
		limit   int64
		n, rank int
		want    int64
	}{
		{60, 1, 0, 60},
		{60, 2, 0, 30},
		{60, 2, 1, 30},
		{10, 3, 0, 4},
		{10, 3, 1, 3},
		{10, 3, 2, 3},
		{1, 2, 0, 1},
		{1, 2, 1, 0},
	}
	for _, tt := range tests {
		if got := share(tt.limit, &presence{n: tt.n, rank: tt.rank}); got != tt.want {
			t.Errorf("share(%d, %d replicas, rank %d) = %d; want %d", tt.limit, tt.n, tt.rank, got, tt.want)
		}
	}
}
