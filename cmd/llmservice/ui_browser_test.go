package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/batches"
	"github.com/llmservice/llmservice/internal/dialect/llmendpoint"
	"github.com/llmservice/llmservice/internal/gateway"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the dashboard test's screenshots to docs/screenshots")

// e2eDir holds the browser test's script and its npm lock file.
const e2eDir = "../../internal/ui/e2e"

// browserTools finds node, Chromium and playwright-core, or says what is
// missing. In CI (.ci/run installs them) a missing tool fails the test.
func browserTools(t *testing.T) (node, chromium string) {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing in CI: .ci/run installs it", what)
		}
		t.Skipf("%s is missing: apt-get install -y chromium nodejs npm && npm ci --prefix internal/ui/e2e", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node")
	}
	chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		if chromium, err = exec.LookPath("chromium"); err != nil {
			missing("chromium")
		}
	}
	if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing("playwright-core (npm ci in internal/ui/e2e)")
	}
	return node, chromium
}

// TestDashboardInBrowser signs in to the dashboard of a real server in
// headless Chromium with the admin key and with a team key, and goes
// through every page (internal/ui/e2e/dashboard.mjs): a day of usage plus
// a call made through /v1 in the overview and the logs, a team and a key
// created, a batch cancelled, a streamed playground reply, and a team key
// that sees no other team.
func TestDashboardInBrowser(t *testing.T) {
	skipOnPostgres(t, "the dashboard reads the same API on both stores; once is enough for a browser")
	node, chromium := browserTools(t)
	srv := startServer(t, nil)
	ctx := context.Background()

	do(t, "POST", srv.URL+"/admin/teams", testAdminKey, map[string]any{"id": "acme", "name": "Acme Corp", "log_bodies": "full",
		"credits": 100, "max_budget_usd": 50, "budget_period": "monthly"}, nil)
	do(t, "POST", srv.URL+"/admin/teams", testAdminKey, map[string]any{"id": "globex", "name": "Globex"}, nil)
	acmeID, acmeKey, _ := newKey(t, srv.URL, "acme", map[string]any{"name": "web app"})
	ciID, _, _ := newKey(t, srv.URL, "acme", map[string]any{"name": "ci pipeline", "rpm": 600})
	globexID, globexKey, _ := newKey(t, srv.URL, "globex", map[string]any{"name": "prod"})

	db, err := openDB(ctx, srv.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counts := seedUsage(t, db, map[string][]string{"acme": {acmeID, ciID}, "globex": {globexID}})
	// Acme's cache is on and its call is made twice: the second is a hit,
	// which the overview's hit rate shows.
	if st := do(t, "PATCH", srv.URL+"/admin/teams/acme", testAdminKey, map[string]any{"cache": map[string]any{"ttl": "1h"}}, nil); st != http.StatusOK {
		t.Fatalf("PATCH cache: %d", st)
	}
	for _, c := range []struct{ key, msg string }{{acmeKey, "hello dashboard"}, {acmeKey, "hello dashboard"}, {globexKey, "hello from globex"}} {
		if st := do(t, "POST", srv.URL+"/v1/chat/completions", c.key, map[string]any{"model": "mock/echo",
			"messages": []map[string]string{{"role": "user", "content": c.msg}}}, nil); st != http.StatusOK {
			t.Fatalf("chat: %d", st)
		}
	}
	batchID := openBatch(t, db, "acme", acmeID)

	shots := t.TempDir()
	if *updateScreenshots {
		if shots, err = filepath.Abs("../../docs/screenshots"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "dashboard.mjs")
	cmd.Dir = e2eDir
	cmd.Env = append(os.Environ(), "BASE_URL="+srv.URL, "ADMIN_KEY="+testAdminKey, "TEAM_ID=acme", "TEAM_KEY="+acmeKey,
		"OTHER_TEAM=globex", "BATCH_ID="+batchID, "SCREENSHOTS="+shots, "CHROMIUM="+chromium,
		"TOTAL_REQUESTS="+strconv.Itoa(counts["acme"]+counts["globex"]+3), "TEAM_REQUESTS="+strconv.Itoa(counts["acme"]+2), "CACHE_HITS=1")
	out, err := cmd.CombinedOutput()
	t.Logf("dashboard.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the dashboard failed in Chromium: %v", err)
	}
}

// seedUsage writes a day of plausible usage for the keys of each team
// through the store, as the meter would have, and returns each team's
// number of records. Traffic follows the hour of the day; about 3% fails.
func seedUsage(t *testing.T, db store, keys map[string][]string) map[string]int {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 16))
	now := time.Now().UTC()
	start := now.Truncate(time.Hour).Add(-22 * time.Hour)
	models := []struct {
		name, provider string
		share          float64
		in, out        float64 // USD per Mtok
	}{{"gpt-4o-mini", "openai", 0.5, 0.15, 0.6}, {"claude-3-5-haiku-latest", "anthropic", 0.3, 0.8, 4}, {"mock/echo", "mock", 0.2, 0, 0}}
	counts := map[string]int{}
	var recs []llmservice.UsageRecord
	for at := start; at.Before(now); at = at.Add(time.Hour) {
		load := 30 + 25*math.Sin(float64(at.Hour()-8)/24*2*math.Pi)
		for range int(load) {
			tm := at.Add(time.Duration(rng.Int64N(int64(time.Hour))))
			if !tm.Before(now) {
				continue
			}
			team := "acme"
			if rng.Float64() < 0.3 {
				team = "globex"
			}
			m := models[0]
			for x, p := rng.Float64(), 0.0; ; {
				p += models[0].share
				if x < p {
					break
				}
				models = append(models[1:], models[0])
				m = models[0]
			}
			r := llmservice.UsageRecord{ID: gateway.NewTimeID("req_", tm), Time: tm, TeamID: team,
				KeyID: keys[team][rng.IntN(len(keys[team]))], Project: []string{"web", "web", "batch-jobs", ""}[rng.IntN(4)],
				Endpoint: "chat", RequestedModel: m.name, Provider: m.provider, UpstreamModel: m.name,
				PromptTokens: 50 + rng.IntN(1500), CompletionTokens: 20 + rng.IntN(600),
				LatencyMS: int(math.Exp(6.2 + 0.6*rng.NormFloat64())), Status: 200, Attempts: 1}
			switch x := rng.Float64(); {
			case x < 0.02:
				r.Status, r.ErrorType, r.CompletionTokens = 429, "rate_limited", 0
			case x < 0.03:
				r.Status, r.ErrorType, r.CompletionTokens = 502, "upstream", 0
			}
			r.Cost = llmservice.NanosFromDollars((float64(r.PromptTokens)*m.in + float64(r.CompletionTokens)*m.out) / 1e6)
			recs = append(recs, r)
			counts[team]++
		}
	}
	if err := db.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	return counts
}

