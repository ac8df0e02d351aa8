package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// messagesEnv starts the agent fakes (an Anthropic Messages upstream and
// an OpenAI-compatible one) and a server in front of them, with
// "cc-alias" in the catalog naming an Anthropic model under another name,
// so that the pass-through lane's model edits show.
func messagesEnv(t *testing.T) (srv *testServer, key string, an *providertest.MessagesFake, oa *providertest.Fake) {
	t.Helper()
	an = providertest.NewAnthropicMessages(t)
	oa = providertest.NewOpenAIAgent(t)
	srv = startServer(t, map[string]string{
		"ANTHROPIC_API_KEY": "sk-upstream-anthropic", "ANTHROPIC_BASE_URL": an.URL,
		"OPENAI_API_KEY": "sk-upstream-openai", "OPENAI_BASE_URL": oa.URL + "/v1",
	})
	if st := do(t, "POST", srv.URL+"/admin/models", testAdminKey, map[string]any{"name": "cc-alias", "provider": "anthropic",
		"upstream_model": "claude-fake-upstream", "input_per_mtok": 3, "output_per_mtok": 15}, nil); st != http.StatusCreated {
		t.Fatalf("POST /admin/models: %d", st)
	}
	_, key, _ = newKey(t, srv.URL, "acme", nil)
	return srv, key, an, oa
}

// postMessages sends a Messages request with the given credential header.
func postMessages(t *testing.T, url, authHeader, key, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("anthropic-beta", "interleaved-thinking-2025-05-14,context-management-2025-06-27")
	switch authHeader {
	case "x-api-key":
		req.Header.Set("x-api-key", key)
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// sseEvent is one parsed event of a Messages stream.
type sseEvent struct {
	Name string
	Data map[string]any
}

func parseSSE(t *testing.T, b []byte) []sseEvent {
	t.Helper()
	var out []sseEvent
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			ev.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.Data); err != nil {
				t.Fatalf("event %s: data is not JSON: %v", ev.Name, err)
			}
		case line == "":
			if ev.Name != "" || ev.Data != nil {
				out = append(out, ev)
			}
			ev = sseEvent{}
		}
	}
	return out
}

// checkBlockSequence checks the Messages stream grammar: message_start
// first, blocks opened, extended and closed with matching, increasing,
// non-overlapping indexes, message_delta then message_stop last. It
// returns the blocks as rebuilt from the events.
func checkBlockSequence(t *testing.T, evs []sseEvent) []map[string]any {
	t.Helper()
	if len(evs) == 0 || evs[0].Name != "message_start" {
		t.Fatalf("stream does not start with message_start: %v", evs)
	}
	if last := evs[len(evs)-1].Name; last != "message_stop" {
		t.Errorf("last event = %s; want message_stop", last)
	}
	open, next := -1, 0
	var blocks []map[string]any
	sawDelta := false
	for _, e := range evs {
		idx := -1
		if v, ok := e.Data["index"].(float64); ok {
			idx = int(v)
		}
		switch e.Name {
		case "content_block_start":
			if open >= 0 || idx != next {
				t.Fatalf("content_block_start %d while block %d is open (next %d)", idx, open, next)
			}
			open = idx
			next++
			cb := e.Data["content_block"].(map[string]any)
			blocks = append(blocks, map[string]any{"type": cb["type"], "text": "", "json": "", "name": cb["name"], "id": cb["id"], "signature": ""})
		case "content_block_delta":
			if idx != open {
				t.Fatalf("delta for block %d while %d is open", idx, open)
			}
			d := e.Data["delta"].(map[string]any)
			b := blocks[idx]
			switch d["type"] {
			case "text_delta":
				b["text"] = b["text"].(string) + d["text"].(string)
			case "thinking_delta":
				b["text"] = b["text"].(string) + d["thinking"].(string)
			case "signature_delta":
				b["signature"] = d["signature"]
			case "input_json_delta":
				b["json"] = b["json"].(string) + d["partial_json"].(string)
			}
		case "content_block_stop":
			if idx != open {
				t.Fatalf("content_block_stop %d while %d is open", idx, open)
			}
			open = -1
		case "message_delta":
			if open >= 0 {
				t.Errorf("message_delta while block %d is open", open)
			}
			sawDelta = true
		}
	}
	if !sawDelta {
		t.Error("no message_delta")
	}
	return blocks
}

