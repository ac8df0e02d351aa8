package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
)

// buildBinary compiles the server once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "llmservice")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProcess runs the binary with env and waits until it serves.
func startProcess(t *testing.T, bin string, env []string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin)
	cmd.Env = append(append(os.Environ(), env...), "LLMSERVICE_ADDR="+addr)
	out := &lockedBuffer{}
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.add(sc.Text() + "\n")
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitHealthy(t, "http://"+addr)
	return cmd, "http://" + addr, out
}

// lockedBuffer collects a process's output while tests read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) add(s string) {
	l.mu.Lock()
	l.b.WriteString(s)
	l.mu.Unlock()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSIGTERMKeepsEveryUsageRecord makes N calls, sends SIGTERM to the real
// process, restarts it and expects exactly N records with tokens and cost.
func TestSIGTERMKeepsEveryUsageRecord(t *testing.T) {
	bin := buildBinary(t)
	env, _ := fakes(t)
	var envList []string
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}
	envList = append(envList, "LLMSERVICE_DATABASE_URL="+filepath.Join(t.TempDir(), "db.sqlite"), "LLMSERVICE_ADMIN_KEY="+testAdminKey)

	cmd, base, _ := startProcess(t, bin, envList)
	_, key, _ := newKey(t, base, "acme", nil)
	c := client(base, key)
	const n = 57
	for i := 0; i < n; i++ {
		model := "gpt-4o-mini"
		if i%3 == 0 {
			model = "claude-3-5-haiku-latest"
		}
		if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(fmt.Sprintf("call %d", i))}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit within 30s of SIGTERM")
	}

	_, base2, _ := startProcess(t, bin, envList)
	var out struct {
		Data []struct {
			Group        string  `json:"group"`
			Requests     int64   `json:"requests"`
			PromptTokens int64   `json:"prompt_tokens"`
			CostUSD      float64 `json:"cost_usd"`
		} `json:"data"`
	}
	do(t, "GET", base2+"/admin/usage?team_id=acme&group_by=model", testAdminKey, nil, &out)
	var total int64
	for _, g := range out.Data {
		total += g.Requests
		if g.PromptTokens == 0 || g.CostUSD <= 0 {
			t.Errorf("group %s: tokens %d cost %v; want both recorded", g.Group, g.PromptTokens, g.CostUSD)
		}
	}
	if total != n {
		t.Errorf("usage counts %d requests after SIGTERM and restart; want %d (%+v)", total, n, out.Data)
	}
}

// TestFirstStartPrintsAdminKeyOnce checks the zero-configuration start: a
// generated admin key is printed once and works; a restart does not print it.
func TestFirstStartPrintsAdminKeyOnce(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	env := []string{"LLMSERVICE_DATABASE_URL=" + filepath.Join(dir, "db.sqlite"), "LLMSERVICE_ADMIN_KEY="}
	p, base, out := startProcess(t, bin, env)
	re := regexp.MustCompile(`sk-admin-[A-Z0-9]+`)
	deadline := time.Now().Add(5 * time.Second)
	var admin string
	for admin == "" && time.Now().Before(deadline) {
		admin = re.FindString(out.String())
		time.Sleep(20 * time.Millisecond)
	}
	if admin == "" {
		t.Fatalf("no admin key printed:\n%s", out.String())
	}
	if st := do(t, "GET", base+"/admin/teams", admin, nil, nil); st != 200 {
		t.Fatalf("generated admin key: status %d", st)
	}
	_ = p.Process.Signal(syscall.SIGTERM)
	_ = p.Wait()
	_, base2, out2 := startProcess(t, bin, env)
	if st := do(t, "GET", base2+"/admin/teams", admin, nil, nil); st != 200 {
		t.Fatalf("admin key after restart: status %d", st)
	}
	if re.MatchString(out2.String()) {
		t.Errorf("restart printed an admin key again")
	}
}
