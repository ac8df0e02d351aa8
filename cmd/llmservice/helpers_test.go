package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const testAdminKey = "sk-admin-test-key"

// testServer is a gateway started through run's serve path on a free port.
type testServer struct {
	URL  string
	stop func() error
	db   string
}

// startServer starts serve with env (LLMSERVICE_ADDR, database and admin key
// are filled in unless given) and stops it at the end of the test.
func startServer(t *testing.T, env map[string]string) *testServer {
	t.Helper()
	return startServerLogging(t, env, os.Stderr)
}

// testGetenv is the server's environment in a test: env, then the
// process's own LLMSERVICE_ variables (what t.Setenv and the PostgreSQL
// re-run set), and nothing else of the machine's (a developer's
// OPENAI_API_KEY must not reach a test server).
func testGetenv(env map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if strings.HasPrefix(k, "LLMSERVICE_") {
			return os.Getenv(k)
		}
		return ""
	}
}

// startServerLogging is startServer with the server's log written to stderr.
func startServerLogging(t *testing.T, env map[string]string, stderr io.Writer) *testServer {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if env["LLMSERVICE_DATABASE_URL"] == "" {
		env["LLMSERVICE_DATABASE_URL"] = testDatabaseURL(t, "llmservice.db")
	}
	if env["LLMSERVICE_ADDR"] == "" {
		env["LLMSERVICE_ADDR"] = "127.0.0.1:0"
	}
	if env["LLMSERVICE_JOURNAL_DIR"] == "" {
		// Not the package directory (the default with PostgreSQL).
		env["LLMSERVICE_JOURNAL_DIR"] = t.TempDir()
	}
	if _, ok := env["LLMSERVICE_ADMIN_KEY"]; !ok {
		env["LLMSERVICE_ADMIN_KEY"] = testAdminKey
	}
	if _, ok := env["LLMSERVICE_AUTH_FAILURES_PER_MINUTE"]; !ok {
		// Every test client comes from 127.0.0.1, and many tests mean to
		// fail authentication often; the throttle has tests of its own.
		env["LLMSERVICE_AUTH_FAILURES_PER_MINUTE"] = "-1"
	}
	if env["LLMSERVICE_LOG_LEVEL"] == "" {
		env["LLMSERVICE_LOG_LEVEL"] = "warn"
	}
	if env["LLMSERVICE_ACCESS_LOG"] == "" {
		// One line per request would bury a failing test's log.
		env["LLMSERVICE_ACCESS_LOG"] = "off"
	}
	getenv := testGetenv(env)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- serve(ctx, nil, getenv, io.Discard, stderr, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		cancel()
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start within 30s")
	}
	stopped := false
	ts := &testServer{URL: "http://" + addr, db: env["LLMSERVICE_DATABASE_URL"]}
	ts.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		// Connections the client dialled but never used count as busy for
		// five seconds in http.Server.Shutdown; close them first.
		http.DefaultClient.CloseIdleConnections()
		cancel()
		return <-errc
	}
	t.Cleanup(func() { _ = ts.stop() })
	waitHealthy(t, ts.URL)
	return ts
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s/healthz never answered 200", base)
}

// do sends a JSON request and decodes the JSON answer into out (if not nil).
func do(t *testing.T, method, url, bearer string, body any, out any) int {
	t.Helper()
	return doH(t, method, url, bearer, body, out, nil)
}

// doH is do that also returns the response headers into h (if not nil).
func doH(t *testing.T, method, url, bearer string, body any, out any, h *http.Header) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	if h != nil {
		*h = resp.Header
	}
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, url, err, b)
		}
	}
	return resp.StatusCode
}

// newKey creates a team (if needed) and a key for it; it returns the key.
func newKey(t *testing.T, base, team string, extra map[string]any) (id, key, secret string) {
	t.Helper()
	do(t, "POST", base+"/admin/teams", testAdminKey, map[string]any{"id": team}, nil)
	body := map[string]any{"team_id": team}
	for k, v := range extra {
		body[k] = v
	}
	var out struct {
		ID, Key, Secret string
	}
	if st := do(t, "POST", base+"/admin/keys", testAdminKey, body, &out); st != http.StatusCreated {
		t.Fatalf("create key: status %d", st)
	}
	return out.ID, out.Key, out.Secret
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func stringsContains(s, sub string) bool { return strings.Contains(s, sub) }

// fakeClock makes the servers the test starts after it read run's clock
// moved by hand: the real time plus what advance added. Call it before
// startServer, so that the clock is put back after the server stops.
func fakeClock(t *testing.T) (advance func(time.Duration)) {
	t.Helper()
	var skew atomic.Int64
	old := clock
	clock = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	t.Cleanup(func() { clock = old })
	return func(d time.Duration) { skew.Add(int64(d)) }
}
