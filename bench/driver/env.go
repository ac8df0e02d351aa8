package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"
)

// target is one way to reach the mock upstream.
type target struct {
	name string
	url  string // chat completions URL
	proc *proc  // the process whose CPU and memory are the target's own
	key  string // bearer key sent (all targets send one, so headers weigh the same)
}

// environment is the three running servers.
type environment struct {
	upstream, proxy, llm *proc
	key                  string // llmservice API key
	targets              []target
	loadBin              string
}

func (e *environment) stop() {
	// Front to back, so that llmservice's final usage flush can still
	// reach its database and no proxy logs a dead upstream.
	for _, p := range []*proc{e.llm, e.proxy, e.upstream} {
		if p != nil {
			p.stop()
		}
	}
}

// adminKey authorizes the driver's setup calls; the bench runs on loopback
// with a throwaway database, so a fixed key is fine.
const adminKey = "sk-admin-bench"

func startAll(ctx context.Context, c config, dir string) (*environment, error) {
	e := &environment{loadBin: filepath.Join(dir, "load")}
	var err error
	e.upstream, err = start("upstream", filepath.Join(dir, "upstream"),
		[]string{"-first-delay", c.firstDelay.String()}, nil, dir, "", true)
	if err != nil {
		return e, err
	}
	up := "http://" + e.upstream.addr
	if e.proxy, err = start("proxy", filepath.Join(dir, "proxy"), []string{"-upstream", up}, nil, dir, "", true); err != nil {
		return e, err
	}
	addr, err := freeAddr()
	if err != nil {
		return e, err
	}
	env := append([]string{
		"LLMSERVICE_ADDR=" + addr,
		"LLMSERVICE_DATABASE_URL=" + filepath.Join(dir, "bench.db"),
		"LLMSERVICE_ADMIN_KEY=" + adminKey,
		"LLMSERVICE_LOG_LEVEL=warn",
		// The access log (on by default) writes a JSON line per request:
		// a cost of its own, which the proxy does not pay and issue 17's
		// scenario does not include. -llmservice-env
		// LLMSERVICE_ACCESS_LOG=on measures it (the last value wins).
		"LLMSERVICE_ACCESS_LOG=off",
		"OPENAI_API_KEY=x",
		"OPENAI_BASE_URL=" + up + "/v1",
	}, c.llmEnv...)
	if e.llm, err = start("llmservice", filepath.Join(dir, "llmservice"), nil, env, dir, addr, false); err != nil {
		return e, err
	}
	for _, u := range []string{up + "/v1/models", "http://" + e.proxy.addr + "/v1/models", "http://" + addr + "/healthz"} {
		if err := waitHTTP(ctx, u); err != nil {
			return e, fmt.Errorf("%w (logs in %s)", err, dir)
		}
	}
	if e.key, err = createKey(ctx, addr, c.teamJSON, c.keyJSON); err != nil {
		return e, err
	}
	const path = "/v1/chat/completions"
	e.targets = []target{
		{"direct", up + path, e.upstream, e.key},
		{"proxy", "http://" + e.proxy.addr + path, e.proxy, e.key},
		{"llmservice", "http://" + addr + path, e.llm, e.key},
	}
	if c.limitsTeamJSON != "" {
		// The same process with a key whose team and key carry rate limits
		// and a budget, set far above the load so that every call is
		// admitted and the figure is the cost of checking them.
		k, err := createKey(ctx, addr, c.limitsTeamJSON, c.limitsKeyJSON)
		if err != nil {
			logf("no %s target: %v", limitsTarget, err)
		} else {
			e.targets = append(e.targets, target{limitsTarget, "http://" + addr + path, e.llm, k})
		}
	}
	// One plain and one streamed request through llmservice, so that a
	// misconfiguration fails here with its message, not as 12 s of errors.
	for _, t := range e.targets[2:] {
		for _, body := range []string{
			`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
			`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		} {
			if err := check(ctx, t.url, t.key, body); err != nil {
				return e, fmt.Errorf("%s: %w", t.name, err)
			}
		}
	}
	logf("upstream %s, proxy %s, llmservice %s (pid %d, %d, %d)", e.upstream.addr, e.proxy.addr, addr,
		e.upstream.pid(), e.proxy.pid(), e.llm.pid())
	return e, nil
}

// limitsTarget names llmservice called with the rate-limited, budgeted key.
const limitsTarget = "llmservice+limits"

// createKey creates a team and a key through the admin API and returns the
// key's secret text.
func createKey(ctx context.Context, addr, teamJSON, keyJSON string) (string, error) {
	if _, err := admin(ctx, addr, "/admin/teams", teamJSON); err != nil {
		return "", err
	}
	out, err := admin(ctx, addr, "/admin/keys", keyJSON)
	if err != nil {
		return "", err
	}
	var k struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(out, &k); err != nil || k.Key == "" {
		return "", fmt.Errorf("POST /admin/keys: no key in %s", out)
	}
	return k.Key, nil
}

// admin posts body to an admin path and returns the answer.
func admin(ctx context.Context, addr, path, body string) ([]byte, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("POST %s: %s: %s", path, resp.Status, b)
	}
	return b, nil
}

// check sends one request and wants a 200 with a body.
func check(ctx context.Context, url, key, body string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("check %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte("Hello")) {
		return fmt.Errorf("check %s: %s: %s", url, resp.Status, b)
	}
	return nil
}
