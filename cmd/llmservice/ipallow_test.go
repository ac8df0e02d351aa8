package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestIPAllowlistOnEveryAPI: a key whose allowlist leaves out the caller is
// refused by every API family, model calls and reads alike, because the
// check is part of authentication rather than something each API calls.
func TestIPAllowlistOnEveryAPI(t *testing.T) {
	srv := startServer(t, nil)
	_, key, secret := newKey(t, srv.URL, "walled", map[string]any{"ip_allowlist": []string{"10.0.0.0/8"}})
	const chat = `{"model":"mock/echo","messages":[{"role":"user","content":"hi"}]}`
	bearer := map[string]string{"Authorization": "Bearer " + key}
	for _, tc := range []struct {
		name, method, path, body string
		headers                  map[string]string
		want                     string // in the body
	}{
		{"openai chat", "POST", "/v1/chat/completions", chat, bearer, "Unauthorized IP address"},
		{"openai models", "GET", "/v1/models", "", bearer, "Unauthorized IP address"},
		{"anthropic messages", "POST", "/v1/messages", `{"model":"mock/echo","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{"X-Api-Key": key, "Anthropic-Version": "2023-06-01"}, "Unauthorized IP address"},
		{"responses", "POST", "/v1/responses", `{"model":"mock/echo","input":"hi"}`, bearer, "Unauthorized IP address"},
		{"gemini", "POST", "/v1beta/models/mock/echo:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`,
			map[string]string{"X-Goog-Api-Key": key}, "Unauthorized IP address"},
		{"athena", "GET", "/api/v1/conversations", "", bearer, "Unauthorized IP address"},
		{"jobs", "POST", "/api/jobs/create", `{}`, bearer, ""},
		{"llmendpoint", "POST", "/api/v1/completions", `{}`, bearer, "Unauthorized IP address"},
		{"django", "GET", "/api/supported-models/", "", bearer, "Unauthorized IP address"},
		{"stackfordevs", "GET", "/v1/logs/walled/p", "", map[string]string{"X-Api-Key": key, "X-Secret-Key": secret, "X-Tenant-Id": "walled", "X-Project-Id": "p"}, "Unauthorized IP address"},
		{"stackfordevs completions", "POST", "/v1/completions", chat, map[string]string{"X-Api-Key": key, "X-Secret-Key": secret, "X-Tenant-Id": "walled", "X-Project-Id": "p"}, "Unauthorized IP address"},
		{"openai files", "GET", "/v1/files", "", bearer, "Unauthorized IP address"},
		{"openai batches", "GET", "/v1/batches", "", bearer, "Unauthorized IP address"},
		{"usage", "GET", "/v1/usage", "", bearer, "Unauthorized IP address"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		if tc.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %s %s from 127.0.0.1 with a 10/8 allowlist: %d %s; want 401 %q", tc.name, tc.method, tc.path, resp.StatusCode, b, tc.want)
		}
	}
}