// sentAnswer returns answer n of a fake, waiting a little for it: a fake
// records what it sent when its handler returns, and the gateway may end
// its own answer at the stream's terminal event before the fake's handler
// has returned (CI saw the record missing once, on a loaded machine).
func sentAnswer(t *testing.T, sent func() [][]byte, n int) []byte {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if s := sent(); len(s) > n {
			return s[n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the fake recorded no answer %d within 5s", n)
		}
	}
}

// TestMessagesPassThrough sends Messages requests to an Anthropic model:
// the upstream receives the body byte for byte apart from the model, and
// the client receives the upstream's answer byte for byte apart from the
// model, thinking signatures, unknown fields and event types included.
func TestMessagesPassThrough(t *testing.T) {
	srv, key, an, _ := messagesEnv(t)
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "json", true: "stream"}[stream]
		t.Run(name, func(t *testing.T) {
			body := `{"model":"cc-alias","max_tokens":1024,  "stream":` + map[bool]string{false: "false", true: "true"}[stream] +
				`,"thinking":{"type":"adaptive","display":"omitted"},"context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]},` +
				`"system":[{"type":"text","text":"be brief","cache_control":{"type":"ephemeral","ttl":"1h"}}],` +
				`"messages":[{"role":"user","content":[{"type":"text","text":"Say pong \u00e9"}]},{"role":"system","content":"env","output_config":{"effort":"medium"}}],"x_new_field":[1,2.50,{"a":null}]}`
			n := len(an.Requests())
			resp, got := postMessages(t, srv.URL+"/v1/messages?beta=true", "x-api-key", key, body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			reqs := an.Requests()
			if len(reqs) != n+1 {
				t.Fatalf("upstream got %d requests; want 1", len(reqs)-n)
			}
			up := reqs[n]
			want := strings.Replace(body, `"model":"cc-alias"`, `"model":"claude-fake-upstream"`, 1)
			if string(up.Body) != want {
				t.Errorf("upstream body differs from the client's apart from the model:\n got %s\nwant %s", up.Body, want)
			}
			if v := up.Header.Get("anthropic-beta"); v != "interleaved-thinking-2025-05-14,context-management-2025-06-27" {
				t.Errorf("anthropic-beta upstream = %q", v)
			}
			if v := up.Header.Get("x-api-key"); v != "sk-upstream-anthropic" {
				t.Errorf("x-api-key upstream = %q; want the gateway's", v)
			}
			sent := sentAnswer(t, an.Sent, n)
			wantAnswer := bytes.Replace(sent, []byte(`"model":"claude-fake-upstream"`), []byte(`"model":"cc-alias"`), 1)
			if !bytes.Equal(got, wantAnswer) {
				t.Errorf("answer differs from the upstream's apart from the model:\n got %s\nwant %s", got, wantAnswer)
			}
			if bytes.Contains(got, []byte("claude-fake-upstream")) {
				t.Error("the answer names the upstream model")
			}
			if resp.Header.Get("X-Llmservice-Provider") != "anthropic" {
				t.Errorf("served by %q", resp.Header.Get("X-Llmservice-Provider"))
			}
		})
	}
}

