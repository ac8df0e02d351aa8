package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/llmservice/llmservice/internal/postgres/pgtest"
)

// postChat sends a raw chat completion body with extra headers and returns
// the status and the answer.
func postChat(t *testing.T, base, key, body string, header map[string]string) (int, string) {
	t.Helper()
	st, b, err := tryChat(base, key, body, header)
	if err != nil {
		t.Fatalf("POST /v1/chat/completions: %v", err)
	}
	return st, b
}

// tryChat is postChat returning a transport error.
func tryChat(base, key, body string, header map[string]string) (int, string, error) {
	req, err := http.NewRequest("POST", base+"/v1/chat/completions", bytes.NewBufferString(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	for k, v := range header {
		req.Header[k] = []string{v}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

const echoBody = `{"model":"mock/echo","messages":[{"role":"user","content":"hi"}]}`

// teamRequests returns the requests the ledger holds for team.
func teamRequests(t *testing.T, base, team string) int64 {
	t.Helper()
	var out struct {
		Data []struct {
			Requests int64 `json:"requests"`
		} `json:"data"`
	}
	if st := do(t, "GET", base+"/admin/usage?team_id="+team, testAdminKey, nil, &out); st != http.StatusOK {
		t.Fatalf("GET /admin/usage: status %d", st)
	}
	var n int64
	for _, g := range out.Data {
		n += g.Requests
	}
	return n
}

// waitRequests polls the ledger until team has want requests, and
// returns what it holds at the end (generous deadline: replays and
// flushes are asynchronous).
func waitRequests(t *testing.T, base, team string, want int64) int64 {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := teamRequests(t, base, team)
		if got >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// One tenant's hostile input once stopped the PostgreSQL ledger for
// everyone: a NUL in the model or a project id that is not UTF-8 made the
// batch fail with SQLSTATE 22021, retried for ever. Now the strings are
// made storable first and the other tenants' usage keeps flowing.
func TestHostileRecordsLeaveOtherTenantsUsageFlowingOnPostgres(t *testing.T) {
	if os.Getenv("LLMSERVICE_TEST_POSTGRES_URL") == "" {
		t.Skip("LLMSERVICE_TEST_POSTGRES_URL not set")
	}
	t.Setenv("LLMSERVICE_ENCRYPTION_KEY", "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=") // read from the process environment
	ts := startServer(t, map[string]string{"LLMSERVICE_DATABASE_URL": pgtest.URL(t),
		"LLMSERVICE_JOURNAL_DIR": t.TempDir(), "LLMSERVICE_LOG_LEVEL": "error"})
	_, evil, _ := newKey(t, ts.URL, "evil", nil)
	_, good, _ := newKey(t, ts.URL, "good", nil)
	hostile := []struct {
		name, body string
		header     map[string]string
	}{
		{"NUL in the model", `{"model":"mock/a\u0000b","messages":[{"role":"user","content":"hi"}]}`, nil},
		{"project id not UTF-8", echoBody, map[string]string{"X-Project-Id": "p\xff\xfe\x00"}},
	}
	for _, h := range hostile {
		// Answered, or cut short: main echoes the model in a response
		// header, where a NUL breaks the answer (not this test's concern).
		st, body, err := tryChat(ts.URL, evil, h.body, h.header)
		if err == nil && st >= 500 {
			t.Errorf("%s: status %d; want a 2xx or a 4xx (%s)", h.name, st, body)
		}
	}
	const n = 20
	for i := range n {
		if st, body := postChat(t, ts.URL, good, echoBody, nil); st != http.StatusOK {
			t.Fatalf("good call %d: status %d: %s", i, st, body)
		}
	}
	if got := waitRequests(t, ts.URL, "good", n); got != n {
		t.Errorf("team good's requests in the ledger = %d; want %d (the hostile records stopped the ledger)", got, n)
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory (root only):
// a real filesystem that fills up.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file in dir until its filesystem is full, and returns a
// function that frees the space.
func fill(t *testing.T, dir string) func() {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			break
		}
	}
	for _, n := range []int{4096, 512, 1} { // the last pages too
		small := chunk[:n]
		for {
			if _, err := f.Write(small); err != nil {
				break
			}
		}
	}
	f.Close()
	return func() { _ = os.Remove(name) }
}

// waitExit waits for the process to exit within limit; it fails the test
// if it does not (the shutdown hung).
func waitExit(t *testing.T, cmd *exec.Cmd, limit time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		t.Fatalf("server did not exit within %v of SIGTERM", limit)
		return nil
	}
}

// callMany makes n echo calls from workers goroutines and returns how many
// were answered 200, and the other statuses seen.
func callMany(t *testing.T, base, key string, n, workers int) (ok int64, others map[int]int) {
	t.Helper()
	var (
		mu   sync.Mutex
		next atomic.Int64
		wg   sync.WaitGroup
	)
	others = map[int]int{}
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				st, _ := postChat(t, base, key, echoBody, nil)
				if st == http.StatusOK {
					atomic.AddInt64(&ok, 1)
					continue
				}
				mu.Lock()
				others[st]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ok, others
}

// startLogged is startProcess with the output in a file, read whole
// once the process has exited (a pipe may lose its last lines).
func startLogged(t *testing.T, bin string, env []string) (*exec.Cmd, string, string) {
	t.Helper()
	addr := freeAddr(t)
	log := filepath.Join(t.TempDir(), "out.log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(append(os.Environ(), env...), "LLMSERVICE_ADDR="+addr)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitHealthy(t, "http://"+addr)
	return cmd, "http://" + addr, log
}

// ledgerEnv is the environment of a server whose SQLite file lives in
// dbDir and journal in journalDir, with a small buffer and a short
// shutdown deadline.
func ledgerEnv(dbDir, journalDir string) []string {
	return []string{"LLMSERVICE_DATABASE_URL=" + filepath.Join(dbDir, "db.sqlite"), "LLMSERVICE_ADMIN_KEY=" + testAdminKey,
		"LLMSERVICE_JOURNAL_DIR=" + journalDir, "LLMSERVICE_USAGE_BUFFER=64", "LLMSERVICE_SHUTDOWN_TIMEOUT=10s",
		"LLMSERVICE_LOG_LEVEL=info"}
}

// The disk of the SQLite file fills up while calls are answered. The
// records go to the journal (another filesystem); SIGTERM exits within its
// deadline, and the next start replays every answered call, once.
func TestFullDiskJournalsEveryAnsweredCallAcrossSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	dbDir := mountTmpfs(t, 32<<20)
	env := ledgerEnv(dbDir, filepath.Join(t.TempDir(), "journal"))
	cmd, base, out := startProcess(t, bin, env)
	_, key, _ := newKey(t, base, "acme", nil)
	free := fill(t, dbDir)

	ok, others := callMany(t, base, key, 400, 16)
	if len(others) > 0 {
		t.Errorf("statuses other than 200 with the journal writable: %v", others)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, cmd, 60*time.Second); err != nil {
		t.Errorf("exit after SIGTERM: %v; want 0 (every record journaled)\n%s", err, out.String())
	}
	free()

	_, base2, _ := startProcess(t, bin, env)
	if got := waitRequests(t, base2, "acme", ok); got != ok {
		t.Errorf("ledger after restart holds %d requests; want the %d answered", got, ok)
	}
	t.Logf("%d calls answered with the disk full, all replayed from the journal", ok)
}

// With the journal's disk full too, new calls are refused with 503 and
// /readyz fails; SIGTERM exits, non-zero, within its deadline, saying how
// many records it lost: every answered call is in the ledger or counted.
func TestFullDiskAndFullJournalRefuseCallsAndCountTheLost(t *testing.T) {
	bin := buildBinary(t)
	dbDir := mountTmpfs(t, 32<<20)
	journalDir := mountTmpfs(t, 1<<20)
	env := ledgerEnv(dbDir, journalDir)
	cmd, base, log := startLogged(t, bin, env)
	_, key, _ := newKey(t, base, "acme", nil)
	freeDB := fill(t, dbDir)
	fill(t, journalDir)

	var ok int64
	refused := 0
	for i := 0; i < 2000 && refused < 5; i++ {
		st, body := postChat(t, base, key, echoBody, nil)
		switch {
		case st == http.StatusOK:
			ok++
		case st == http.StatusServiceUnavailable && regexp.MustCompile(`usage_ledger_unavailable`).MatchString(body):
			refused++
		default:
			t.Fatalf("call %d: status %d: %s", i, st, body)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if refused == 0 {
		t.Fatalf("no call refused after %d answered with the database and the journal full", ok)
	}
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d with the ledger full; want 503", resp.StatusCode)
	}
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %v, %v; want 200 (liveness)", resp, err)
	} else {
		resp.Body.Close()
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if err := waitExit(t, cmd, 60*time.Second); !errors.As(err, &exit) {
		t.Errorf("exit after SIGTERM: %v; want a non-zero status", err)
	}
	out, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(\d+) usage records could be written neither`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no count of lost records in the output:\n%s", out)
	}
	lost, _ := strconv.ParseInt(string(m[1]), 10, 64)

	freeDB()
	_, base2, _ := startProcess(t, bin, env)
	stored := teamRequests(t, base2, "acme")
	if stored+lost != ok {
		t.Errorf("answered %d calls; ledger holds %d and %d were reported lost; want them to add up", ok, stored, lost)
	}
	t.Logf("answered %d, refused %d, stored %d, reported lost %d", ok, refused, stored, lost)
}
