package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// sfdLog collects a server's log lines, safe for concurrent writes.
type sfdLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *sfdLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *sfdLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// sfdStartServer is startServer with the log captured (at debug level, so
// that every line that could leak a secret is written).
func sfdStartServer(t *testing.T, env map[string]string) (*testServer, *sfdLog) {
	t.Helper()
	if env["LLMSERVICE_DATABASE_URL"] == "" {
		env["LLMSERVICE_DATABASE_URL"] = testDatabaseURL(t, "llmservice.db")
	}
	env["LLMSERVICE_ADDR"] = "127.0.0.1:0"
	env["LLMSERVICE_ADMIN_KEY"] = testAdminKey
	if env["LLMSERVICE_LOG_LEVEL"] == "" {
		env["LLMSERVICE_LOG_LEVEL"] = "debug"
	}
	logs := &sfdLog{}
	ctx, cancel := context.WithCancel(context.Background())
	ready, errc := make(chan string, 1), make(chan error, 1)
	go func() { errc <- serve(ctx, nil, testGetenv(env), io.Discard, logs, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		cancel()
		t.Fatalf("serve: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start within 30s")
	}
	stopped := false
	ts := &testServer{URL: "http://" + addr, db: env["LLMSERVICE_DATABASE_URL"]}
	ts.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		http.DefaultClient.CloseIdleConnections()
		cancel()
		return <-errc
	}
	t.Cleanup(func() { _ = ts.stop() })
	waitHealthy(t, ts.URL)
	return ts, logs
}

// sfdTenant is a StackForDevs tenant: a team with a key and its secret.
type sfdTenant struct {
	ID, Key, Secret, Project string
}

func sfdNewTenant(t *testing.T, base, team string) sfdTenant {
	t.Helper()
	_, key, secret := newKey(t, base, team, nil)
	return sfdTenant{ID: team, Key: key, Secret: secret, Project: "web"}
}

func (c sfdTenant) headers() map[string]string {
	return map[string]string{"x-api-key": c.Key, "x-secret-key": c.Secret, "x-tenant-id": c.ID, "x-project-id": c.Project}
}

// sfdDo sends a request with headers and a raw body, and returns the status
// and the answer's body.
func sfdDo(t *testing.T, method, url string, h map[string]string, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// sfdJSON decodes b into a generic map, failing the test otherwise.
func sfdJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, b)
	}
	return m
}

// sfdErrorCode returns error.code of a StackForDevs (OpenAI-shaped) error.
func sfdErrorCode(t *testing.T, b []byte) string {
	t.Helper()
	e, ok := sfdJSON(t, b)["error"].(map[string]any)
	if !ok || e["message"] == "" {
		t.Fatalf("not an error body: %s", b)
	}
	code, _ := e["code"].(string)
	return code
}

const sfdSeedCompletion = `{
    "model": "gpt-4",
    "messages": [
      {"role": "system", "content": "You are a helpful assistant."},
      {"role": "user", "content": "Explain quantum computing in simple terms."}
    ],
    "max_tokens": 500,
    "temperature": 0.7
  }`

