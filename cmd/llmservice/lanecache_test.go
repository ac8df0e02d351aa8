package main

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// laneCacheEnv starts the agent fakes of the three pass-through protocols
// and a gateway in front of them, with two teams whose cache is on; it
// returns a key of each and a count of the calls each fake has had.
func laneCacheEnv(t *testing.T) (*testServer, map[string]string, func() int) {
	t.Helper()
	srv, _, gm, oa, an := geminiEnv(t)
	keys := map[string]string{}
	for _, team := range []string{"lane-a", "lane-b"} {
		_, k, _ := newKey(t, srv.URL, team, nil)
		keys[team] = k
		if st := do(t, "PATCH", srv.URL+"/admin/teams/"+team, testAdminKey, map[string]any{"cache": map[string]any{"ttl": "1h"}}, nil); st != 200 {
			t.Fatalf("PATCH cache: status %d", st)
		}
	}
	return srv, keys, func() int { return len(gm.Requests()) + len(oa.Requests()) + len(an.Requests()) }
}

// laneIDs are the parts of an answer a replay may change: none today (a
// hit replays the answer as first served), but the comparison must not
// depend on it.
var laneIDs = regexp.MustCompile(`"(id|created_at|responseId|item_id)":"?[^",]*"?`)

func lanePost(t *testing.T, url, key, body string, h map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("x-goog-api-key", key)
	req.Header.Set("anthropic-version", "2023-06-01")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestLaneResponseCache: Anthropic Messages, Responses and Gemini calls
// served through the pass-through lane are cached per team: the second of
// two identical calls (field order and labels aside) is a hit with no
// upstream call and the same bytes, whole or streamed; another team
// misses; a stream is answered from a whole answer and the reverse.
func TestLaneResponseCache(t *testing.T) {
	srv, keys, upstream := laneCacheEnv(t)
	calls := []struct {
		name         string
		path, stream string // the whole call's path, the streamed one's
		body, again  string // again: the same request written otherwise
		streamField  bool   // the body says stream: true for a stream
	}{
		{"anthropic", "/v1/messages", "/v1/messages",
			`{"model":"claude-sonnet-4-5","max_tokens":200,"messages":[{"role":"user","content":"cache me, Claude"}],"metadata":{"user_id":"u1"}}`,
			`{"messages":[{"content":"cache me, Claude","role":"user"}], "max_tokens":200, "model":"claude-sonnet-4-5", "metadata":{"user_id":"u2"}}`, true},
		{"responses", "/v1/responses", "/v1/responses",
			`{"model":"gpt-4o-mini","input":"cache me, GPT","store":false,"user":"u1"}`,
			`{"store":true, "input":"cache me, GPT","model":"gpt-4o-mini","metadata":{"a":"b"}}`, true},
		{"gemini", "/v1beta/models/gm-alias:generateContent", "/v1beta/models/gm-alias:streamGenerateContent?alt=sse",
			`{"contents":[{"role":"user","parts":[{"text":"cache me, Gemini"}]}],"generationConfig":{"temperature":0.5,"maxOutputTokens":200}}`,
			`{"generationConfig":{"maxOutputTokens":200,"temperature":0.5},"contents":[{"parts":[{"text":"cache me, Gemini"}],"role":"user"}],"labels":{"x":"y"}}`, false},
	}
	streamed := func(body string, on bool) string {
		if !on {
			return body
		}
		return strings.Replace(body, "{", `{"stream":true,`, 1)
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			for _, mode := range []struct {
				name   string
				stream bool
			}{{"whole", false}, {"stream", true}} {
				path := c.path
				if mode.stream {
					path = c.stream
				}
				// Each mode its own prompt, so that the first call misses.
				body := strings.Replace(streamed(c.body, mode.stream && c.streamField), "cache me", mode.name+": cache me", 1)
				again := strings.Replace(streamed(c.again, mode.stream && c.streamField), "cache me", mode.name+": cache me", 1)
				n := upstream()
				st, h1, b1 := lanePost(t, srv.URL+path, keys["lane-a"], body, nil)
				if st != 200 || h1.Get("X-Llmservice-Cache") != "miss" {
					t.Fatalf("%s first: %d cache %q: %s", mode.name, st, h1.Get("X-Llmservice-Cache"), b1)
				}
				st, h2, b2 := lanePost(t, srv.URL+path, keys["lane-a"], again, nil)
				if st != 200 || h2.Get("X-Llmservice-Cache") != "hit" {
					t.Fatalf("%s second: %d cache %q: %s", mode.name, st, h2.Get("X-Llmservice-Cache"), b2)
				}
				if got := upstream() - n; got != 1 {
					t.Fatalf("%s: %d upstream calls for a miss and a hit; want 1", mode.name, got)
				}
				if a, b := laneIDs.ReplaceAllString(b1, ""), laneIDs.ReplaceAllString(b2, ""); a != b {
					t.Fatalf("%s: the hit differs from the miss:\n%s\n%s", mode.name, a, b)
				}
				if mode.stream != strings.HasPrefix(h2.Get("Content-Type"), "text/event-stream") {
					t.Fatalf("%s: hit's content type %q", mode.name, h2.Get("Content-Type"))
				}
				st, h3, b3 := lanePost(t, srv.URL+path, keys["lane-b"], body, nil)
				if st != 200 || h3.Get("X-Llmservice-Cache") != "miss" || upstream()-n != 2 {
					t.Fatalf("%s other team: %d cache %q, upstream %d: %s", mode.name, st, h3.Get("X-Llmservice-Cache"), upstream()-n, b3)
				}
				_, h4, _ := lanePost(t, srv.URL+path, keys["lane-a"], body, map[string]string{"Cache-Control": "no-cache"})
				if h4.Get("X-Llmservice-Cache") != "bypass" || upstream()-n != 3 {
					t.Fatalf("%s no-cache: cache %q, upstream %d", mode.name, h4.Get("X-Llmservice-Cache"), upstream()-n)
				}
			}
		})
	}

	t.Run("Ledger", func(t *testing.T) {
		var usage struct {
			Data []struct {
				CacheHits int     `json:"cache_hits"`
				SavedUSD  float64 `json:"saved_usd"`
			} `json:"data"`
		}
		if st := do(t, "GET", srv.URL+"/admin/usage?team_id=lane-a", testAdminKey, nil, &usage); st != 200 || len(usage.Data) != 1 {
			t.Fatalf("usage: %d %+v", st, usage)
		}
		// A hit per protocol and mode.
		if d := usage.Data[0]; d.CacheHits != 6 || d.SavedUSD <= 0 {
			t.Fatalf("usage %+v; want 6 hits and savings", d)
		}
	})

	// The official SDKs read a stream replayed from a whole answer and a
	// whole answer kept from a stream.
	t.Run("SDKs", func(t *testing.T) {
		script := agentBinary(t, filepath.Join("..", "cache-sdks.mjs"))
		agentBinary(t, filepath.Join("@anthropic-ai", "sdk", "package.json"))
		agentBinary(t, filepath.Join("openai", "package.json"))
		agentBinary(t, filepath.Join("@google", "genai", "package.json"))
		n := upstream()
		runScenarios(t, script, srv.URL, keys["lane-a"], "claude-sonnet-4-5", "gpt-4o-mini", "gm-alias")
		// Six scenarios of two calls each: the first of each pair goes
		// upstream, the second is a hit.
		if got := upstream() - n; got != 6 {
			t.Errorf("%d upstream calls for 12 SDK calls; want 6", got)
		}
	})
}

