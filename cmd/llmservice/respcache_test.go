package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmservice/llmservice/internal/provider/providertest"
	"github.com/llmservice/llmservice/internal/redisfallback/redistest"
)

// cachePost sends body as JSON with the key (none when "") and extra
// headers; it returns the status, the headers and the body.
func cachePost(t *testing.T, url, key string, body any, h map[string]string) (int, http.Header, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

var idAndCreated = regexp.MustCompile(`"(id|created)":("[^"]*"|\d+)`)

// cacheServer starts a gateway in front of fake upstreams with two teams
// whose cache is on and one whose cache is off; upstream counts the
// requests the OpenAI fake received.
func cacheServer(t *testing.T, env map[string]string) (*testServer, map[string]string, func() int) {
	srv, keys, fk := cacheServerFakes(t, env)
	return srv, keys, func() int { return len(fk["openai"].Requests()) }
}

// cacheServerFakes is cacheServer that returns every fake upstream.
func cacheServerFakes(t *testing.T, env map[string]string) (*testServer, map[string]string, map[string]*providertest.Fake) {
	fenv, fk := fakes(t)
	for k, v := range env {
		fenv[k] = v
	}
	srv := startServer(t, fenv)
	keys := map[string]string{}
	for _, team := range []string{"cache-a", "cache-b", "cache-off"} {
		_, k, _ := newKey(t, srv.URL, team, nil)
		keys[team] = k
		if team == "cache-off" {
			continue
		}
		if st := do(t, "PATCH", srv.URL+"/admin/teams/"+team, testAdminKey, map[string]any{"cache": map[string]any{"ttl": "1h"}}, nil); st != 200 {
			t.Fatalf("PATCH cache: status %d", st)
		}
	}
	return srv, keys, fk
}

func TestResponseCache(t *testing.T) {
	srv, keys, upstream := cacheServer(t, nil)
	chat := func(text string) map[string]any {
		return map[string]any{"model": "gpt-4o-mini", "temperature": 0.2, "user": "u1",
			"messages": []map[string]any{{"role": "user", "content": text}}}
	}
	url := srv.URL + "/v1/chat/completions"

	t.Run("SecondIdenticalRequestIsAHit", func(t *testing.T) {
		n := upstream()
		st, h1, b1 := cachePost(t, url, keys["cache-a"], chat("hello cache"), nil)
		if st != 200 || h1.Get("X-Llmservice-Cache") != "miss" {
			t.Fatalf("first: status %d cache %q: %s", st, h1.Get("X-Llmservice-Cache"), b1)
		}
		// Another field order, another user label, the same request.
		body := `{ "messages": [{"content":"hello cache","role":"user"}], "temperature":0.2, "model":"gpt-4o-mini", "user":"u2"}`
		req, _ := http.NewRequest("POST", url, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+keys["cache-a"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("X-Llmservice-Cache"); got != "hit" {
			t.Fatalf("second: cache %q, want hit", got)
		}
		if upstream() != n+1 {
			t.Fatalf("upstream calls %d, want %d", upstream()-n, 1)
		}
		a, b := idAndCreated.ReplaceAllString(string(b1), ""), idAndCreated.ReplaceAllString(string(b2), "")
		if a != b {
			t.Fatalf("answers differ:\n%s\n%s", a, b)
		}
	})
	t.Run("OtherTeamMisses", func(t *testing.T) {
		n := upstream()
		_, h, _ := cachePost(t, url, keys["cache-b"], chat("hello cache"), nil)
		if h.Get("X-Llmservice-Cache") != "miss" || upstream() != n+1 {
			t.Fatalf("cache %q, upstream calls %d; want a miss that went upstream", h.Get("X-Llmservice-Cache"), upstream()-n)
		}
	})
	t.Run("CacheOffNoHeader", func(t *testing.T) {
		for range 2 {
			_, h, _ := cachePost(t, url, keys["cache-off"], chat("hello cache"), nil)
			if v, ok := h["X-Llmservice-Cache"]; ok {
				t.Fatalf("x-llmservice-cache %q on a team without cache", v)
			}
		}
	})
	t.Run("NoCacheBypasses", func(t *testing.T) {
		n := upstream()
		_, h, _ := cachePost(t, url, keys["cache-a"], chat("hello cache"), map[string]string{"Cache-Control": "no-cache"})
		if h.Get("X-Llmservice-Cache") != "bypass" || upstream() != n+1 {
			t.Fatalf("cache %q, upstream calls %d; want bypass upstream", h.Get("X-Llmservice-Cache"), upstream()-n)
		}
	})
	t.Run("BadTTLHeader", func(t *testing.T) {
		st, _, b := cachePost(t, url, keys["cache-a"], chat("x"), map[string]string{"X-Llmservice-Cache-Ttl": "soon"})
		if st != 400 || !bytes.Contains(b, []byte("x-llmservice-cache-ttl")) {
			t.Fatalf("status %d: %s", st, b)
		}
	})
	t.Run("BadCachePolicy", func(t *testing.T) {
		var e map[string]any
		if st := do(t, "PATCH", srv.URL+"/admin/teams/cache-a", testAdminKey, map[string]any{"cache": map[string]any{"ttl": "forever"}}, &e); st != 400 {
			t.Fatalf("status %d: %v", st, e)
		}
	})

	ctx := context.Background()
	cl := client(srv.URL, keys["cache-a"])
	params := func(text string) openai.ChatCompletionNewParams {
		return openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}
	}
	stream := func(t *testing.T, text string) (string, string, int64) {
		var hr *http.Response
		s := cl.Chat.Completions.NewStreaming(ctx, params(text), option.WithResponseInto(&hr))
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		if len(acc.Choices) != 1 {
			t.Fatalf("stream has %d choices", len(acc.Choices))
		}
		return acc.Choices[0].Message.Content, hr.Header.Get("X-Llmservice-Cache"), acc.Usage.TotalTokens
	}
	whole := func(t *testing.T, text string) (string, string, int64) {
		var hr *http.Response
		c, err := cl.Chat.Completions.New(ctx, params(text), option.WithResponseInto(&hr))
		if err != nil {
			t.Fatal(err)
		}
		return c.Choices[0].Message.Content, hr.Header.Get("X-Llmservice-Cache"), c.Usage.TotalTokens
	}
	t.Run("StreamAfterWhole", func(t *testing.T) {
		n := upstream()
		want, h1, _ := whole(t, "stream after whole")
		got, h2, _ := stream(t, "stream after whole")
		if h1 != "miss" || h2 != "hit" || got != want || upstream() != n+1 {
			t.Fatalf("whole %q (%s), stream %q (%s), upstream calls %d", want, h1, got, h2, upstream()-n)
		}
	})
	t.Run("WholeAfterStream", func(t *testing.T) {
		n := upstream()
		want, h1, _ := stream(t, "whole after stream")
		got, h2, tokens := whole(t, "whole after stream")
		if h1 != "miss" || h2 != "hit" || got != want || upstream() != n+1 {
			t.Fatalf("stream %q (%s), whole %q (%s), upstream calls %d", want, h1, got, h2, upstream()-n)
		}
		if tokens == 0 {
			t.Fatal("a hit reports no usage")
		}
	})
	t.Run("EmbeddingsHit", func(t *testing.T) {
		n := upstream()
		body := map[string]any{"model": "text-embedding-3-small", "input": []string{"a", "b"}}
		_, h1, b1 := cachePost(t, srv.URL+"/v1/embeddings", keys["cache-a"], body, nil)
		_, h2, b2 := cachePost(t, srv.URL+"/v1/embeddings", keys["cache-a"], body, nil)
		if h1.Get("X-Llmservice-Cache") != "miss" || h2.Get("X-Llmservice-Cache") != "hit" || !bytes.Equal(b1, b2) || upstream() != n+1 {
			t.Fatalf("%s %s upstream %d\n%s\n%s", h1.Get("X-Llmservice-Cache"), h2.Get("X-Llmservice-Cache"), upstream()-n, b1, b2)
		}
	})
	t.Run("CompletionsHit", func(t *testing.T) {
		n := upstream()
		body := map[string]any{"model": "gpt-4o-mini", "prompt": "legacy", "max_tokens": 20}
		_, h1, b1 := cachePost(t, srv.URL+"/v1/completions", keys["cache-a"], body, nil)
		_, h2, b2 := cachePost(t, srv.URL+"/v1/completions", keys["cache-a"], body, nil)
		a, b := idAndCreated.ReplaceAllString(string(b1), ""), idAndCreated.ReplaceAllString(string(b2), "")
		if h1.Get("X-Llmservice-Cache") != "miss" || h2.Get("X-Llmservice-Cache") != "hit" || a != b || upstream() != n+1 {
			t.Fatalf("%s %s upstream %d\n%s\n%s", h1.Get("X-Llmservice-Cache"), h2.Get("X-Llmservice-Cache"), upstream()-n, a, b)
		}
	})
	t.Run("LedgerShowsHitsAndSavings", func(t *testing.T) {
		var out struct {
			Data []struct {
				Requests  int64   `json:"requests"`
				CacheHits int64   `json:"cache_hits"`
				SavedUSD  float64 `json:"saved_usd"`
				CostUSD   float64 `json:"cost_usd"`
			}
		}
		if st := do(t, "GET", srv.URL+"/admin/usage?team_id=cache-a", testAdminKey, nil, &out); st != 200 || len(out.Data) != 1 {
			t.Fatalf("GET /admin/usage: %d %+v", st, out)
		}
		// Hits so far: chat, stream, whole, embeddings, completions.
		if d := out.Data[0]; d.CacheHits != 5 || d.SavedUSD <= 0 {
			t.Fatalf("usage %+v; want 5 cache hits and some saved_usd", d)
		}
	})
	t.Run("PurgeOneTeam", func(t *testing.T) {
		_, _, _ = cachePost(t, url, keys["cache-a"], chat("purge me"), nil)
		_, _, _ = cachePost(t, url, keys["cache-b"], chat("purge me"), nil)
		var out struct{ Deleted int }
		if st := do(t, "DELETE", srv.URL+"/admin/teams/cache-a/cache", testAdminKey, nil, &out); st != 200 || out.Deleted == 0 {
			t.Fatalf("purge: %d %+v", st, out)
		}
		if _, h, _ := cachePost(t, url, keys["cache-a"], chat("purge me"), nil); h.Get("X-Llmservice-Cache") != "miss" {
			t.Fatalf("after purge, team a: %q; want miss", h.Get("X-Llmservice-Cache"))
		}
		if _, h, _ := cachePost(t, url, keys["cache-b"], chat("purge me"), nil); h.Get("X-Llmservice-Cache") != "hit" {
			t.Fatalf("after purging team a, team b: %q; want hit", h.Get("X-Llmservice-Cache"))
		}
		if st := do(t, "DELETE", srv.URL+"/admin/cache", testAdminKey, nil, &out); st != 200 {
			t.Fatalf("purge all: %d", st)
		}
		if _, h, _ := cachePost(t, url, keys["cache-b"], chat("purge me"), nil); h.Get("X-Llmservice-Cache") != "miss" {
			t.Fatalf("after purging all, team b: %q; want miss", h.Get("X-Llmservice-Cache"))
		}
	})
	t.Run("BudgetNotChargedForAHit", func(t *testing.T) {
		_, _, _ = cachePost(t, url, keys["cache-b"], chat("budget"), nil)
		type budget struct {
			SpentUSD float64 `json:"spent_usd"`
		}
		var before, after budget
		// A budget already spent: new calls are refused, hits are not.
		if st := do(t, "PATCH", srv.URL+"/admin/teams/cache-b", testAdminKey, map[string]any{"max_budget_usd": 0.0000001}, nil); st != 200 {
			t.Fatalf("PATCH budget: %d", st)
		}
		do(t, "GET", srv.URL+"/admin/teams/cache-b/budget", testAdminKey, nil, &before)
		st, h, b := cachePost(t, url, keys["cache-b"], chat("budget"), nil)
		if st != 200 || h.Get("X-Llmservice-Cache") != "hit" {
			t.Fatalf("hit over budget: %d %q %s", st, h.Get("X-Llmservice-Cache"), b)
		}
		if st, _, _ := cachePost(t, url, keys["cache-b"], chat("budget, not cached"), nil); st != 429 {
			t.Fatalf("miss over budget: %d; want 429", st)
		}
		do(t, "GET", srv.URL+"/admin/teams/cache-b/budget", testAdminKey, nil, &after)
		if after.SpentUSD != before.SpentUSD {
			t.Fatalf("budget spent $%v after a hit, $%v before", after.SpentUSD, before.SpentUSD)
		}
	})
}

// Two replicas sharing a Redis share the cache's entries; with that Redis
// killed, calls go upstream.
func TestResponseCacheRedis(t *testing.T) {
	addr, redisProc := redistest.StartServer(t) // a private one: the test kills it
	fenv, fk := fakes(t)
	fenv["LLMSERVICE_DATABASE_URL"] = testDatabaseURL(t, "shared.db")
	fenv["LLMSERVICE_REDIS_URL"] = "redis://" + addr + "/0"
	replica := func() *testServer {
		env := map[string]string{}
		for k, v := range fenv {
			env[k] = v
		}
		return startServer(t, env)
	}
	a, b := replica(), replica()
	_, key, _ := newKey(t, a.URL, "cache-shared", nil)
	if st := do(t, "PATCH", a.URL+"/admin/teams/cache-shared", testAdminKey, map[string]any{"cache": map[string]any{"ttl": "10m"}}, nil); st != 200 {
		t.Fatalf("PATCH cache: %d", st)
	}
	upstream := func() int { return len(fk["openai"].Requests()) }
	chat := func(base, text string) (int, string) {
		st, h, _ := cachePost(t, base+"/v1/chat/completions", key, map[string]any{"model": "gpt-4o-mini",
			"messages": []map[string]any{{"role": "user", "content": text}}}, nil)
		return st, h.Get("X-Llmservice-Cache")
	}
	n := upstream()
	if st, c := chat(a.URL, "shared"); st != 200 || c != "miss" {
		t.Fatalf("replica a: %d %q; want 200 miss", st, c)
	}
	// The team's policy reaches b through the invalidation bus or its own
	// load; a miss on b is possible only before then.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, c := chat(b.URL, "shared")
		if st != 200 {
			t.Fatalf("replica b: %d", st)
		}
		if c == "hit" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica b never hit a's entry (last %q)", c)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if upstream() > n+2 {
		t.Fatalf("upstream calls %d; want a's miss only (and perhaps b's before the policy reached it)", upstream()-n)
	}
	if err := redisProc.Kill(); err != nil {
		t.Fatal(err)
	}
	for i, base := range []string{a.URL, b.URL, a.URL, b.URL} {
		n := upstream()
		st, c := chat(base, "shared")
		if st != 200 || c == "hit" || upstream() != n+1 {
			t.Fatalf("call %d with Redis down: %d %q, upstream calls %d; want 200 from upstream", i, st, c, upstream()-n)
		}
	}
}