// TestMessagesTranslation sends Messages requests to an OpenAI model: the
// answer is a well-formed Messages answer or stream, tool calls included.
func TestMessagesTranslation(t *testing.T) {
	srv, key, _, oa := messagesEnv(t)
	tools := `"tools":[{"name":"Bash","description":"run","input_schema":{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}}]`
	t.Run("json", func(t *testing.T) {
		resp, b := postMessages(t, srv.URL+"/v1/messages", "bearer", key,
			`{"model":"gpt-4o-mini","max_tokens":100,"thinking":{"type":"adaptive"},"messages":[{"role":"user","content":"hello there"}]}`)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		var m struct {
			Content []map[string]any
			Usage   map[string]int
		}
		var raw map[string]any
		_ = json.Unmarshal(b, &raw)
		if raw["type"] != "message" || raw["model"] != "gpt-4o-mini" || raw["stop_reason"] != "end_turn" {
			t.Errorf("answer = %s", b)
		}
		_ = json.Unmarshal(b, &m)
		if len(m.Content) != 1 || m.Content[0]["text"] != "pong: hello there" {
			t.Errorf("content = %v", m.Content)
		}
		if m.Usage["input_tokens"] == 0 || m.Usage["output_tokens"] == 0 {
			t.Errorf("usage = %v", m.Usage)
		}
	})
	t.Run("tool turn", func(t *testing.T) {
		resp, b := postMessages(t, srv.URL+"/v1/messages", "x-api-key", key,
			`{"model":"gpt-4o-mini","max_tokens":100,"stream":true,`+tools+`,"messages":[{"role":"user","content":"TOOLTEST please"}]}`)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		evs := parseSSE(t, b)
		blocks := checkBlockSequence(t, evs)
		if len(blocks) != 1 || blocks[0]["type"] != "tool_use" || blocks[0]["name"] != "Bash" {
			t.Fatalf("blocks = %v", blocks)
		}
		var input map[string]string
		if err := json.Unmarshal([]byte(blocks[0]["json"].(string)), &input); err != nil || input["command"] != providertest.AgentCommand {
			t.Errorf("tool input = %q (%v)", blocks[0]["json"], err)
		}
		var stop any
		for _, e := range evs {
			if e.Name == "message_delta" {
				stop = e.Data["delta"].(map[string]any)["stop_reason"]
			}
		}
		if stop != "tool_use" {
			t.Errorf("stop_reason = %v", stop)
		}
		// The result goes back as a tool_result; upstream sees a tool turn.
		id := blocks[0]["id"].(string)
		resp, b = postMessages(t, srv.URL+"/v1/messages", "x-api-key", key,
			`{"model":"gpt-4o-mini","max_tokens":100,"stream":true,`+tools+`,"messages":[{"role":"user","content":"TOOLTEST please"},`+
				`{"role":"assistant","content":[{"type":"tool_use","id":"`+id+`","name":"Bash","input":{"command":"ls"}}]},`+
				`{"role":"user","content":[{"type":"tool_result","tool_use_id":"`+id+`","content":"made-file","cache_control":{"type":"ephemeral"}}]}]}`)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		blocks = checkBlockSequence(t, parseSSE(t, b))
		if len(blocks) != 1 || blocks[0]["text"] != "tool result: made-file" {
			t.Errorf("blocks = %v", blocks)
		}
		up := oa.Last(t).JSON(t)
		msgs := up["messages"].([]any)
		last := msgs[len(msgs)-1].(map[string]any)
		if last["role"] != "tool" || last["tool_call_id"] != id {
			t.Errorf("upstream's last message = %v", last)
		}
	})
}

