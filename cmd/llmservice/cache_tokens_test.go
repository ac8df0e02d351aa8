package main

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
)

// TestCacheTokensInAdminUsage runs calls with prompt-cache breakpoints
// (cache_control on OpenAI-style content parts) to the Anthropic fake,
// which writes the prefix to its cache once and reads it after, and checks
// that /admin/usage shows the cache reads and writes in their own columns
// and prices each at its tier: the price table's for a model it knows,
// the catalog's cache_read_per_mtok and cache_write_per_mtok when set.
func TestCacheTokensInAdminUsage(t *testing.T) {
	env, _ := fakes(t)
	srv := startServer(t, env)
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	if st := do(t, "POST", srv.URL+"/admin/models", testAdminKey, map[string]any{"name": "cheap-claude", "provider": "anthropic",
		"upstream_model": "claude-3-5-haiku-latest", "input_per_mtok": 1, "output_per_mtok": 1,
		"cache_read_per_mtok": 0.5, "cache_write_per_mtok": 3}, nil); st != http.StatusCreated {
		t.Fatalf("POST /admin/models = %d", st)
	}
	var bad struct {
		Error struct{ Param string } `json:"error"`
	}
	if st := do(t, "POST", srv.URL+"/admin/models", testAdminKey, map[string]any{"name": "x", "provider": "anthropic",
		"cache_write_per_mtok": -1}, &bad); st != http.StatusBadRequest || bad.Error.Param != "cache_write_per_mtok" {
		t.Errorf("negative cache_write_per_mtok: status %d, error %+v; want 400 naming the field", st, bad)
	}
	chat := func(model, system, ttl string, stream bool) {
		t.Helper()
		body := `{"model":"` + model + `","stream":` + map[bool]string{false: "false", true: "true"}[stream] + `,
			"messages":[{"role":"system","content":[{"type":"text","text":"` + system + `","cache_control":{"type":"ephemeral"` + ttl + `}}]},
			{"role":"user","content":"question one"}]}`
		req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || (stream && !bytes.Contains(b, []byte("[DONE]"))) {
			t.Fatalf("chat %s: %d %s", model, resp.StatusCode, b)
		}
	}
	// The fake counts words: the system prompt (4, the cached prefix) and
	// the question (2) make a prompt of 6; the answer "echo: question one"
	// is 3.
	chat("claude-3-5-haiku-latest", "a long shared document", "", false)             // writes 4 (5 minutes)
	chat("claude-3-5-haiku-latest", "a long shared document", "", true)              // reads 4
	chat("claude-3-5-haiku-latest", "another long shared text", `,"ttl":"1h"`, true) // writes 4 (1 hour)
	chat("cheap-claude", "a long shared document", "", false)                        // reads 4, catalog prices

	type total struct {
		Group              string  `json:"group"`
		Requests           int64   `json:"requests"`
		PromptTokens       int64   `json:"prompt_tokens"`
		CompletionTokens   int64   `json:"completion_tokens"`
		CacheReadTokens    int64   `json:"cache_read_tokens"`
		CacheWriteTokens   int64   `json:"cache_write_tokens"`
		CacheWrite1hTokens int64   `json:"cache_write_1h_tokens"`
		CostUSD            float64 `json:"cost_usd"`
	}
	var out struct{ Data []total }
	if st := do(t, "GET", srv.URL+"/admin/usage?team_id=acme&group_by=model", testAdminKey, nil, &out); st != http.StatusOK {
		t.Fatalf("GET /admin/usage = %d", st)
	}
	// Claude 3.5 Haiku, per million tokens: input $0.80, output $4, cache
	// reads $0.08 (the table), 5-minute writes $1 (1.25x input), 1-hour
	// writes $1.60 (2x input). Each call: 2 plain input tokens and 3 output.
	haiku := 3*(2*0.8+3*4) + 4*1.0 + 4*0.08 + 4*1.6
	// cheap-claude: input and output $1, reads $0.50 from the catalog.
	cheap := 2*1 + 3*1 + 4*0.5
	want := []total{
		{Group: "cheap-claude", Requests: 1, PromptTokens: 6, CompletionTokens: 3, CacheReadTokens: 4, CostUSD: cheap / 1e6},
		{Group: "claude-3-5-haiku-latest", Requests: 3, PromptTokens: 18, CompletionTokens: 9, CacheReadTokens: 4, CacheWriteTokens: 4,
			CacheWrite1hTokens: 4, CostUSD: haiku / 1e6},
	}
	if len(out.Data) != len(want) {
		t.Fatalf("usage rows = %+v; want %+v", out.Data, want)
	}
	for i, w := range want {
		got := out.Data[i]
		cost := got.CostUSD
		got.CostUSD, w.CostUSD = 0, math.Round(w.CostUSD*1e9)/1e9
		if got != (total{Group: w.Group, Requests: w.Requests, PromptTokens: w.PromptTokens, CompletionTokens: w.CompletionTokens,
			CacheReadTokens: w.CacheReadTokens, CacheWriteTokens: w.CacheWriteTokens, CacheWrite1hTokens: w.CacheWrite1hTokens}) ||
			math.Abs(cost-w.CostUSD) > 1e-12 {
			got.CostUSD = cost
			t.Errorf("usage[%s] = %+v; want %+v", w.Group, got, w)
		}
	}
}
