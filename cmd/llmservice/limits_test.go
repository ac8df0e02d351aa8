package main

import (
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmservice/llmservice/internal/redisfallback/redistest"
)

// fire sends n chat requests at once, spread round-robin over bases, and
// counts the answers by status.
func fire(t *testing.T, bases []string, key, model string, n int, extra map[string]any) map[int]int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			st, _ := chatRaw(t, bases[i%len(bases)], key, model, extra)
			mu.Lock()
			counts[st]++
			mu.Unlock()
		}(i)
	}
	close(start)
	wg.Wait()
	return counts
}

func TestRPMHoldsExactlyUnderConcurrency(t *testing.T) {
	srv := startServer(t, nil)
	do(t, "POST", srv.URL+"/admin/teams", testAdminKey, map[string]any{"id": "acme", "rpm": 50}, nil)
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	counts := fire(t, []string{srv.URL}, key, "mock/echo", 200, nil)
	if counts[200] != 50 || counts[429] != 150 {
		t.Fatalf("answers by status = %v; want exactly 50 admitted and 150 refused", counts)
	}
	var body struct {
		Error struct{ Message, Type, Code string }
	}
	var h http.Header
	st := doH(t, "POST", srv.URL+"/v1/chat/completions", key, map[string]any{"model": "mock/echo", "messages": []map[string]string{{"role": "user", "content": "hi"}}}, &body, &h)
	if st != 429 || body.Error.Code != "rate_limit_exceeded" || h.Get("Retry-After") == "" {
		t.Errorf("refusal: status %d, body %+v, Retry-After %q", st, body, h.Get("Retry-After"))
	}
	// The 50 hold their places until the first has left the minute (GCRA
	// freed one every 1.2 s: Retry-After 2).
	if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra <= 2 || ra > 61 {
		t.Errorf("Retry-After = %q; want the seconds until the burst leaves the minute", h.Get("Retry-After"))
	}
	if h.Get("X-Ratelimit-Limit-Requests") != "50" || h.Get("X-Ratelimit-Remaining-Requests") != "0" || h.Get("X-Ratelimit-Reset-Requests") == "" {
		t.Errorf("x-ratelimit headers = %v", h)
	}
}

// Issue 15: "60 per minute" is 60 in any rolling minute. Under GCRA the
// 61st of 60 calls spread over a few seconds passed (one refill a second).
func TestAthenaSixtyPerMinuteMeansSixty(t *testing.T) {
	advance := fakeClock(t)
	srv, _, key := athenaStart(t) // gpt-5: 60 RPM per key, as the seed says
	body := map[string]any{"model": "gpt-5", "messages": []map[string]string{{"role": "user", "content": "count me"}}}
	for i := range 60 {
		if st := do(t, "POST", srv.URL+"/api/v1/chat/completions", key, body, nil); st != http.StatusOK {
			t.Fatalf("call %d of 60: status %d", i+1, st)
		}
		advance(50 * time.Millisecond) // the calls span seconds: GCRA refilled in between
	}
	var h http.Header
	if st := doH(t, "POST", srv.URL+"/api/v1/chat/completions", key, body, nil, &h); st != http.StatusTooManyRequests {
		t.Fatalf("61st call: status %d; want 429", st)
	}
	if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 || ra > 61 {
		t.Errorf("Retry-After = %q; want the seconds until the first call leaves the minute", h.Get("Retry-After"))
	}
}

// Issue 15: a key that used 3 requests under rpm 100 and is PATCHed to
// rpm 3 has used its minute.
func TestLoweringALimitCountsWhatWasUsed(t *testing.T) {
	srv := startServer(t, nil)
	id, key, _ := newKey(t, srv.URL, "acme", map[string]any{"rpm": 100})
	for i := range 3 {
		if st, _ := chatRaw(t, srv.URL, key, "mock/echo", nil); st != 200 {
			t.Fatalf("call %d under rpm 100: %d", i+1, st)
		}
	}
	if st := do(t, "PATCH", srv.URL+"/admin/keys/"+id, testAdminKey, map[string]any{"rpm": 3}, nil); st != 200 {
		t.Fatalf("PATCH: %d", st)
	}
	if st, _ := chatRaw(t, srv.URL, key, "mock/echo", nil); st != 429 {
		t.Errorf("4th call after PATCH to rpm 3: %d; want 429", st)
	}
}