// openBatch stores a batch of three requests whose turn comes only in an
// hour, so that it stays open for the dashboard to cancel, and a queued
// completion likewise; it returns the batch's ID.
func openBatch(t *testing.T, db store, team, keyID string) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	id := gateway.NewID("batch_")
	b := &llmservice.Batch{ID: id, TeamID: team, KeyID: keyID, API: batches.APIOpenAI, Endpoint: "/v1/chat/completions",
		InputFileID: "file-none", CompletionWindow: "24h", Status: llmservice.BatchInProgress, Total: 3,
		CreatedAt: now, InProgressAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	var tasks []*llmservice.Task
	for i := range 3 {
		body, _ := json.Marshal(map[string]any{"model": "mock/echo", "messages": []map[string]string{{"role": "user", "content": fmt.Sprint("item ", i)}}})
		payload, _ := json.Marshal(map[string]any{"url": "/v1/chat/completions", "body": json.RawMessage(body)})
		tasks = append(tasks, &llmservice.Task{ID: gateway.NewID("batch_req_"), Kind: batches.KindItem, TeamID: team, KeyID: keyID,
			Group: id, Key: fmt.Sprint("request-", i), Seq: i, Payload: payload, MaxAttempts: 3, RunAfter: now.Add(time.Hour)})
	}
	if err := db.CreateBatch(ctx, b, tasks); err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"request": map[string]any{"model": "llama3.1", "messages": []map[string]string{{"role": "user", "content": "later"}}},
		"model": "mock/llama3.1", "credits": 2})
	q := &llmservice.Task{ID: gateway.NewID("task_"), Kind: llmendpoint.KindQueued, TeamID: team, KeyID: keyID, Payload: payload,
		MaxAttempts: 3, RunAfter: now.Add(time.Hour)}
	if err := db.EnqueueTasks(ctx, []*llmservice.Task{q}, nil); err != nil {
		t.Fatal(err)
	}
	return id
}
