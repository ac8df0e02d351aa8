package providertest_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// ollamaDo sends a raw request to the fake, with the key unless noKey.
func ollamaDo(t *testing.T, f *providertest.Fake, method, path, body string, noKey bool) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if !noKey {
		req.Header.Set("Authorization", "Bearer "+providertest.OllamaKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

func ollamaJSONLines(t *testing.T, body string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestOllamaFakeRejects(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		noKey                    bool
		wantStatus               int
		wantBody                 string
	}{
		{"no key", "POST", "/api/chat", `{"model":"m","messages":[]}`, true, 401, `{"error":"unauthorized"}`},
		{"no model", "POST", "/api/chat", `{"messages":[{"role":"user","content":"hi"}]}`, false, 400, `{"error":"model is required"}`},
		{"model not pulled", "POST", "/api/chat", `{"model":"missing-model","messages":[]}`, false, 404, `{"error":"model \"missing-model\" not found, try pulling it first"}`},
		{"arguments as a string", "POST", "/api/chat", `{"model":"m","messages":[{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}]}`, false, 400, ""},
		{"bad format", "POST", "/api/chat", `{"model":"m","format":"xml","messages":[]}`, false, 400, ""},
		{"embed without model", "POST", "/api/embed", `{"input":["a"]}`, false, 400, `{"error":"model is required"}`},
		{"embed bad input", "POST", "/api/embed", `{"model":"e","input":3}`, false, 400, `{"error":"invalid input type"}`},
		{"unknown route", "GET", "/api/nope", ``, false, 404, "404 page not found\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := providertest.NewOllamaWithKey(t, providertest.OllamaKey)
			resp, body := ollamaDo(t, f, tc.method, tc.path, tc.body, tc.noKey)
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d; want %d (body %s)", resp.StatusCode, tc.wantStatus, body)
			}
			if tc.wantBody != "" && body != tc.wantBody {
				t.Errorf("body = %s; want %s", body, tc.wantBody)
			}
		})
	}
}

func TestOllamaFakeChat(t *testing.T) {
	f := providertest.NewOllama(t) // a local Ollama needs no key
	resp, body := ollamaDo(t, f, "POST", "/api/chat", `{"model":"m","stream":false,"messages":[{"role":"user","content":"hi you"}]}`, true)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q; want application/json", ct)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if msg := got["message"].(map[string]any); msg["content"] != "echo: hi you" || got["done"] != true || got["done_reason"] != "stop" {
		t.Errorf("answer = %s", body)
	}
	if got["prompt_eval_count"] != 2.0 || got["eval_count"] != 3.0 {
		t.Errorf("counts = %v/%v; want 2/3", got["prompt_eval_count"], got["eval_count"])
	}
}

func TestOllamaFakeStreamsByDefault(t *testing.T) {
	f := providertest.NewOllama(t)
	resp, body := ollamaDo(t, f, "POST", "/api/chat", `{"model":"m","messages":[{"role":"user","content":"x y"}]}`, false)
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type = %q; want application/x-ndjson", ct)
	}
	var text []string
	lines := ollamaJSONLines(t, body)
	for _, l := range lines {
		text = append(text, l["message"].(map[string]any)["content"].(string))
	}
	if diff := cmp.Diff([]string{"echo:", " x", " y", ""}, text); diff != "" {
		t.Errorf("contents mismatch (-want +got):\n%s", diff)
	}
	last := lines[len(lines)-1]
	if last["done"] != true || last["eval_count"] != 3.0 || last["prompt_eval_count"] != 2.0 {
		t.Errorf("final line = %v", last)
	}
}

func TestOllamaFakeToolCall(t *testing.T) {
	f := providertest.NewOllama(t)
	_, body := ollamaDo(t, f, "POST", "/api/chat", `{"model":"m","stream":true,
		"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}],
		"messages":[{"role":"user","content":"find cats"}]}`, false)
	lines := ollamaJSONLines(t, body)
	if len(lines) != 2 {
		t.Fatalf("got %d lines; want a tool call line and the final line:\n%s", len(lines), body)
	}
	calls := lines[0]["message"].(map[string]any)["tool_calls"].([]any)
	fn := calls[0].(map[string]any)["function"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"index": 0.0, "name": "lookup", "arguments": map[string]any{"query": "find cats"}}, fn); diff != "" {
		t.Errorf("tool call mismatch (-want +got):\n%s", diff)
	}
}

func TestOllamaFakeMidStreamFailures(t *testing.T) {
	f := providertest.NewOllama(t)
	f.FailNext(providertest.Failure{AfterChunks: 1, Body: `{"error":"boom"}`})
	_, body := ollamaDo(t, f, "POST", "/api/chat", `{"model":"m","messages":[{"role":"user","content":"a b"}]}`, false)
	lines := ollamaJSONLines(t, body)
	if len(lines) != 2 || lines[1]["error"] != "boom" {
		t.Errorf("lines = %v; want one chunk then the error line", lines)
	}

	f.FailNext(providertest.Failure{AfterChunks: 2})
	req, _ := http.NewRequest("POST", f.URL+"/api/chat", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"a b"}]}`))
	req.Header.Set("Authorization", "Bearer "+providertest.OllamaKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("reading an aborted stream succeeded; want an error")
	}
}

func TestOllamaFakeEmbedAndTags(t *testing.T) {
	f := providertest.NewOllama(t)
	_, body := ollamaDo(t, f, "POST", "/api/embed", `{"model":"e","input":"two words"}`, false)
	var got struct {
		Embeddings      [][]float64 `json:"embeddings"`
		PromptEvalCount int         `json:"prompt_eval_count"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]float64{{9, 2, 1}}, got.Embeddings); diff != "" || got.PromptEvalCount != 2 {
		t.Errorf("embed mismatch (-want +got):\n%s\nprompt_eval_count %d", diff, got.PromptEvalCount)
	}
	resp, body := ollamaDo(t, f, "GET", "/api/tags", "", false)
	if resp.StatusCode != 200 || !strings.Contains(body, `"name":"llama3.2:latest"`) {
		t.Errorf("tags = %d %s", resp.StatusCode, body)
	}
}
