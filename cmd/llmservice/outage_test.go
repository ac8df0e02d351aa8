package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/postgres/pgtest"
)

// outageLength is how long TestPostgresOutage keeps the database down: the
// 45 s of the outage that turned every cached key into a 500 once the
// 30 s refresh had passed. With the refresh at 1 s it spans 45 refreshes.
// LLMSERVICE_TEST_OUTAGE shortens it for a quick run.
const outageLength = 45 * time.Second

// get sends GET with the admin key, giving up after limit, so that an
// answer that waits for the database to return fails the test instead of
// hanging it.
func get(t *testing.T, url string, limit time.Duration, out any) (int, error) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	resp, err := (&http.Client{Timeout: limit}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
}

// logSink hands a server's log to a lockedBuffer.
type logSink struct{ *lockedBuffer }

func (l logSink) Write(p []byte) (int, error) {
	l.add(string(p))
	return len(p), nil
}

// linesWith returns the lines of log containing sub.
func linesWith(log, sub string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return out
}

// apiError is the OpenAI-shaped error body every admin and /v1 answer uses.
type apiError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	} `json:"error"`
}

// A PostgreSQL outage longer than the cache refresh: keys already known keep
// working from their last good copy; an unknown key and an admin write are
// told the database is unavailable (503, not 500); reading usage does not
// hang; each polling loop logs the outage once, not once per attempt; and
// afterwards everything works again and every call made during the outage
// is in the ledger.
func TestPostgresOutage(t *testing.T) {
	if onPostgres() {
		t.Skip("runs once, in the SQLite pass: it starts its own PostgreSQL")
	}
	if testing.Short() {
		t.Skip("-short: a 45 s database outage")
	}
	outage := outageLength
	if v := os.Getenv("LLMSERVICE_TEST_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("LLMSERVICE_TEST_OUTAGE: %v", err)
		}
		outage = d
	}
	pg := pgtest.StartServer(t)
	t.Setenv("LLMSERVICE_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	logs := &lockedBuffer{}
	srv := startServerLogging(t, map[string]string{
		"LLMSERVICE_DATABASE_URL":  pg.URL(),
		"LLMSERVICE_CACHE_REFRESH": "1s",
		"LLMSERVICE_LOG_LEVEL":     "info",
	}, logSink{logs})
	_, known, _ := newKey(t, srv.URL, "known", nil)
	_, unknown, _ := newKey(t, srv.URL, "unknown", nil)
	chat := func(key string, out any) int {
		return do(t, "POST", srv.URL+"/v1/chat/completions", key,
			map[string]any{"model": "mock/echo", "messages": []map[string]string{{"role": "user", "content": "count me in"}}}, out)
	}
	if st := chat(known, nil); st != http.StatusOK {
		t.Fatalf("before the outage: status %d", st)
	}
	calls := 1

	pg.Stop()
	start := time.Now()
	var failed []int
	probed := false
	for time.Since(start) < outage {
		if st := chat(known, nil); st != http.StatusOK {
			failed = append(failed, st)
		}
		calls++
		if !probed && time.Since(start) > 3*time.Second {
			probed = true
			var e apiError
			if st := chat(unknown, &e); st != http.StatusServiceUnavailable || !strings.Contains(e.Error.Message, "database") {
				t.Errorf("unknown key during the outage: %d %q; want 503 saying the database is unavailable", st, e.Error.Message)
			}
			e = apiError{}
			if st := do(t, "POST", srv.URL+"/admin/teams", testAdminKey, map[string]any{"id": "during"}, &e); st != http.StatusServiceUnavailable || !strings.Contains(e.Error.Message, "database") {
				t.Errorf("admin write during the outage: %d %q; want 503 saying the database is unavailable", st, e.Error.Message)
			}
			// Nothing can be read while the database is down: the answer
			// must say so at once instead of waiting for the meter's flush
			// until the outage ends.
			e = apiError{}
			asked := time.Now()
			st, err := get(t, srv.URL+"/admin/usage?team_id=known", 15*time.Second, &e)
			took := time.Since(asked)
			if err != nil || st != http.StatusServiceUnavailable || !strings.Contains(e.Error.Message, "database") {
				t.Errorf("GET /admin/usage during the outage: %d %q after %v (%v); want 503 saying the database is unavailable",
					st, e.Error.Message, took.Round(time.Millisecond), err)
			}
			t.Logf("GET /admin/usage during the outage answered %d in %v", st, took.Round(time.Millisecond))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(failed) > 0 {
		t.Errorf("a known key during a %v outage: %d of %d calls failed (statuses %v); want every one answered 200",
			outage, len(failed), calls-1, failed[:min(len(failed), 10)])
	}
	t.Logf("a known key during a %v outage: %d calls, %d failed", outage, calls-1, len(failed))

	pg.Start()
	back := time.Now()
	deadline := back.Add(time.Minute)
	for chat(unknown, nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("an unknown key still refused a minute after the database came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st := chat(known, nil); st != http.StatusOK {
		t.Errorf("known key after the outage: %d", st)
	}
	calls++
	if st := do(t, "POST", srv.URL+"/admin/teams", testAdminKey, map[string]any{"id": "after"}, nil); st != http.StatusCreated {
		t.Errorf("admin write after the outage: %d; want 201", st)
	}
	var usage struct {
		Partial bool `json:"partial"`
		Data    []struct {
			Requests int `json:"requests"`
		}
	}
	for {
		usage.Data, usage.Partial = nil, false
		if st := do(t, "GET", srv.URL+"/admin/usage?team_id=known", testAdminKey, nil, &usage); st == http.StatusOK &&
			!usage.Partial && len(usage.Data) == 1 && usage.Data[0].Requests == calls {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage of the known key after the outage: %+v; want %d requests, not partial", usage, calls)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("back to normal %v after the database returned; all %d calls in the ledger", time.Since(back).Round(time.Millisecond), calls)

	for _, sub := range []string{"unavailable;", "answers again"} {
		for _, l := range linesWith(logs.String(), sub) {
			t.Log(l)
		}
	}
	t.Logf("the meter logged %d lines during the outage", len(linesWith(logs.String(), "usage batch")))
	// Every loop that polls the database logged the outage once when it
	// began and once when it ended, not once per attempt.
	for _, component := range []string{"queue:", "invalidation bus", "catalog", "batches sweep", "gateway:"} {
		if lines := linesWith(logs.String(), component); len(lines) > 2 {
			t.Errorf("%d log lines mention %q during a %v outage; want at most 2 (down, back):\n%s",
				len(lines), component, outage, strings.Join(lines[:min(len(lines), 6)], "\n"))
		}
	}
}

// A ledger that cannot be written while the database still reads (here
// another process holds the SQLite file's write lock; on PostgreSQL a
// table lock or a full disk does the same) must not hold reads of usage:
// they answer within gateway.UsageFlushWait from what is written, flagged
// partial, and complete once the ledger catches up.
func TestUsageReadsDoNotWaitForTheLedger(t *testing.T) {
	skipOnPostgres(t, "holds the SQLite file's write lock")
	srv := startServer(t, nil)
	tenant := sfdNewTenant(t, srv.URL, "reader")
	chat := func() {
		t.Helper()
		if st := do(t, "POST", srv.URL+"/v1/chat/completions", tenant.Key,
			map[string]any{"model": "mock/echo", "messages": []map[string]string{{"role": "user", "content": "hi"}}}, nil); st != http.StatusOK {
			t.Fatalf("chat: %d", st)
		}
	}
	type report struct {
		Partial bool `json:"partial"`
		Data    []struct {
			Requests int `json:"requests"`
		} `json:"data"`
		Total struct {
			Requests int `json:"requests"`
		} `json:"total"`
		Requests int `json:"requests"` // StackForDevs stats
		Logs     []any
	}
	chat()
	var r report
	if st, err := get(t, srv.URL+"/admin/usage?team_id=reader", 15*time.Second, &r); err != nil || st != 200 || r.Partial || len(r.Data) != 1 || r.Data[0].Requests != 1 {
		t.Fatalf("usage before the lock: %d %+v %v", st, r, err)
	}

	other, err := sql.Open("sqlite", srv.db)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	chat() // its record waits in the meter
	h := tenant.headers()
	for _, read := range []struct {
		name, path string
		headers    map[string]string
		requests   func(report) int
	}{
		{"GET /admin/usage", "/admin/usage?team_id=reader", nil, func(r report) int { return r.Data[0].Requests }},
		{"GET /v1/stats (StackForDevs)", "/v1/stats/reader/*", h, func(r report) int { return r.Requests }},
		{"GET /v1/logs (StackForDevs)", "/v1/logs/reader/*", h, func(r report) int { return len(r.Logs) }},
		{"GET /api/v1/usage (Athena)", "/api/v1/usage", map[string]string{"Authorization": "Bearer " + tenant.Key}, func(r report) int { return r.Total.Requests }},
	} {
		req, _ := http.NewRequest("GET", srv.URL+read.path, nil)
		req.Header.Set("Authorization", "Bearer "+testAdminKey)
		for k, v := range read.headers {
			req.Header.Set(k, v)
		}
		resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
		if err != nil {
			t.Errorf("%s while the ledger cannot be written: %v; want an answer within %v", read.name, err, gateway.UsageFlushWait)
			continue
		}
		var r report
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !r.Partial || read.requests(r) != 1 {
			t.Errorf("%s while the ledger cannot be written: %d %+v (%v); want 200, partial, the 1 written call", read.name, resp.StatusCode, r, err)
		}
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		r = report{}
		if st, err := get(t, srv.URL+"/admin/usage?team_id=reader", 15*time.Second, &r); err == nil && st == 200 && !r.Partial && len(r.Data) == 1 && r.Data[0].Requests == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage after the lock was released: %+v; want 2 requests, not partial", r)
		}
	}
}
