package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// agentsDir is where the pinned clients are installed (npm ci there).
var agentsDir = filepath.Join("..", "..", "test", "agents")

// agentBinary returns the path of a pinned client's executable, skipping
// the test when test/agents has not been installed.
func agentBinary(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(agentsDir, "node_modules", rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing in CI: .ci/run installs it (npm ci in test/agents)", rel)
		}
		t.Skipf("%s is not installed: run `npm ci` in test/agents (%v)", rel, err)
	}
	return p
}

// recordingProxy sits between a client and the server and keeps the
// bodies the client sent, in order.
type recordingProxy struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	paths  []string
}

func newRecordingProxy(t *testing.T, target string) *recordingProxy {
	u, _ := url.Parse(target)
	rp := &recordingProxy{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.FlushInterval = -1
	rp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rp.mu.Lock()
		rp.bodies = append(rp.bodies, b)
		rp.paths = append(rp.paths, r.Method+" "+r.URL.RequestURI())
		rp.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(rp.Close)
	return rp
}

func (rp *recordingProxy) sent() ([][]byte, []string) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([][]byte(nil), rp.bodies...), append([]string(nil), rp.paths...)
}

// runClaude runs `claude -p prompt` offline against base, in a fresh HOME
// and working directory, and returns its stdout and the directory.
func runClaude(t *testing.T, bin, base, key, model, prompt string) (string, string) {
	t.Helper()
	home := t.TempDir()
	work := filepath.Join(home, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-p", prompt, "--permission-mode", "acceptEdits", "--allowedTools", "Bash")
	cmd.Dir = work
	cmd.Env = []string{
		"PATH=/usr/bin:/bin", "HOME=" + home,
		"ANTHROPIC_BASE_URL=" + base, "ANTHROPIC_API_KEY=" + key, "ANTHROPIC_MODEL=" + model,
		"DISABLE_TELEMETRY=1", "DISABLE_AUTOUPDATER=1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "CLAUDE_CODE_MAX_RETRIES=0",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("claude -p %q: %v\nstdout: %s\nstderr: %s", prompt, err, stdout.String(), stderr.String())
	}
	return stdout.String(), work
}

// TestClaudeCode runs the pinned Claude Code through llmservice in both
// lanes: to an Anthropic model (pass-through to the Anthropic fake) and to
// an OpenAI model (translation to the OpenAI-compatible fake), a plain
// prompt and a tool-use turn each. In the pass-through lane every request
// must reach the fake byte for byte as Claude Code sent it, apart from the
// model, and the thinking block Claude Code sends back on the tool turn
// must pass the fake's signature check.
func TestClaudeCode(t *testing.T) {
	bin := agentBinary(t, "@anthropic-ai/claude-code-linux-x64/claude")
	srv, key, an, oa := messagesEnv(t)
	proxy := newRecordingProxy(t, srv.URL)

	lanes := []struct {
		name, model string
		fake        *providertest.Fake
	}{
		{"pass-through", "cc-alias", an.Fake},
		{"translation", "gpt-4o-mini", oa},
	}
	for _, lane := range lanes {
		t.Run(lane.name, func(t *testing.T) {
			before := len(lane.fake.Requests())
			out, _ := runClaude(t, bin, proxy.URL, key, lane.model, "Say pong")
			if !strings.Contains(out, "pong: Say pong") {
				t.Errorf("plain prompt: stdout = %q; want the fake's answer", out)
			}
			out, work := runClaude(t, bin, proxy.URL, key, lane.model, "TOOLTEST-WRITE: make a file")
			if _, err := os.Stat(filepath.Join(work, "created-by-tool")); err != nil {
				t.Errorf("the tool did not run: %v (stdout %q)", err, out)
			}
			if !strings.Contains(out, "tool result:") || !strings.Contains(out, "made-file") {
				t.Errorf("tool turn: stdout = %q; want the fake's answer quoting the tool's output", out)
			}
			if got := len(lane.fake.Requests()) - before; got < 3 {
				t.Errorf("upstream got %d requests; want at least 3 (a prompt, a tool call and its result)", got)
			}
		})
	}

	// Byte identity of the pass-through lane, request by request.
	bodies, paths := proxy.sent()
	var sentMessages [][]byte
	for i, p := range paths {
		if strings.HasPrefix(p, "POST /v1/messages") && bytes.Contains(bodies[i], []byte(`"model":"cc-alias"`)) {
			sentMessages = append(sentMessages, bodies[i])
		}
	}
	got := an.Requests()
	if len(got) != len(sentMessages) {
		t.Fatalf("the Anthropic fake got %d requests; Claude Code sent %d to cc-alias", len(got), len(sentMessages))
	}
	sawThinking := false
	for i, r := range got {
		want := bytes.Replace(sentMessages[i], []byte(`"model":"cc-alias"`), []byte(`"model":"claude-fake-upstream"`), 1)
		if !bytes.Equal(r.Body, want) {
			t.Errorf("request %d reached the upstream changed beyond its model:\n got %.400s\nwant %.400s", i, r.Body, want)
		}
		if bytes.Contains(r.Body, []byte(`"type":"thinking"`)) && bytes.Contains(r.Body, []byte(`"signature":"`)) {
			sawThinking = true
		}
	}
	if !sawThinking {
		t.Error("Claude Code never sent a signed thinking block back on the tool turn")
	}
	for _, b := range an.Sent() {
		if bytes.HasPrefix(b, []byte(`{"type":"error"`)) {
			t.Errorf("the Anthropic fake refused a request: %s", b)
		}
	}

	// Every call is in the ledger once, with tokens and cost.
	var usage struct {
		Data []struct {
			Group        string  `json:"group"`
			Requests     int     `json:"requests"`
			PromptTokens int     `json:"prompt_tokens"`
			CacheRead    int     `json:"cache_read_tokens"`
			CacheWrite   int     `json:"cache_write_tokens"`
			CacheWrite1h int     `json:"cache_write_1h_tokens"`
			CostUSD      float64 `json:"cost_usd"`
		} `json:"data"`
	}
	if st := do(t, "GET", srv.URL+"/admin/usage?group_by=model", testAdminKey, nil, &usage); st != 200 {
		t.Fatalf("GET /admin/usage: %d", st)
	}
	byModel := map[string]int{}
	for _, g := range usage.Data {
		byModel[g.Group] = g.Requests
		if g.Group == "cc-alias" && (g.PromptTokens == 0 || g.CostUSD == 0) {
			t.Errorf("cc-alias usage = %+v; want tokens and cost", g)
		}
		// Claude Code marks its prompt with cache_control, so the fake
		// reports cache reads and writes in both tiers: the pass-through
		// lane's scanner must carry them to their own columns.
		if g.Group == "cc-alias" && (g.CacheRead == 0 || g.CacheWrite == 0 || g.CacheWrite1h == 0) {
			t.Errorf("cc-alias usage = %+v; want cache reads and writes (5m and 1h) in their own columns", g)
		}
	}
	if byModel["cc-alias"] != len(an.Requests()) || byModel["gpt-4o-mini"] != len(oa.Requests()) {
		t.Errorf("ledger requests per model = %v; upstream requests: cc-alias %d, gpt-4o-mini %d", byModel, len(an.Requests()), len(oa.Requests()))
	}
}

// TestAnthropicSDK runs the official @anthropic-ai/sdk's scenarios
// (test/agents/anthropic-sdk.mjs) through llmservice against every
// upstream family: pass-through to the Anthropic fake, translation to the
// others.
func TestAnthropicSDK(t *testing.T) {
	script := agentBinary(t, filepath.Join("..", "anthropic-sdk.mjs"))
	agentBinary(t, filepath.Join("@anthropic-ai", "sdk", "package.json"))
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	an := providertest.NewAnthropicMessages(t)
	oa := providertest.NewOpenAI(t)
	ge := providertest.NewGemini(t)
	ol := providertest.NewOllama(t)
	srv := startServer(t, map[string]string{
		"ANTHROPIC_API_KEY": "sk-upstream-anthropic", "ANTHROPIC_BASE_URL": an.URL,
		"OPENAI_API_KEY": "sk-upstream-openai", "OPENAI_BASE_URL": oa.URL + "/v1",
		"GEMINI_API_KEY": "upstream-gemini", "GEMINI_BASE_URL": ge.URL,
		"OLLAMA_BASE_URL": ol.URL,
	})
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	runs := []struct{ name, model, auth string }{
		{"anthropic", "claude-sonnet-4-5", "bearer"},
		{"anthropic/x-api-key", "claude-sonnet-4-5", "x-api-key"},
		{"openai", "gpt-4o-mini", "bearer"},
		{"openai/x-api-key", "gpt-4o-mini", "x-api-key"},
		{"gemini", "gemini-2.0-flash", "bearer"},
		{"ollama", "ollama/llama3.1", "bearer"},
		{"mock", "mock/echo", "bearer"},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, script, srv.URL, key, r.model, r.auth)
			cmd.Dir = filepath.Dir(script)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
				if !strings.Contains(line, `"ok":true`) {
					t.Errorf("scenario failed: %s", line)
				}
			}
			if err != nil {
				t.Errorf("node anthropic-sdk.mjs: %v\n%s", err, stderr.String())
			}
		})
	}
}