// TestModelCachePolicy: a catalog model's cache policy, set with POST or
// PATCH /admin/models, applies to teams without their own; {"cache": null}
// switches it off, and a bad TTL is a 400 naming cache.ttl.
func TestModelCachePolicy(t *testing.T) {
	srv, keys, upstream := cacheServer(t, nil)
	url := srv.URL + "/v1/chat/completions"
	body := map[string]any{"model": "cached-mini", "messages": []map[string]any{{"role": "user", "content": "a model's cache"}}}
	if st := do(t, "POST", srv.URL+"/admin/models", testAdminKey, map[string]any{"name": "cached-mini", "provider": "openai",
		"upstream_model": "gpt-4o-mini", "cache": map[string]any{"ttl": "1h"}}, nil); st != http.StatusCreated {
		t.Fatalf("POST /admin/models: %d", st)
	}
	n := upstream()
	_, h1, _ := cachePost(t, url, keys["cache-off"], body, nil)
	_, h2, _ := cachePost(t, url, keys["cache-off"], body, nil)
	if h1.Get("X-Llmservice-Cache") != "miss" || h2.Get("X-Llmservice-Cache") != "hit" || upstream()-n != 1 {
		t.Fatalf("model policy: %q then %q, %d upstream calls; want a miss, a hit, 1", h1.Get("X-Llmservice-Cache"), h2.Get("X-Llmservice-Cache"), upstream()-n)
	}
	var m struct{ Cache *struct{ TTL string } }
	if st := do(t, "PATCH", srv.URL+"/admin/models/cached-mini", testAdminKey, map[string]any{"cache": nil}, &m); st != 200 || m.Cache != nil {
		t.Fatalf("PATCH cache null: %d %+v", st, m)
	}
	if _, h, _ := cachePost(t, url, keys["cache-off"], body, nil); h.Get("X-Llmservice-Cache") != "" {
		t.Fatalf("cache %q after the model's policy was switched off", h.Get("X-Llmservice-Cache"))
	}
	if st := do(t, "PATCH", srv.URL+"/admin/models/cached-mini", testAdminKey, map[string]any{"cache": map[string]any{"ttl": "soon"}}, nil); st != 400 {
		t.Fatalf("PATCH bad ttl: %d; want 400", st)
	}
	if st := do(t, "PATCH", srv.URL+"/admin/models/nope", testAdminKey, map[string]any{"cache": nil}, nil); st != 404 {
		t.Fatalf("PATCH unknown model: %d; want 404", st)
	}
}