// Issue 15: TPM 120 and calls of 50 true tokens (40 words of prompt, which
// the mock counts as 40 tokens, and max_tokens 10): two fit. Estimated at
// characters/4 the second was refused.
func TestTPMEstimateAdmitsWhatFits(t *testing.T) {
	srv := startServer(t, nil)
	_, key, _ := newKey(t, srv.URL, "acme", map[string]any{"tpm": 120})
	prompt := strings.TrimSpace(strings.Repeat("gateways measure accurate estimates carefully before admitting requests ", 5))
	req := map[string]any{"model": "mock/echo", "max_tokens": 10, "messages": []map[string]string{{"role": "user", "content": prompt}}}
	for i, want := range []int{200, 200, 429} {
		var body struct {
			Usage struct {
				TotalTokens int `json:"total_tokens"`
			}
		}
		st := do(t, "POST", srv.URL+"/v1/chat/completions", key, req, &body)
		if st != want {
			t.Fatalf("call %d: %d; want %d", i+1, st, want)
		}
		if st == 200 && body.Usage.TotalTokens != 50 {
			t.Fatalf("call %d used %d tokens; the test wants 50", i+1, body.Usage.TotalTokens)
		}
	}
}

// A call the budget refuses counts nothing against the rate limits either.
func TestBudgetRefusalCountsNothing(t *testing.T) {
	srv := startServer(t, nil)
	do(t, "POST", srv.URL+"/admin/models", testAdminKey, map[string]any{"name": "priced", "provider": "mock", "upstream_model": "echo", "input_per_mtok": 1000, "output_per_mtok": 1000}, nil)
	do(t, "POST", srv.URL+"/admin/teams", testAdminKey, map[string]any{"id": "broke", "max_budget_usd": 0.000001}, nil)
	_, key, _ := newKey(t, srv.URL, "broke", map[string]any{"rpm": 2})
	for i := range 3 {
		if st, _ := chatRaw(t, srv.URL, key, "priced", nil); st != 429 {
			t.Fatalf("call %d over the budget: %d; want 429", i+1, st)
		}
	}
	if st := do(t, "PATCH", srv.URL+"/admin/teams/broke", testAdminKey, map[string]any{"max_budget_usd": 10}, nil); st != 200 {
		t.Fatalf("PATCH: %d", st)
	}
	for i := range 2 {
		if st, _ := chatRaw(t, srv.URL, key, "priced", nil); st != 200 {
			t.Errorf("call %d within the budget and rpm 2: %d; want 200 (the refusals counted nothing)", i+1, st)
		}
	}
}

func TestRPMHoldsAcrossTwoReplicasSharingRedis(t *testing.T) {
	url := os.Getenv("LLMSERVICE_TEST_REDIS_URL")
	if url == "" {
		t.Skip("LLMSERVICE_TEST_REDIS_URL is not set; .ci/run sets it to this machine's Redis")
	}
	// Two real gateway processes, one database, one Redis.
	bin := buildBinary(t)
	env := []string{"LLMSERVICE_DATABASE_URL=" + testDatabaseURL(t, "shared.db"), "LLMSERVICE_REDIS_URL=" + url, "LLMSERVICE_ADMIN_KEY=" + testAdminKey}
	_, a, _ := startProcess(t, bin, env)
	_, b, _ := startProcess(t, bin, env)
	do(t, "POST", a+"/admin/teams", testAdminKey, map[string]any{"id": "acme"}, nil)
	_, key, _ := newKey(t, a, "acme", map[string]any{"rpm": 50})
	counts := fire(t, []string{a, b}, key, "mock/echo", 200, nil)
	if counts[200] != 50 || counts[429] != 150 {
		t.Fatalf("two replicas: answers by status = %v; want exactly 50 admitted", counts)
	}
}

