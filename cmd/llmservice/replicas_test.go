package main

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/postgres/pgtest"
)

// TestThreeReplicas runs three gateway processes on one PostgreSQL schema
// and one Redis, as a load balancer would spread them, and checks that they
// behave as one gateway: a team's RPM, a credit balance, a revocation and a
// batch hold across them.
func TestThreeReplicas(t *testing.T) {
	if onPostgres() {
		t.Skip("runs on PostgreSQL in the main run already")
	}
	redisURL := os.Getenv("LLMSERVICE_TEST_REDIS_URL")
	if redisURL == "" || os.Getenv(pgtest.EnvURL) == "" {
		t.Skip("needs LLMSERVICE_TEST_POSTGRES_URL and LLMSERVICE_TEST_REDIS_URL (.ci/run sets both)")
	}
	bin := buildBinary(t)
	fk, _ := fakes(t)
	env := []string{"LLMSERVICE_DATABASE_URL=" + pgtest.URL(t), "LLMSERVICE_REDIS_URL=" + redisURL,
		"LLMSERVICE_ADMIN_KEY=" + testAdminKey, "LLMSERVICE_LOG_LEVEL=warn",
		"LLMSERVICE_ENCRYPTION_KEY=" + "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
		"LLMSERVICE_QUEUE_WORKERS=4", "LLMSERVICE_QUEUE_POLL=50ms", "LLMSERVICE_BATCH_SWEEP=200ms"}
	for k, v := range fk {
		env = append(env, k+"="+v)
	}
	var bases []string
	for range 3 {
		_, base, _ := startProcess(t, bin, env)
		bases = append(bases, base)
	}
	// Redis outlives the test: names must be new on every run.
	run := strings.ToLower(rand.Text()[:8])

	t.Run("TeamRPM", func(t *testing.T) {
		team := "rpm-" + run
		do(t, "POST", bases[0]+"/admin/teams", testAdminKey, map[string]any{"id": team, "rpm": 100}, nil)
		_, key, _ := newKey(t, bases[1], team, nil)
		counts, admitted, elapsed := burst(t, bases, key, 300)
		if counts[200] != 100 || counts[429] != 200 {
			t.Fatalf("answers by status = %v in %v; want exactly 100 admitted over three replicas", counts, elapsed)
		}
		t.Logf("%v in %v", counts, elapsed.Round(time.Millisecond))
		// However long the burst took, the minute is spent: a second burst
		// two seconds later admits nothing (GCRA refilled one per 600 ms).
		time.Sleep(2 * time.Second)
		again, more, _ := burst(t, bases, key, 30)
		if again[200] != 0 || again[429] != 30 {
			t.Errorf("second burst: answers by status = %v; want all 30 refused", again)
		}
		// No rolling minute holds more than 100 admissions.
		all := append(admitted, more...)
		slices.SortFunc(all, func(a, b time.Time) int { return a.Compare(b) })
		for i := range all {
			j := i
			for j < len(all) && all[j].Sub(all[i]) < time.Minute {
				j++
			}
			if j-i > 100 {
				t.Fatalf("%d admissions within a minute from %v", j-i, all[i])
			}
		}
	})

	t.Run("Credits", func(t *testing.T) {
		const paid = 20
		team := "credits-" + run
		key := lesTeam(t, bases[2], team, paid*lesSeedCredits, nil)
		counts := map[int]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 3 * paid {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", bases[i%3]+"/api/v1/completions", strings.NewReader(lesSeedRequest))
				req.Header.Set("Authorization", key)
				resp, err := http.DefaultClient.Do(req)
				st := 0
				if err == nil {
					resp.Body.Close()
					st = resp.StatusCode
				}
				mu.Lock()
				counts[st]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if counts[200] != paid || counts[402] != 2*paid {
			t.Errorf("answers by status = %v; want %d paid and %d refused", counts, paid, 2*paid)
		}
		for _, b := range bases {
			if got := lesCredits(t, b, team); got != 0 {
				t.Errorf("balance seen by %s = %d; want 0", b, got)
			}
		}
	})

	t.Run("RevokeWithinOneSecond", func(t *testing.T) {
		team := "revoke-" + run
		do(t, "POST", bases[0]+"/admin/teams", testAdminKey, map[string]any{"id": team}, nil)
		id, key, _ := newKey(t, bases[0], team, nil)
		// Every replica caches the key first.
		for _, b := range bases {
			if st, body := chatRaw(t, b, key, "mock/echo", nil); st != 200 {
				t.Fatalf("%s before the revocation: %d %s", b, st, body)
			}
		}
		start := time.Now()
		if st := do(t, "DELETE", bases[0]+"/admin/keys/"+id, testAdminKey, nil, nil); st != 200 {
			t.Fatalf("revoke: %d", st)
		}
		for _, b := range bases[1:] {
			for {
				st, _ := chatRaw(t, b, key, "mock/echo", nil)
				if st == 401 {
					t.Logf("%s refuses the key %v after the revocation", b, time.Since(start).Round(time.Millisecond))
					break
				}
				if time.Since(start) > time.Second {
					t.Fatalf("%s still answers %d to a key revoked %v ago", b, st, time.Since(start))
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	})

	t.Run("BatchOnce", func(t *testing.T) {
		const n = 1000
		team := "batch-" + run
		do(t, "POST", bases[0]+"/admin/teams", testAdminKey, map[string]any{"id": team}, nil)
		_, key, _ := newKey(t, bases[0], team, nil)
		c := client(bases[0], key)
		ctx := context.Background()
		b := newEchoBatch(t, c, n)
		var err error
		// Watch it through another replica: they share the batch.
		c = client(bases[1], key)
		deadline := time.Now().Add(3 * time.Minute)
		for b.Status != openai.BatchStatusCompleted {
			if time.Now().After(deadline) {
				t.Fatalf("batch not completed within 3 minutes: %s %+v", b.Status, b.RequestCounts)
			}
			time.Sleep(50 * time.Millisecond)
			if b, err = c.Batches.Get(ctx, b.ID); err != nil {
				t.Fatal(err)
			}
		}
		if b.RequestCounts.Completed != n || b.RequestCounts.Failed != 0 {
			t.Errorf("request counts = %+v; want %d completed", b.RequestCounts, n)
		}
		if out := batchOutput(t, c, b.OutputFileID); len(out) != n {
			t.Errorf("output holds %d custom_ids; want %d", len(out), n)
		}
		// Every replica's meter flushes within a second; then the ledger
		// must bill each request exactly once.
		store := openTestStore(t, strings.TrimPrefix(env[0], "LLMSERVICE_DATABASE_URL="))
		var billed map[string]int
		for wait := time.Now().Add(10 * time.Second); ; {
			billed = map[string]int{}
			for cursor := ""; ; {
				recs, next, err := store.FindUsageRecords(ctx, llmservice.RecordFilter{TeamID: team, Limit: 500, Before: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range recs {
					if r.Endpoint == "batch.chat" && r.Status == 200 {
						billed[r.Purpose]++
					}
				}
				if cursor = next; next == "" {
					break
				}
			}
			if len(billed) >= n || time.Now().After(wait) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if len(billed) != n {
			t.Errorf("successful usage records cover %d requests; want %d", len(billed), n)
		}
		for task, times := range billed {
			if times != 1 {
				t.Errorf("request %s billed %d times", task, times)
			}
		}
	})
}

// burst sends n chat requests at once, spread over bases, on connections
// opened beforehand, and returns the answers by status, when each admitted
// one was sent, and how long the burst took from its first request to its
// last answer.
func burst(t *testing.T, bases []string, key string, n int) (map[int]int, []time.Time, time.Duration) {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: n}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	send := func(i int, req func(base string) *http.Request) int {
		resp, err := hc.Do(req(bases[i%len(bases)]))
		if err != nil {
			t.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	// Open the connections first, so the burst is not spread over dials.
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(i, func(base string) *http.Request { r, _ := http.NewRequest("GET", base+"/healthz", nil); return r })
		}()
	}
	wg.Wait()
	counts := map[int]int{}
	var admitted []time.Time
	var mu sync.Mutex
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			sent := time.Now()
			st := send(i, func(base string) *http.Request {
				r, _ := http.NewRequest("POST", base+"/v1/chat/completions",
					strings.NewReader(`{"model":"mock/echo","messages":[{"role":"user","content":"hi"}]}`))
				r.Header.Set("Authorization", "Bearer "+key)
				return r
			})
			mu.Lock()
			counts[st]++
			if st == 200 {
				admitted = append(admitted, sent)
			}
			mu.Unlock()
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	return counts, admitted, time.Since(t0)
}
