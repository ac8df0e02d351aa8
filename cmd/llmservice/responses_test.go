package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// postResponses sends a raw Responses request body.
func postResponses(t *testing.T, url, key, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestResponsesStoredAcrossFamilies: a conversation stored on an OpenAI
// model (pass-through lane) continues with previous_response_id on an
// Anthropic model (translation lane), which receives the earlier turns;
// the stored response can be read, listed and deleted by its team only.
func TestResponsesStoredAcrossFamilies(t *testing.T) {
	srv, key, an, oa := messagesEnv(t)
	_, other, _ := newKey(t, srv.URL, "other-team", nil)

	st, b := postResponses(t, srv.URL+"/v1/responses", key, `{"model":"gpt-4o-mini","input":"Say pong"}`)
	var first struct {
		ID     string `json:"id"`
		Model  string `json:"model"`
		Output []struct {
			Content []struct{ Text string } `json:"content"`
		} `json:"output"`
	}
	if err := json.Unmarshal(b, &first); st != 200 || err != nil || first.ID == "" {
		t.Fatalf("first turn: %d %s", st, b)
	}
	if len(oa.Requests()) != 1 || oa.Requests()[0].Path != "/v1/responses" {
		t.Fatalf("the OpenAI fake got %v; want one /v1/responses", oa.Requests())
	}
	if first.Model != "gpt-4o-mini" || len(first.Output) != 1 || first.Output[0].Content[0].Text != "pong: Say pong" {
		t.Fatalf("first turn = %s", b)
	}

	// Continued on Anthropic, streamed.
	st, b = postResponses(t, srv.URL+"/v1/responses", key,
		`{"model":"cc-alias","previous_response_id":"`+first.ID+`","input":"Second question","stream":true}`)
	if st != 200 || !bytes.Contains(b, []byte("event: response.completed")) || bytes.Contains(b, []byte("[DONE]")) {
		t.Fatalf("second turn: %d %s", st, b)
	}
	last := an.Requests()[len(an.Requests())-1].Body
	for _, want := range []string{"Say pong", "pong: Say pong", "Second question"} {
		if !bytes.Contains(last, []byte(want)) {
			t.Errorf("the Anthropic upstream did not receive %q: %s", want, last)
		}
	}
	var second struct {
		Response struct{ ID string } `json:"response"`
	}
	for _, line := range strings.Split(string(b), "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(d, `"response.completed"`) {
			_ = json.Unmarshal([]byte(d), &second)
		}
	}

	// input_items of the second response hold all three input turns.
	var items struct {
		Data []map[string]any `json:"data"`
	}
	if st := do(t, "GET", srv.URL+"/v1/responses/"+second.Response.ID+"/input_items?order=asc", key, nil, &items); st != 200 || len(items.Data) != 3 {
		t.Errorf("input_items: %d %v; want 3 items", st, items.Data)
	}

	// Another team sees nothing.
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/responses/" + first.ID}, {"GET", "/v1/responses/" + first.ID + "/input_items"}, {"DELETE", "/v1/responses/" + first.ID},
	} {
		if st := do(t, c.method, srv.URL+c.path, other, nil, nil); st != 404 {
			t.Errorf("%s %s with another team's key: %d; want 404", c.method, c.path, st)
		}
	}
	st, b = postResponses(t, srv.URL+"/v1/responses", other, `{"model":"cc-alias","previous_response_id":"`+first.ID+`","input":"x"}`)
	if st != 404 || !bytes.Contains(b, []byte(`"invalid_request_error"`)) {
		t.Errorf("previous_response_id of another team: %d %s; want 404 in OpenAI's shape", st, b)
	}

	// Retrieve, delete, then gone.
	if st := do(t, "GET", srv.URL+"/v1/responses/"+first.ID, key, nil, nil); st != 200 {
		t.Errorf("GET: %d", st)
	}
	if st := do(t, "DELETE", srv.URL+"/v1/responses/"+first.ID, key, nil, nil); st != 200 {
		t.Errorf("DELETE: %d", st)
	}
	if st := do(t, "GET", srv.URL+"/v1/responses/"+first.ID, key, nil, nil); st != 404 {
		t.Errorf("GET after DELETE: %d; want 404", st)
	}

	// store:false keeps nothing.
	st, b = postResponses(t, srv.URL+"/v1/responses", key, `{"model":"cc-alias","input":"hi","store":false}`)
	var unstored struct{ ID string }
	_ = json.Unmarshal(b, &unstored)
	if st != 200 || do(t, "GET", srv.URL+"/v1/responses/"+unstored.ID, key, nil, nil) != 404 {
		t.Errorf("store:false: %d %s, and then retrievable", st, b)
	}
}

// TestResponsesInputTokens: counting never makes a paid call: the OpenAI
// upstream's own count endpoint, a local count for other families.
func TestResponsesInputTokens(t *testing.T) {
	srv, key, an, oa := messagesEnv(t)
	for _, model := range []string{"gpt-4o-mini", "cc-alias"} {
		st, b := postResponses(t, srv.URL+"/v1/responses/input_tokens", key, `{"model":"`+model+`","input":"count these five words please"}`)
		var v struct {
			InputTokens int `json:"input_tokens"`
		}
		if err := json.Unmarshal(b, &v); st != 200 || err != nil || v.InputTokens < 1 {
			t.Errorf("%s: %d %s", model, st, b)
		}
	}
	if r := oa.Requests(); len(r) != 1 || r[0].Path != "/v1/responses/input_tokens" {
		t.Errorf("the OpenAI fake got %v; want one count", r)
	}
	if len(an.Requests()) != 0 {
		t.Errorf("the Anthropic fake got %d requests; want none", len(an.Requests()))
	}
}