// Issue 11: during a Redis outage two replicas together admit at most the
// limit (each its half, counting what it admitted through Redis before).
// Before, each fell back to the whole limit.
func TestRedisOutageKeepsTheLimitAcrossReplicas(t *testing.T) {
	if os.Getenv("LLMSERVICE_TEST_REDIS_URL") == "" {
		t.Skip("LLMSERVICE_TEST_REDIS_URL is not set; .ci/run sets it to this machine's Redis")
	}
	addr, redisProc := redistest.StartServer(t) // a private one: the test kills it
	bin := buildBinary(t)
	env := []string{"LLMSERVICE_DATABASE_URL=" + testDatabaseURL(t, "shared.db"), "LLMSERVICE_REDIS_URL=redis://" + addr + "/0", "LLMSERVICE_ADMIN_KEY=" + testAdminKey}
	_, a, _ := startProcess(t, bin, env)
	_, b, _ := startProcess(t, bin, env)
	do(t, "POST", a+"/admin/teams", testAdminKey, map[string]any{"id": "acme"}, nil)
	_, key, _ := newKey(t, a, "acme", map[string]any{"rpm": 50})
	for _, base := range []string{a, b} { // each replica caches the key: 2 of the 50
		if st, _ := chatRaw(t, base, key, "mock/echo", nil); st != 200 {
			t.Fatalf("%s before the outage: %d", base, st)
		}
	}
	time.Sleep(5 * time.Second) // a few heartbeats (every 2 s): each replica has seen the other
	if err := redisProc.Kill(); err != nil {
		t.Fatal(err)
	}
	counts := fire(t, []string{a, b}, key, "mock/echo", 200, nil)
	if counts[200]+counts[429] != 200 || counts[200] > 48 || counts[200] == 0 {
		t.Fatalf("during the outage: answers by status = %v; want at most 48 admitted (50 - 2) over both replicas", counts)
	}
	t.Logf("during the outage: %v", counts)
}

func TestBudgetIsNeverOverspent(t *testing.T) {
	srv := startServer(t, nil)
	// $0.001 per token either way; each call costs 4 tokens ("hello" in,
	// "mock reply: hello" out), so $0.04 covers 10 calls.
	do(t, "POST", srv.URL+"/admin/models", testAdminKey, map[string]any{"name": "priced", "provider": "mock", "upstream_model": "echo", "input_per_mtok": 1000, "output_per_mtok": 1000}, nil)
	do(t, "POST", srv.URL+"/admin/teams", testAdminKey, map[string]any{"id": "acme", "max_budget_usd": 0.04, "budget_period": "monthly"}, nil)
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body struct{ Error struct{ Type string } }
			st := doH(t, "POST", srv.URL+"/v1/chat/completions", key, map[string]any{"model": "priced", "max_tokens": 4, "messages": []map[string]string{{"role": "user", "content": "hello"}}}, &body, nil)
			switch {
			case st == 200:
				admitted.Add(1)
			case st == 429 && body.Error.Type == "budget_exceeded":
			default:
				t.Errorf("status %d (%s); want 200 or 429 budget_exceeded", st, body.Error.Type)
			}
		}()
	}
	wg.Wait()
	var usage struct {
		Data []struct {
			Requests int64   `json:"requests"`
			Errors   int64   `json:"errors"`
			CostUSD  float64 `json:"cost_usd"`
		}
	}
	do(t, "GET", srv.URL+"/admin/usage?team_id=acme", testAdminKey, nil, &usage)
	var budget struct {
		SpentUSD    float64 `json:"spent_usd"`
		ReservedUSD float64 `json:"reserved_usd"`
	}
	do(t, "GET", srv.URL+"/admin/teams/acme/budget", testAdminKey, nil, &budget)
	ledger := usage.Data[0].CostUSD
	t.Logf("admitted %d of 100; ledger $%.6f; budget spent $%.6f", admitted.Load(), ledger, budget.SpentUSD)
	if admitted.Load() == 0 || admitted.Load() > 10 {
		t.Errorf("admitted %d calls; want between 1 and the 10 the budget covers", admitted.Load())
	}
	if ledger > 0.04+1e-9 {
		t.Errorf("ledger spend $%.6f exceeds the $0.04 budget", ledger)
	}
	if math.Abs(ledger-budget.SpentUSD) >= 0.005 || budget.ReservedUSD != 0 {
		t.Errorf("ledger $%.6f and budget $%.6f (reserved $%.6f) disagree", ledger, budget.SpentUSD, budget.ReservedUSD)
	}
	if want := float64(admitted.Load()) * 0.004; math.Abs(ledger-want) > 1e-9 {
		t.Errorf("ledger $%.6f; want %d calls at $0.004", ledger, admitted.Load())
	}
}