func TestStackForDevsCompletions(t *testing.T) {
	env, fk := fakes(t)
	srv := startServer(t, env)
	acme := sfdNewTenant(t, srv.URL, "sfd-acme")
	other := sfdNewTenant(t, srv.URL, "sfd-other")

	st, b := sfdDo(t, "POST", srv.URL+"/v1/completions", acme.headers(), sfdSeedCompletion)
	if st != 200 {
		t.Fatalf("seed completion: %d %s", st, b)
	}
	var cc struct {
		Object  string
		Model   string
		Choices []struct {
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	if err := json.Unmarshal(b, &cc); err != nil || cc.Object != "chat.completion" || len(cc.Choices) != 1 ||
		cc.Choices[0].Message.Content != "echo: Explain quantum computing in simple terms." || cc.Model != "gpt-4" || cc.Usage.CompletionTokens == 0 {
		t.Fatalf("messages form answer: %s", b)
	}
	up := fk["openai"].Last(t).JSON(t)
	if up["max_tokens"] != 500.0 || up["temperature"] != 0.7 {
		t.Errorf("upstream got max_tokens %v, temperature %v; want 500 and 0.7", up["max_tokens"], up["temperature"])
	}

	// The legacy prompt form on the same path, with either credential, is
	// a text_completion.
	prompt := `{"model":"gpt-4","prompt":"Say hi","max_tokens":5}`
	for name, h := range map[string]map[string]string{
		"bearer":       {"Authorization": "Bearer " + acme.Key},
		"stackfordevs": acme.headers(),
	} {
		st, b := sfdDo(t, "POST", srv.URL+"/v1/completions", h, prompt)
		m := sfdJSON(t, b)
		if st != 200 || m["object"] != "text_completion" || !strings.Contains(string(b), `"text":"echo: Say hi"`) {
			t.Errorf("prompt form with %s credentials: %d %s", name, st, b)
		}
	}

	// Messages with a bearer key keep the text_completion this path gave
	// them before StackForDevs shared it.
	st, b = sfdDo(t, "POST", srv.URL+"/v1/completions", map[string]string{"Authorization": "Bearer " + acme.Key}, sfdSeedCompletion)
	if m := sfdJSON(t, b); st != 200 || m["object"] != "text_completion" {
		t.Errorf("messages with a bearer key: %d %s", st, b)
	}

	// Streaming with messages is a chat.completion.chunk stream; the seed's
	// default temperature applies when none is sent.
	st, b = sfdDo(t, "POST", srv.URL+"/v1/completions", acme.headers(),
		`{"model":"gpt-4","stream":true,"messages":[{"role":"user","content":"one two three"}]}`)
	if st != 200 || !strings.Contains(string(b), `"object":"chat.completion.chunk"`) || !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
		t.Errorf("streamed messages: %d %s", st, b)
	}
	if up := fk["openai"].Last(t).JSON(t); up["temperature"] != 0.7 {
		t.Errorf("temperature sent upstream = %v; want the seed's default 0.7", up["temperature"])
	}

	for _, tc := range []struct {
		name   string
		h      map[string]string
		status int
		code   string
	}{
		{"NoCredentials", map[string]string{}, 401, "invalid_api_key"},
		{"WrongSecret", sfdWith(acme.headers(), "x-secret-key", "sks-wrong"), 401, "invalid_api_key"},
		{"AnotherTenantsSecret", sfdWith(acme.headers(), "x-secret-key", other.Secret), 401, "invalid_api_key"},
		{"NoSecret", sfdWith(acme.headers(), "x-secret-key", ""), 401, "missing_secret_key"},
		{"TenantMismatch", sfdWith(acme.headers(), "x-tenant-id", other.ID), 401, "tenant_mismatch"},
		{"NoTenant", sfdWith(acme.headers(), "x-tenant-id", ""), 401, "missing_tenant_id"},
		{"NoProject", sfdWith(acme.headers(), "x-project-id", ""), 400, "missing_project_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b := sfdDo(t, "POST", srv.URL+"/v1/completions", tc.h, sfdSeedCompletion)
			if st != tc.status || sfdErrorCode(t, b) != tc.code {
				t.Errorf("%d %s; want %d with code %s", st, b, tc.status, tc.code)
			}
		})
	}
	for _, tc := range []struct{ name, body, param string }{
		{"NoModel", `{"messages":[{"role":"user","content":"x"}]}`, "model"},
		{"MessagesNotArray", `{"model":"gpt-4","messages":"hi"}`, "messages"},
		{"TemperatureNotNumber", `{"model":"gpt-4","messages":[{"role":"user","content":"x"}],"temperature":"hot"}`, "temperature"},
		{"MaxTokensNotInteger", `{"model":"gpt-4","messages":[{"role":"user","content":"x"}],"max_tokens":1.5}`, "max_tokens"},
		{"Malformed", `{"model":`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b := sfdDo(t, "POST", srv.URL+"/v1/completions", acme.headers(), tc.body)
			e, _ := sfdJSON(t, b)["error"].(map[string]any)
			if st != 400 || e == nil || (tc.param != "" && e["param"] != tc.param) {
				t.Errorf("%d %s; want 400 naming %q", st, b, tc.param)
			}
		})
	}
}

