package notify

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/llmservice/llmservice/internal/postgres/pgtest"
)

// exchange checks that two subscribers of separate bus handles (two
// replicas) each get a resync, then every message published on either.
func exchange(t *testing.T, a, b Bus) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := [2]chan string{make(chan string, 16), make(chan string, 16)}
	a.Subscribe(ctx, func(m string) { got[0] <- m })
	b.Subscribe(ctx, func(m string) { got[1] <- m })
	next := func(i int) string {
		select {
		case m := <-got[i]:
			return m
		case <-time.After(5 * time.Second):
			t.Fatalf("subscriber %d: no message within 5s", i)
			return ""
		}
	}
	for i := range got {
		if m := next(i); m != Resync {
			t.Fatalf("subscriber %d: first message %q; want the resync %q", i, m, Resync)
		}
	}
	for _, msg := range []string{"key:k1", "team:t1", "catalog"} {
		if err := a.Publish(ctx, msg); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if m := next(i); m != msg {
				t.Fatalf("subscriber %d got %q; want %q", i, m, msg)
			}
		}
	}
}

func TestRedis(t *testing.T) {
	url := os.Getenv("LLMSERVICE_TEST_REDIS_URL")
	if url == "" {
		t.Skip("LLMSERVICE_TEST_REDIS_URL is not set; skipping the Redis test (.ci/run sets it)")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "test:" + rand.Text() + ":"
	r1, r2 := redis.NewClient(opts), redis.NewClient(opts)
	defer r1.Close()
	defer r2.Close()
	exchange(t, NewRedis(r1, prefix, nil, nil), NewRedis(r2, prefix, nil, nil))
}

func TestPostgres(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	var buses []Bus
	for range 2 {
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		b, err := NewPostgres(ctx, pool, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		buses = append(buses, b)
	}
	exchange(t, buses[0], buses[1])
}

func TestLocal(t *testing.T) {
	var l Local
	var got []string
	l.Subscribe(context.Background(), func(m string) { got = append(got, m) })
	_ = l.Publish(context.Background(), "catalog")
	if len(got) != 1 || got[0] != "catalog" {
		t.Fatalf("got %q", got)
	}
}
