package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// runCodex runs `codex exec prompt` offline against base (the gateway's
// /v1), in a fresh CODEX_HOME and working directory, and returns its
// stdout and the directory.
func runCodex(t *testing.T, bin, base, key, model, prompt string) (string, string) {
	t.Helper()
	home := t.TempDir()
	work := filepath.Join(home, "work")
	codexHome := filepath.Join(home, ".codex")
	for _, d := range []string{work, codexHome} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	config := `model = "` + model + `"
model_provider = "llmservice"

[model_providers.llmservice]
name = "llmservice"
base_url = "` + base + `/v1"
wire_api = "responses"
env_key = "LLMSERVICE_API_KEY"
request_max_retries = 0
stream_max_retries = 0

[features]
plugins = false
`
	if err := os.WriteFile(filepath.Join(codexHome, "config.toml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "exec", "--skip-git-repo-check", "--sandbox", "workspace-write", prompt)
	cmd.Dir = work
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "CODEX_HOME=" + codexHome, "LLMSERVICE_API_KEY=" + key}
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("codex exec %q: %v\nstdout: %s\nstderr: %s", prompt, err, stdout.String(), stderr.String())
	}
	return stdout.String(), work
}

// TestCodex runs the pinned Codex CLI through llmservice's Responses API:
// a plain prompt and a tool-use turn (exec_command) to a model on the
// Anthropic fake (translation lane) and to one on the OpenAI fake
// (pass-through lane, byte for byte). Every call is in the
// ledger once, with tokens and cost.
func TestCodex(t *testing.T) {
	bin := agentBinary(t, filepath.Join(".bin", "codex"))
	srv, key, an, oa := messagesEnv(t)
	proxy := newRecordingProxy(t, srv.URL)
	if st := do(t, "POST", srv.URL+"/admin/models", testAdminKey, map[string]any{"name": "gpt-5.5", "provider": "anthropic",
		"upstream_model": "claude-fake-upstream", "input_per_mtok": 3, "output_per_mtok": 15}, nil); st != http.StatusCreated {
		t.Fatalf("POST /admin/models: %d", st)
	}
	lanes := []struct {
		name, model string
		fake        *providertest.Fake
	}{
		{"anthropic", "gpt-5.5", an.Fake},
		{"openai", "gpt-4o-mini", oa},
	}
	for _, lane := range lanes {
		t.Run(lane.name, func(t *testing.T) {
			before := len(lane.fake.Requests())
			out, _ := runCodex(t, bin, proxy.URL, key, lane.model, "Say pong")
			if !strings.Contains(out, "pong:") || !strings.Contains(out, "Say pong") {
				t.Errorf("plain prompt: stdout = %q; want the fake's answer", out)
			}
			out, work := runCodex(t, bin, proxy.URL, key, lane.model, "TOOLTEST: make a file")
			if _, err := os.Stat(filepath.Join(work, "created-by-tool")); err != nil {
				t.Errorf("the tool did not run: %v (stdout %q)", err, out)
			}
			if !strings.Contains(out, "tool result:") || !strings.Contains(out, "made-file") {
				t.Errorf("tool turn: stdout = %q; want the fake's answer quoting the tool's output", out)
			}
			if got := len(lane.fake.Requests()) - before; got != 3 {
				t.Errorf("upstream got %d requests; want 3 (a prompt, a tool call and its result)", got)
			}
		})
	}

	// The OpenAI model took the pass-through lane: each request reached
	// /v1/responses as Codex sent it (reasoning items with their
	// encrypted_content included, which the fake checks), and the
	// Anthropic model the translation lane.
	bodies, paths := proxy.sent()
	var sent [][]byte
	for i, p := range paths {
		if p == "POST /v1/responses" && bytes.Contains(bodies[i], []byte(`"model":"gpt-4o-mini"`)) {
			sent = append(sent, bodies[i])
		}
	}
	got := oa.Requests()
	if len(got) != len(sent) {
		t.Fatalf("the OpenAI fake got %d requests; Codex sent %d to gpt-4o-mini", len(got), len(sent))
	}
	sawReasoning := false
	for i, r := range got {
		if r.Path != "/v1/responses" || !bytes.Equal(r.Body, sent[i]) {
			t.Errorf("request %d reached the upstream at %s changed:\n got %.300s\nwant %.300s", i, r.Path, r.Body, sent[i])
		}
		sawReasoning = sawReasoning || bytes.Contains(r.Body, []byte(providertest.FakeEncryptedReasoning))
	}
	if !sawReasoning {
		t.Error("Codex never sent the fake's reasoning item back")
	}
	for _, r := range an.Requests() {
		if r.Path != "/v1/messages" {
			t.Errorf("the Anthropic fake got %s", r.Path)
		}
	}

	var usage struct {
		Data []struct {
			Group        string  `json:"group"`
			Requests     int     `json:"requests"`
			PromptTokens int     `json:"prompt_tokens"`
			CostUSD      float64 `json:"cost_usd"`
		} `json:"data"`
	}
	if st := do(t, "GET", srv.URL+"/admin/usage?group_by=model", testAdminKey, nil, &usage); st != 200 {
		t.Fatalf("GET /admin/usage: %d", st)
	}
	byModel := map[string]int{}
	for _, g := range usage.Data {
		byModel[g.Group] = g.Requests
		if g.PromptTokens == 0 || g.CostUSD == 0 {
			t.Errorf("%s usage = %+v; want tokens and cost", g.Group, g)
		}
	}
	if byModel["gpt-5.5"] != len(an.Requests()) || byModel["gpt-4o-mini"] != len(oa.Requests()) {
		t.Errorf("ledger requests per model = %v; upstream requests: gpt-5.5 %d, gpt-4o-mini %d", byModel, len(an.Requests()), len(oa.Requests()))
	}
}