func sfdWith(h map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for hk, hv := range h {
		out[hk] = hv
	}
	if v == "" {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

// sfdLeaks fails when secret appears in any of the database's files or in
// the server log.
func sfdLeaks(t *testing.T, dbPath string, logs *sfdLog, secret string) {
	t.Helper()
	if where := dbContains(t, dbPath, secret); where != "" {
		t.Errorf("the plaintext provider key is in %s", where)
	}
	if strings.Contains(logs.String(), secret) {
		t.Error("the plaintext provider key is in the server log")
	}
}

func TestStackForDevsBringYourOwnKey(t *testing.T) {
	env, fk := fakes(t)
	srv, logs := sfdStartServer(t, env)
	acme := sfdNewTenant(t, srv.URL, "byok-acme")
	other := sfdNewTenant(t, srv.URL, "byok-other")
	const openaiKey, anthropicKey = "sk-acme-own-openai-key-0123456789", "sk-ant-acme-own-key-9876543210"
	var answers []byte // every answer, to check none shows a key
	base := srv.URL

	call := func(tn sfdTenant, model string) {
		t.Helper()
		st, b := sfdDo(t, "POST", base+"/v1/completions", tn.headers(), `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`)
		answers = append(answers, b...)
		if st != 200 {
			t.Fatalf("completion with %s: %d %s", model, st, b)
		}
	}
	upstreamKey := func(family string) string {
		r := fk[family].Last(t)
		if family == "anthropic" {
			return r.Header.Get("x-api-key")
		}
		return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}

	// Before configuring, the operator's key serves.
	call(acme, "gpt-4")
	if k := upstreamKey("openai"); k != "sk-upstream-openai" {
		t.Fatalf("before BYOK the upstream got key %q; want the operator's", k)
	}

	// The seed's request, verbatim.
	st, b := sfdDo(t, "POST", srv.URL+"/v1/providers", acme.headers(), `{"providerType": "openai", "apiKey": "`+openaiKey+`"}`)
	answers = append(answers, b...)
	if st != 201 || !strings.Contains(string(b), `"apiKey":"sk-...6789"`) {
		t.Fatalf("configure openai: %d %s", st, b)
	}
	st, b = sfdDo(t, "POST", srv.URL+"/v1/providers", acme.headers(), `{"providerType":"anthropic","apiKey":"`+anthropicKey+`"}`)
	answers = append(answers, b...)
	if st != 201 {
		t.Fatalf("configure anthropic: %d %s", st, b)
	}

	call(acme, "gpt-4")
	if k := upstreamKey("openai"); k != openaiKey {
		t.Errorf("acme's openai call used key %q; want acme's own", k)
	}
	call(acme, "claude-3-5-haiku-latest")
	if k := upstreamKey("anthropic"); k != anthropicKey {
		t.Errorf("acme's anthropic call used key %q; want acme's own", k)
	}
	call(other, "gpt-4")
	if k := upstreamKey("openai"); k != "sk-upstream-openai" {
		t.Errorf("another tenant's call used key %q; want the operator's", k)
	}

	st, b = sfdDo(t, "GET", srv.URL+"/v1/providers", acme.headers(), "")
	answers = append(answers, b...)
	if st != 200 || !strings.Contains(string(b), `"sk-...6789"`) || !strings.Contains(string(b), `"sk-...3210"`) {
		t.Errorf("list: %d %s", st, b)
	}
	if st, b := sfdDo(t, "GET", srv.URL+"/v1/providers", other.headers(), ""); st != 200 || string(b) != "{\"providers\":[]}\n" {
		t.Errorf("another tenant's list: %d %s", st, b)
	}

	// The test call reaches the provider with the tenant's key.
	st, b = sfdDo(t, "POST", srv.URL+"/v1/providers/test", acme.headers(), `{"providerType": "openai"}`)
	answers = append(answers, b...)
	if m := sfdJSON(t, b); st != 200 || m["success"] != true || upstreamKey("openai") != openaiKey {
		t.Errorf("test: %d %s", st, b)
	}
	if body := fk["openai"].Last(t).JSON(t); body["max_tokens"] != 1.0 {
		t.Errorf("test call max_tokens = %v; want 1", body["max_tokens"])
	}
	fk["anthropic"].FailNext(providertest.Failure{Status: 401,
		Body: `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`})
	st, b = sfdDo(t, "POST", srv.URL+"/v1/providers/test", acme.headers(), `{"providerType":"anthropic"}`)
	answers = append(answers, b...)
	m := sfdJSON(t, b)
	perr, _ := m["error"].(map[string]any)
	if st != 200 || m["success"] != false || perr == nil || perr["status"] != 401.0 || !strings.Contains(perr["message"].(string), "invalid x-api-key") {
		t.Errorf("test with a refused key: %d %s", st, b)
	}
	if st, b := sfdDo(t, "POST", srv.URL+"/v1/providers/test", other.headers(), `{"providerType":"openai"}`); st != 404 || sfdErrorCode(t, b) != "provider_not_configured" {
		t.Errorf("test without a configured provider: %d %s", st, b)
	}

	for _, secret := range []string{openaiKey, anthropicKey} {
		if bytes.Contains(answers, []byte(secret)) {
			t.Errorf("an answer shows the key %s...", secret[:8])
		}
		sfdLeaks(t, srv.db, logs, secret)
	}

	// The key file was generated next to the database, private, and said so.
	keyFile := filepath.Join(filepath.Dir(srv.db), "encryption.key")
	if onPostgres() {
		// PostgreSQL takes the key from the environment (TestE2EOnPostgres sets it).
	} else if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("encryption key file: %v %v; want mode 600", fi, err)
	}
	if !onPostgres() && !strings.Contains(logs.String(), "generated an encryption key") {
		t.Error("the log does not say an encryption key was generated")
	}

	// Deleting stops the tenant's key at once.
	if st, b := sfdDo(t, "DELETE", srv.URL+"/v1/providers/openai", acme.headers(), ""); st != 204 || len(b) != 0 {
		t.Fatalf("delete: %d %s", st, b)
	}
	call(acme, "gpt-4")
	if k := upstreamKey("openai"); k != "sk-upstream-openai" {
		t.Errorf("after delete the call used %q; want the operator's key", k)
	}

	// After a restart on the same database, the sealed key still opens.
	db := srv.db
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	env["LLMSERVICE_DATABASE_URL"] = db
	srv2, logs2 := sfdStartServer(t, env)
	base = srv2.URL
	call(acme, "claude-3-5-haiku-latest")
	if k := upstreamKey("anthropic"); k != anthropicKey {
		t.Errorf("after restart the anthropic call used %q; want acme's own key", k)
	}
	if strings.Contains(logs2.String(), "generated an encryption key") {
		t.Error("the restart generated a new encryption key instead of reading the file")
	}
	sfdLeaks(t, srv2.db, logs2, anthropicKey)
}

func TestStackForDevsEncryptionKeyFromEnv(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32))
	t.Setenv("LLMSERVICE_ENCRYPTION_KEY", key)
	env, _ := fakes(t)
	srv, logs := sfdStartServer(t, env)
	acme := sfdNewTenant(t, srv.URL, "env-acme")
	if st, b := sfdDo(t, "POST", srv.URL+"/v1/providers", acme.headers(), `{"providerType":"openai","apiKey":"sk-env-sealed-key-000000"}`); st != 201 {
		t.Fatalf("configure: %d %s", st, b)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(srv.db), "encryption.key")); !os.IsNotExist(err) {
		t.Errorf("a key file was written although LLMSERVICE_ENCRYPTION_KEY is set: %v", err)
	}
	if strings.Contains(logs.String(), key) {
		t.Error("the encryption key is in the log")
	}
	sfdLeaks(t, srv.db, logs, "sk-env-sealed-key-000000")

	t.Setenv("LLMSERVICE_ENCRYPTION_KEY", "too-short")
	env2, _ := fakes(t)
	env2["LLMSERVICE_DATABASE_URL"] = filepath.Join(t.TempDir(), "x.db")
	env2["LLMSERVICE_ADDR"] = "127.0.0.1:0"
	err := serve(context.Background(), nil, testGetenv(env2), io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "LLMSERVICE_ENCRYPTION_KEY") {
		t.Errorf("serve with a bad key: %v; want an error naming LLMSERVICE_ENCRYPTION_KEY", err)
	}
}
