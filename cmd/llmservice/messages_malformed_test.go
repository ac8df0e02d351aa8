package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// malformedMessages returns 64 broken Messages request bodies: wrong types
// and missing fields named by the API, and a valid body cut short at
// every few bytes.
func malformedMessages() []string {
	cases := []string{
		``, `null`, `[]`, `"text"`, `42`, `{}`, `{"model":""}`, "\xff\xfe{}",
		`{"model":1,"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":"hi"}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[1]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":5,"content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"robot","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":5}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":[{"type":1}]}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":[{"text":"no type"}]}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image"}]}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64"}}]}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"file:///etc/passwd"}}]}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"tool_use","name":"x","input":{}}]}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"x","input":"str"}]}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_result","content":"r"}]}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":7}]}]}`,
		`{"model":"gpt-4o-mini","max_tokens":"ten","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":1e999,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"system":5,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"system":[{"type":"text","text":{}}],"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"stream":"yes","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"temperature":"hot","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"temperature":9,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"tools":{},"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"tools":[{"name":""}],"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"tools":[{"name":"x","description":3}],"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"tool_choice":"auto","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"tool_choice":{"type":"tool"},"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"tool_choice":{"type":"sometimes"},"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"stop_sequences":"END","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"no-such-model","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":"hi"}]`,
		`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}}`,
		`{"model":"gpt-4o-mini" "max_tokens":10}`,
	}
	valid := `{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"hello"}]}]}`
	for i := 3; len(cases) < 64; i += 4 {
		cases = append(cases, valid[:i])
	}
	return cases
}

// TestMessagesMalformed: every broken body gets a 4xx in Anthropic's error
// shape, never a 5xx or a dropped connection.
func TestMessagesMalformed(t *testing.T) {
	srv, key, _, _ := messagesEnv(t)
	cases := malformedMessages()
	if len(cases) != 64 {
		t.Fatalf("%d cases; want 64", len(cases))
	}
	for _, path := range []string{"/v1/messages", "/v1/messages/count_tokens"} {
		for i, body := range cases {
			req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
			req.Header.Set("x-api-key", key)
			req.Header.Set("anthropic-version", "2023-06-01")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("%s case %d %q: %v", path, i, body, err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct {
				Type  string `json:"type"`
				Error struct{ Type, Message string }
			}
			if resp.StatusCode < 400 || resp.StatusCode >= 500 || json.Unmarshal(b, &e) != nil || e.Type != "error" || e.Error.Type == "" || e.Error.Message == "" {
				t.Errorf("%s case %d %q: %d %s; want a 4xx in Anthropic's shape", path, i, body, resp.StatusCode, b)
			}
		}
	}
	// Credentials: none, wrong, and a StackForDevs-style x-api-key alone.
	for _, h := range []map[string]string{{}, {"x-api-key": "sk-wrong"}, {"Authorization": "Bearer sk-wrong"}} {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/messages", strings.NewReader(`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(b), `"authentication_error"`) {
			t.Errorf("credentials %v: %d %s", h, resp.StatusCode, b)
		}
	}
}

// TestModelsAnthropicShape: GET /v1/models with anthropic-version answers
// Anthropic's list shape, with the key in x-api-key alone (once taken for
// StackForDevs credentials and refused) or as a bearer; without the header
// the OpenAI shape.
func TestModelsAnthropicShape(t *testing.T) {
	srv, key, _, _ := messagesEnv(t)
	get := func(h map[string]string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/models?limit=1000", nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	for _, h := range []map[string]string{
		{"x-api-key": key, "anthropic-version": "2023-06-01"},
		{"Authorization": "Bearer " + key, "anthropic-version": "2026-10-21"},
	} {
		st, out := get(h)
		data, _ := out["data"].([]any)
		if st != 200 || len(data) == 0 || out["has_more"] != false || out["first_id"] == nil {
			t.Fatalf("%v: %d %v", h, st, out)
		}
		m := data[0].(map[string]any)
		if m["type"] != "model" || m["id"] == "" || m["display_name"] == nil || m["created_at"] == nil {
			t.Errorf("%v: model = %v", h, m)
		}
	}
	st, out := get(map[string]string{"x-api-key": key})
	if st != 200 || out["object"] != "list" {
		t.Errorf("x-api-key without anthropic-version: %d %v; want the OpenAI list", st, out)
	}
	st, _ = get(map[string]string{"x-api-key": "sk-wrong", "anthropic-version": "2023-06-01"})
	if st != 401 {
		t.Errorf("wrong key: %d", st)
	}
	// Agents probe the base URL with HEAD before their first call.
	for _, path := range []string{"/", "/api/hello"} {
		resp, err := http.Head(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("HEAD %s: %d; want 200", path, resp.StatusCode)
		}
	}
}
