package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// seedVolatile are the fields of the seed APIs' answers that differ between
// two answers to the same request: IDs, times, latency.
var seedVolatile = regexp.MustCompile(`"(id|created|created_at|updated_at|call_id|conversation_id|latency_ms)":("[^"]*"|\d+)`)

// seedWhole is a whole answer with its volatile fields masked.
func seedWhole(b []byte) string { return seedVolatile.ReplaceAllString(string(b), "") }

// seedSSEText is the text an OpenAI-style SSE stream carried.
func seedSSEText(b []byte) string {
	var text strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ch struct {
			Choices []struct {
				Delta struct{ Content string }
			}
		}
		if json.Unmarshal([]byte(data), &ch) == nil && len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	return text.String()
}

// seedNDJSONText is the text a LlmEndpoint stream ({"role","content"}
// lines) carried.
func seedNDJSONText(b []byte) string {
	var text strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var c struct{ Content string }
		_ = json.Unmarshal([]byte(l), &c)
		text.WriteString(c.Content)
	}
	return text.String()
}

// Every model call of the seed APIs offers the response cache as the
// OpenAI-compatible API does: the second identical request of a team is a
// hit that reaches no upstream and answers the same; another team misses;
// a team whose cache is off gets no x-llmservice-cache header; LlmEndpoint
// charges no credits for a hit.
func TestSeedResponseCache(t *testing.T) {
	batchFastQueue(t) // queued completions run at once
	srv, keys, fk := cacheServerFakes(t, nil)
	teams := []string{"cache-a", "cache-b", "cache-off"}
	jobs := map[string]string{}
	for _, team := range teams {
		if st := do(t, "POST", srv.URL+"/admin/teams/"+team+"/credits", testAdminKey, map[string]any{"amount": 100_000_000}, nil); st != http.StatusOK && st != http.StatusCreated {
			t.Fatalf("credits for %s: %d", team, st)
		}
	}
	if st := do(t, "POST", srv.URL+"/admin/model-groups", testAdminKey, map[string]any{"name": "CacheAgent", "models": []string{"gpt-4o-mini"}}, nil); st != http.StatusCreated && st != http.StatusOK {
		t.Fatalf("model group: %d", st)
	}
	sfd := map[string]sfdTenant{} // by the team's bearer key
	for _, team := range teams {
		jobs[team] = jobsCreate(t, srv, keys[team], team)
		sfd[keys[team]] = sfdNewTenant(t, srv.URL, team)
	}
	post := func(key, path string, body any, h map[string]string) (int, http.Header, []byte) {
		return cachePost(t, srv.URL+path, key, body, h)
	}
	msgs := func(text string) []map[string]string { return []map[string]string{{"role": "user", "content": text}} }
	// turn sends text as the first message of a new conversation: two
	// conversations so begun send the same history.
	turn := func(stream bool) func(string, string, map[string]string) (int, http.Header, []byte) {
		return func(key, text string, h map[string]string) (int, http.Header, []byte) {
			var conv struct{ ID string }
			if st := do(t, "POST", srv.URL+"/api/v1/conversations", key, map[string]any{"model": "gpt-4o-mini", "system_message": "Be brief."}, &conv); st != http.StatusCreated {
				t.Fatalf("create conversation: %d", st)
			}
			return post(key, "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"message": map[string]string{"role": "user", "content": text}, "stream": stream}, h)
		}
	}
	les := func(stream, queued bool) func(string, string, map[string]string) (int, http.Header, []byte) {
		return func(key, text string, h map[string]string) (int, http.Header, []byte) {
			body := map[string]any{"model": "llama3.1", "messages": msgs(text), "max_tokens": 50, "stream": stream}
			if !queued {
				return post(key, "/api/v1/completions", body, h)
			}
			var q qcAnswer
			st, _, b := post(key, "/api/v1/qcompletions", body, h)
			if st != http.StatusOK || json.Unmarshal(b, &q) != nil {
				return st, nil, b
			}
			qcWait(t, srv.URL, key, q.TaskID)
			var status json.RawMessage
			var hdr http.Header
			st = doH(t, "GET", srv.URL+"/api/v1/qcompletions/"+q.TaskID, key, nil, &status, &hdr)
			return st, hdr, status
		}
	}
	cases := []struct {
		name     string
		upstream string // the fake that answers a miss
		send     func(key, text string, h map[string]string) (int, http.Header, []byte)
		answer   func([]byte) string
		badTTL   int  // status of a request with a bad x-llmservice-cache-ttl
		credits  bool // the API charges credits per call
	}{
		{"athena/chat", "openai", func(key, text string, h map[string]string) (int, http.Header, []byte) {
			return post(key, "/api/v1/chat/completions", map[string]any{"model": "gpt-4o-mini", "messages": msgs(text)}, h)
		}, seedWhole, 400, false},
		{"athena/chat-stream", "openai", func(key, text string, h map[string]string) (int, http.Header, []byte) {
			return post(key, "/api/v1/chat/completions", map[string]any{"model": "gpt-4o-mini", "messages": msgs(text), "stream": true}, h)
		}, seedSSEText, 400, false},
		{"athena/turn", "openai", turn(false), seedWhole, 400, false},
		{"athena/turn-stream", "openai", turn(true), seedSSEText, 400, false},
		{"athena/graphql-chat", "openai", func(key, text string, h map[string]string) (int, http.Header, []byte) {
			return post(key, "/graphql", map[string]any{"query": `mutation($m: String!) { chat(model: "gpt-4o-mini", messages: [{role: "user", content: $m}]) { content usage { totalTokens } } }`,
				"variables": map[string]any{"m": text}}, h)
		}, seedWhole, 200, false}, // a resolver's error is in "errors", with status 200
		{"django/chat", "openai", func(key, text string, h map[string]string) (int, http.Header, []byte) {
			return post(key, "/api/chat/completions/?provider=openai", map[string]any{"model": "gpt-4o-mini", "messages": msgs(text)}, h)
		}, seedWhole, 400, false},
		{"django/chat-stream", "openai", func(key, text string, h map[string]string) (int, http.Header, []byte) {
			return post(key, "/api/chat/completions/?provider=openai", map[string]any{"model": "gpt-4o-mini", "messages": msgs(text), "stream": true}, h)
		}, seedSSEText, 400, false},
		{"jobs/llm-call", "openai", func(key, text string, h map[string]string) (int, http.Header, []byte) {
			return post(key, "/api/jobs/"+jobs[teamOf(keys, key)]+"/llm-call", map[string]any{"model_group": "CacheAgent", "messages": msgs(text)}, h)
		}, seedWhole, 422, false}, // jobs credits are per job, not per call
		{"jobs/llm-call-stream", "openai", func(key, text string, h map[string]string) (int, http.Header, []byte) {
			return post(key, "/api/jobs/"+jobs[teamOf(keys, key)]+"/llm-call-stream", map[string]any{"model_group": "CacheAgent", "messages": msgs(text)}, h)
		}, seedSSEText, 422, false},
		// StackForDevs has no model call of its own: its completions are
		// the OpenAI dialect's, with its four headers.
		{"stackfordevs/completions", "openai", func(key, text string, h map[string]string) (int, http.Header, []byte) {
			hs := sfd[key].headers()
			for k, v := range h {
				hs[k] = v
			}
			return post("", "/v1/completions", map[string]any{"model": "gpt-4o-mini", "messages": msgs(text)}, hs)
		}, seedWhole, 400, false},
		{"llmendpoint/completions", "ollama", les(false, false), seedWhole, 400, true},
		{"llmendpoint/completions-stream", "ollama", les(true, false), seedNDJSONText, 400, true},
		{"llmendpoint/qcompletions", "ollama", les(false, true), seedWhole, 400, true},
	}
	credits := func(team string) int64 { return qcCredits(t, srv.URL, team) }
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			upstream := func() int { return len(fk[c.upstream].Requests()) }
			text := "seed cache " + c.name
			n, before := upstream(), credits("cache-a")
			st, h1, b1 := c.send(keys["cache-a"], text, nil)
			if st != http.StatusOK || h1.Get("X-Llmservice-Cache") != "miss" {
				t.Fatalf("first: status %d cache %q: %s", st, h1.Get("X-Llmservice-Cache"), b1)
			}
			afterMiss := credits("cache-a")
			if c.credits && afterMiss >= before {
				t.Fatalf("a miss charged no credits (%d, then %d)", before, afterMiss)
			}
			st, h2, b2 := c.send(keys["cache-a"], text, nil)
			if st != http.StatusOK || h2.Get("X-Llmservice-Cache") != "hit" {
				t.Fatalf("second: status %d cache %q: %s", st, h2.Get("X-Llmservice-Cache"), b2)
			}
			if got := upstream() - n; got != 1 {
				t.Fatalf("upstream calls %d, want 1", got)
			}
			if a, b := c.answer(b1), c.answer(b2); a != b || a == "" {
				t.Fatalf("answers differ:\n%s\n%s", a, b)
			}
			if got := credits("cache-a"); got != afterMiss {
				t.Fatalf("a hit charged %d credits", afterMiss-got)
			}

			n = upstream()
			if _, h, _ := c.send(keys["cache-b"], text, nil); h.Get("X-Llmservice-Cache") != "miss" || upstream() != n+1 {
				t.Fatalf("other team: cache %q, upstream calls %d; want a miss that went upstream", h.Get("X-Llmservice-Cache"), upstream()-n)
			}
			for range 2 {
				if _, h, b := c.send(keys["cache-off"], text, nil); h != nil {
					if v, ok := h["X-Llmservice-Cache"]; ok {
						t.Fatalf("x-llmservice-cache %q on a team without cache: %s", v, b)
					}
				}
			}
			st, _, b := c.send(keys["cache-a"], text, map[string]string{"X-Llmservice-Cache-Ttl": "soon"})
			if st != c.badTTL || !bytes.Contains(b, []byte("x-llmservice-cache-ttl")) {
				t.Fatalf("bad x-llmservice-cache-ttl: status %d, want %d: %s", st, c.badTTL, b)
			}
		})
	}

	// A conversation's next turn sends its history: the same message again
	// is another request, not a hit.
	t.Run("athena/turn-history-in-key", func(t *testing.T) {
		var conv struct{ ID string }
		do(t, "POST", srv.URL+"/api/v1/conversations", keys["cache-a"], map[string]any{"model": "gpt-4o-mini"}, &conv)
		msg := map[string]any{"message": map[string]string{"role": "user", "content": "again and again"}}
		for i, want := range []string{"miss", "miss"} {
			if _, h, b := post(keys["cache-a"], "/api/v1/conversations/"+conv.ID+"/messages", msg, nil); h.Get("X-Llmservice-Cache") != want {
				t.Fatalf("turn %d: cache %q, want %q: %s", i+1, h.Get("X-Llmservice-Cache"), want, b)
			}
		}
		var d struct{ Messages []any }
		do(t, "GET", srv.URL+"/api/v1/conversations/"+conv.ID, keys["cache-a"], nil, &d)
		if len(d.Messages) != 4 {
			t.Fatalf("conversation has %d messages, want 4", len(d.Messages))
		}
	})
	// A GraphQL document's header has one state per model call, in order.
	t.Run("athena/graphql-two-calls", func(t *testing.T) {
		q := `mutation { a: chat(model: "gpt-4o-mini", messages: [{role: "user", content: "gql twice"}]) { content } b: chat(model: "gpt-4o-mini", messages: [{role: "user", content: "gql twice"}]) { content } }`
		if _, h, b := post(keys["cache-a"], "/graphql", map[string]any{"query": q}, nil); h.Get("X-Llmservice-Cache") != "miss, hit" {
			t.Fatalf("cache %q, want \"miss, hit\": %s", h.Get("X-Llmservice-Cache"), b)
		}
	})
}

// teamOf is the team whose key is key.
func teamOf(keys map[string]string, key string) string {
	for team, k := range keys {
		if k == key {
			return team
		}
	}
	return ""
}