// TestResponsesMalformed: 64 malformed bodies per endpoint are a 4xx in
// OpenAI's error shape, never a 5xx or a dropped connection.
func TestResponsesMalformed(t *testing.T) {
	srv, key, _, _ := messagesEnv(t)
	bodies := []string{``, `null`, `[]`, `"x"`, `1`, `{`, `{"model":1}`, `{"input":"hi"}`, `{"model":""}`,
		`{"model":"gpt-4o-mini","input":1}`, `{"model":"gpt-4o-mini","input":{}}`, `{"model":"gpt-4o-mini","input":[1]}`,
		`{"model":"gpt-4o-mini","input":[{}]}`, `{"model":"gpt-4o-mini","input":[{"type":"bogus"}]}`,
		`{"model":"gpt-4o-mini","input":[{"role":"robot","content":"x"}]}`, `{"model":"gpt-4o-mini","input":[{"role":"user","content":1}]}`,
		`{"model":"gpt-4o-mini","input":[{"role":"user","content":[{"type":"input_image"}]}]}`,
		`{"model":"gpt-4o-mini","input":[{"type":"function_call","call_id":"c","name":"f"}]}`,
		`{"model":"gpt-4o-mini","input":[{"type":"function_call_output","call_id":"c"}]}`,
		`{"model":"gpt-4o-mini","input":"hi","tools":[{"type":"function"}]}`, `{"model":"gpt-4o-mini","input":"hi","tool_choice":"sometimes"}`,
		`{"model":"gpt-4o-mini","input":"hi","text":{"format":{"type":"xml"}}}`, `{"model":"gpt-4o-mini","input":"hi","max_output_tokens":0}`,
		`{"model":"gpt-4o-mini","input":"hi","temperature":9}`, `{"model":"gpt-4o-mini","input":"hi","previous_response_id":"resp_nope"}`,
		`{"model":"no-such-model","input":"hi"}`, `{"model":"gpt-4o-mini","input":"hi","stream":"yes"}`, `{"model":"gpt-4o-mini","input":"hi","reasoning":5}`,
	}
	for len(bodies) < 64 {
		bodies = append(bodies, `{"model":"gpt-4o-mini","input":[{"role":"user","content":[{"type":"x`+strings.Repeat("y", len(bodies))+`"}]}]}`)
	}
	for _, path := range []string{"/v1/responses", "/v1/responses/input_tokens"} {
		for _, body := range bodies {
			st, b := postResponses(t, srv.URL+path, key, body)
			if st < 400 || st >= 500 || !bytes.Contains(b, []byte(`"error"`)) {
				t.Errorf("POST %s %s: %d %s; want a 4xx error", path, body, st, b)
			}
		}
	}
	if st, _ := postResponses(t, srv.URL+"/v1/responses", "", `{"model":"gpt-4o-mini","input":"hi"}`); st != 401 {
		t.Errorf("no key: %d; want 401", st)
	}
}

// TestOpenAISDK runs the official openai Node SDK's Responses scenarios
// (test/agents/openai-sdk.mjs) and the Vercel AI SDK's (ai-sdk.mjs) through llmservice against every upstream
// family: pass-through to the OpenAI fake, translation to the others; a
// stored conversation continues on another family each time.
func TestOpenAISDK(t *testing.T) {
	script := agentBinary(t, filepath.Join("..", "openai-sdk.mjs"))
	aiScript := agentBinary(t, filepath.Join("..", "ai-sdk.mjs"))
	agentBinary(t, filepath.Join("openai", "package.json"))
	agentBinary(t, filepath.Join("@ai-sdk", "openai", "package.json"))
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	an := providertest.NewAnthropicMessages(t)
	oa := providertest.NewOpenAIAgent(t)
	ge := providertest.NewGemini(t)
	ol := providertest.NewOllama(t)
	srv := startServer(t, map[string]string{
		"ANTHROPIC_API_KEY": "sk-upstream-anthropic", "ANTHROPIC_BASE_URL": an.URL,
		"OPENAI_API_KEY": "sk-upstream-openai", "OPENAI_BASE_URL": oa.URL + "/v1",
		"GEMINI_API_KEY": "upstream-gemini", "GEMINI_BASE_URL": ge.URL,
		"OLLAMA_BASE_URL": ol.URL,
	})
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	runs := []struct{ name, model, other string }{
		{"openai", "gpt-4o-mini", "claude-sonnet-4-5"},
		{"anthropic", "claude-sonnet-4-5", "gpt-4o-mini"},
		{"gemini", "gemini-2.0-flash", "gpt-4o-mini"},
		{"ollama", "ollama/llama3.1", "claude-sonnet-4-5"},
		{"mock", "mock/echo", "gpt-4o-mini"},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			for _, args := range [][]string{{script, srv.URL, key, r.model, r.other}, {aiScript, srv.URL, key, r.model}} {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, node, args...)
				cmd.Dir = filepath.Dir(script)
				cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
					if !strings.Contains(line, `"ok":true`) {
						t.Errorf("%s: scenario failed: %s", filepath.Base(args[0]), line)
					}
				}
				if err != nil && !t.Failed() {
					t.Errorf("node %s: %v\nstderr: %s", filepath.Base(args[0]), err, stderr.String())
				}
			}
		})
	}
}