func TestIPAllowlistAndTrustedProxies(t *testing.T) {
	srv := startServer(t, map[string]string{"LLMSERVICE_TRUSTED_PROXIES": "127.0.0.1/32"})
	do(t, "POST", srv.URL+"/admin/teams", testAdminKey, map[string]any{"id": "acme"}, nil)
	_, office, _ := newKey(t, srv.URL, "acme", map[string]any{"ip_allowlist": []string{"10.0.0.0/8"}})
	_, local, _ := newKey(t, srv.URL, "acme", map[string]any{"ip_allowlist": []string{"127.0.0.1"}})

	post := func(key, xff string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", stringsReader(`{"model":"mock/echo","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := make([]byte, 512)
		n, _ := resp.Body.Read(b)
		return resp.StatusCode, string(b[:n])
	}
	if st, body := post(office, ""); st != 401 || !stringsContains(body, "Unauthorized IP address") {
		t.Errorf("from 127.0.0.1 with a 10/8 allowlist: %d %s; want 401 Unauthorized IP address", st, body)
	}
	// Behind the trusted proxy (127.0.0.1), the client is the rightmost
	// untrusted X-Forwarded-For entry; a forged leftmost entry does not count.
	if st, body := post(office, "203.0.113.9, 10.1.2.3"); st != 200 {
		t.Errorf("forwarded for 10.1.2.3: %d %s; want 200", st, body)
	}
	if st, _ := post(office, "10.1.2.3, 203.0.113.9"); st != 401 {
		t.Errorf("forged 10.1.2.3 before the real 203.0.113.9: %d; want 401", st)
	}
	if st, body := post(local, ""); st != 200 {
		t.Errorf("local key from 127.0.0.1: %d %s", st, body)
	}
}

func TestPatchAppliesToTheNextRequest(t *testing.T) {
	srv := startServer(t, nil)
	id, key, _ := newKey(t, srv.URL, "acme", nil)
	for i := 0; i < 3; i++ {
		if st, _ := chatRaw(t, srv.URL, key, "mock/echo", nil); st != 200 {
			t.Fatalf("before PATCH: %d", st)
		}
	}
	if st := do(t, "PATCH", srv.URL+"/admin/keys/"+id, testAdminKey, map[string]any{"rpm": 1, "models": []string{"mock/echo"}}, nil); st != 200 {
		t.Fatalf("PATCH: %d", st)
	}
	if st, _ := chatRaw(t, srv.URL, key, "mock/echo", nil); st != 200 {
		t.Fatalf("first after PATCH: %d", st)
	}
	if st, _ := chatRaw(t, srv.URL, key, "mock/echo", nil); st != 429 {
		t.Errorf("second after PATCH to rpm 1: %d; want 429", st)
	}
	if st, _ := chatRaw(t, srv.URL, key, "mock/other", nil); st != 403 {
		t.Errorf("model outside the new allowlist: %d; want 403", st)
	}
	var bad struct{ Error struct{ Param string } }
	if st := do(t, "PATCH", srv.URL+"/admin/keys/"+id, testAdminKey, map[string]any{"ip_allowlist": []string{"not-an-ip"}}, &bad); st != 400 || bad.Error.Param != "ip_allowlist" {
		t.Errorf("bad CIDR: %d %+v; want 400 naming ip_allowlist", st, bad)
	}
}

func TestLimitsOutOfRangeAreRefused(t *testing.T) {
	srv := startServer(t, nil)
	for _, tc := range []struct {
		path  string
		body  map[string]any
		param string
	}{
		{"/admin/teams", map[string]any{"id": "big", "rpm": 60_000_000_000}, "rpm"},
		{"/admin/teams", map[string]any{"id": "neg", "tpm": -1}, "tpm"},
		{"/admin/models", map[string]any{"name": "m", "provider": "mock", "tpm": 2_000_000_000}, "tpm"},
	} {
		var body struct{ Error struct{ Param string } }
		if st := do(t, "POST", srv.URL+tc.path, testAdminKey, tc.body, &body); st != 400 || body.Error.Param != tc.param {
			t.Errorf("POST %s %v: %d %+v; want 400 naming %s", tc.path, tc.body, st, body, tc.param)
		}
	}
}