// TestMessagesCountTokens: an Anthropic model's count comes from the
// upstream's count_tokens (a local count when that fails); any other
// model is counted locally, and its upstream sees no request at all.
func TestMessagesCountTokens(t *testing.T) {
	srv, key, an, oa := messagesEnv(t)
	body := func(model string) string {
		return `{"model":"` + model + `","system":"be brief","tools":[{"name":"Bash","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"count these words please"}]}`
	}
	count := func(model string) int {
		t.Helper()
		resp, b := postMessages(t, srv.URL+"/v1/messages/count_tokens?beta=true", "x-api-key", key, body(model))
		var out struct {
			InputTokens int `json:"input_tokens"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || out.InputTokens <= 0 {
			t.Fatalf("count_tokens %s: %d %s", model, resp.StatusCode, b)
		}
		return out.InputTokens
	}

	n := count("cc-alias")
	last := an.Last(t)
	if last.Path != "/v1/messages/count_tokens" {
		t.Errorf("upstream path = %s; want its count_tokens", last.Path)
	}
	if want := strings.Replace(body("cc-alias"), "cc-alias", "claude-fake-upstream", 1); string(last.Body) != want {
		t.Errorf("upstream count body = %s; want %s", last.Body, want)
	}
	if sent := an.Sent(); !strings.Contains(string(sent[len(sent)-1]), `"input_tokens":`+strconv.Itoa(n)) {
		t.Errorf("count = %d; the upstream said %s", n, sent[len(sent)-1])
	}

	an.FailNext(providertest.Failure{Status: 500, Body: `{"type":"error","error":{"type":"api_error","message":"boom"}}`})
	if got := count("cc-alias"); got == n {
		t.Logf("local count equals the upstream's (%d)", got)
	}

	before := len(oa.Requests())
	count("gpt-4o-mini")
	if got := len(oa.Requests()) - before; got != 0 {
		t.Errorf("counting tokens for an OpenAI model sent %d requests upstream; want none", got)
	}
}

// TestMessagesStreamFailure: an upstream that breaks after the stream has
// started ends the client's stream with an error event in Anthropic's
// shape, in both lanes.
func TestMessagesStreamFailure(t *testing.T) {
	srv, key, an, oa := messagesEnv(t)
	for _, tc := range []struct {
		model string
		fail  func()
	}{
		{"cc-alias", func() { an.FailNext(providertest.Failure{AfterChunks: 1}) }},
		{"gpt-4o-mini", func() { oa.FailNext(providertest.Failure{AfterChunks: 2}) }},
	} {
		t.Run(tc.model, func(t *testing.T) {
			tc.fail()
			resp, b := postMessages(t, srv.URL+"/v1/messages", "x-api-key", key,
				`{"model":"`+tc.model+`","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"several words to stream here"}]}`)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			evs := parseSSE(t, b)
			if len(evs) == 0 || evs[0].Name != "message_start" {
				t.Fatalf("events = %v", evs)
			}
			last := evs[len(evs)-1]
			if last.Name != "error" || last.Data["type"] != "error" {
				t.Fatalf("last event = %v; want an error event\n%s", last, b)
			}
			if e, _ := last.Data["error"].(map[string]any); e["type"] == "" || e["message"] == "" {
				t.Errorf("error event = %v", last.Data)
			}
		})
	}
}

// TestMessagesFallbackChangesLane: a model group whose Anthropic primary
// fails falls back to an OpenAI model, and the same call continues in the
// translation lane.
func TestMessagesFallbackChangesLane(t *testing.T) {
	srv, key, an, oa := messagesEnv(t)
	if st := do(t, "POST", srv.URL+"/admin/model-groups", testAdminKey, map[string]any{"name": "agents", "models": []string{"cc-alias", "gpt-4o-mini"}}, nil); st != http.StatusCreated {
		t.Fatalf("POST /admin/model-groups: %d", st)
	}
	fail := providertest.Failure{Status: 500, Body: `{"type":"error","error":{"type":"api_error","message":"boom"}}`}
	an.FailNext(fail, fail, fail, fail)
	before := len(oa.Requests())
	resp, b := postMessages(t, srv.URL+"/v1/messages", "x-api-key", key,
		`{"model":"agents","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"fall back please"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	blocks := checkBlockSequence(t, parseSSE(t, b))
	if len(blocks) != 1 || blocks[0]["text"] != "pong: fall back please" {
		t.Errorf("blocks = %v", blocks)
	}
	if len(oa.Requests()) != before+1 || resp.Header.Get("X-Llmservice-Provider") != "openai" {
		t.Errorf("served by %q; the OpenAI fake got %d requests", resp.Header.Get("X-Llmservice-Provider"), len(oa.Requests())-before)
	}
}
