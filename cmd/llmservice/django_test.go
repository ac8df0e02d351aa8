package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/dialect/django"
)

// djangoSeedCurls are the seed's curl commands, verbatim but for the base
// URL and the placeholders (filled from the environment by bash), and -s.
var djangoSeedCurls = []struct{ name, cmd string }{
	{"welcome", `curl -s http://127.0.0.1:8000/`},
	{"signup", `curl -s -X POST http://localhost:8000/api/signup/ \
  -H "Content-Type: application/json" \
  -d '{"username": "charming_user", "password": "secure_pwd"}'`},
	{"token", `curl -s -X POST http://localhost:8000/api/token/ \
  -H "Content-Type: application/json" \
  -d '{"username": "'"$USERNAME"'", "password": "'"$PASSWORD"'"}'`},
	{"refresh", `curl -s -X POST http://localhost:8000/api/token/refresh/ \
  -H "Content-Type: application/json" \
  -d '{"refresh": "'"$REFRESH_TOKEN"'"}'`},
	{"supported-models", `curl -s "http://localhost:8000/api/supported-models/?provider=gemini" \
  -H "Authorization: Bearer $ACCESS_TOKEN"`},
	{"chat", `curl -s -X POST "http://localhost:8000/api/chat/completions/?provider=openai" \
  -H "Content-Type: application/json" \
  -H "Authorization: Bearer $ACCESS_TOKEN" \
  -d '{
        "model": "gpt-3.5-turbo",
        "messages": [
          {"role": "user", "content": "How is the weather on Venus?"}
        ],
        "stream": false
      }'`},
	{"stream", `curl -s -N -X POST "http://localhost:8000/api/chat/completions/?provider=openai" \
  -H "Content-Type: application/json" \
  -H "Authorization: Bearer $ACCESS_TOKEN" \
  -d '{
        "model": "gpt-3.5-turbo",
        "messages": [
          {"role": "user", "content": "How is the weather on Venus?"}
        ],
        "stream": true
      }'`},
}

// djangoRunCurl runs one seed command against base with env.
func djangoRunCurl(t *testing.T, base, cmd string, env map[string]string) string {
	t.Helper()
	cmd = strings.NewReplacer("http://127.0.0.1:8000", base, "http://localhost:8000", base).Replace(cmd)
	c := exec.Command("bash", "-c", cmd)
	c.Env = os.Environ()
	for k, v := range env {
		c.Env = append(c.Env, k+"="+v)
	}
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return string(out)
}

func TestDjangoSeedCurls(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	env, _ := fakes(t)
	srv := startServer(t, env)
	vars := map[string]string{"USERNAME": "charming_user", "PASSWORD": "secure_pwd"}
	outs := map[string]string{}
	for _, c := range djangoSeedCurls {
		out := djangoRunCurl(t, srv.URL, c.cmd, vars)
		outs[c.name] = out
		switch c.name {
		case "token":
			var tk struct{ Access, Refresh string }
			djangoJSON(t, out, &tk)
			vars["REFRESH_TOKEN"], vars["ACCESS_TOKEN"] = tk.Refresh, tk.Access
		case "refresh":
			var tk struct{ Access string }
			djangoJSON(t, out, &tk)
			vars["ACCESS_TOKEN"] = tk.Access
		}
	}
	if got := strings.TrimSpace(outs["welcome"]); got != `{"message":"Welcome to the LLM API!"}` {
		t.Errorf("welcome = %s", got)
	}
	if got := strings.TrimSpace(outs["signup"]); got != `{"message":"User created successfully"}` {
		t.Errorf("signup = %s", got)
	}
	for _, tok := range []string{vars["ACCESS_TOKEN"], vars["REFRESH_TOKEN"]} {
		if !strings.HasPrefix(tok, "eyJ0eXAiOiJKV1QiLCJhbGci") {
			t.Errorf("token %q is not shaped like the seed's", tok)
		}
	}
	var models struct{ Models []string }
	djangoJSON(t, outs["supported-models"], &models)
	if len(models.Models) == 0 || !strings.HasPrefix(models.Models[0], "gemini-") {
		t.Errorf("supported-models = %s; want gemini models", outs["supported-models"])
	}
	var chat map[string]any
	djangoJSON(t, outs["chat"], &chat)
	for _, k := range []string{"id", "choices", "created", "model", "object", "service_tier", "system_fingerprint", "usage"} {
		if _, ok := chat[k]; !ok {
			t.Errorf("chat answer lacks %q: %s", k, outs["chat"])
		}
	}
	msg := chat["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
	if !strings.HasSuffix(msg["content"].(string), "How is the weather on Venus?") || chat["object"] != "chat.completion" {
		t.Errorf("chat = %s", outs["chat"])
	}
	for _, k := range []string{"refusal", "annotations", "audio", "function_call", "tool_calls"} {
		if _, ok := msg[k]; !ok {
			t.Errorf("message lacks %q", k)
		}
	}
	if text, done := djangoSSEText(t, outs["stream"]); !strings.HasSuffix(text, "How is the weather on Venus?") || !done {
		t.Errorf("stream text %q, [DONE] %v:\n%s", text, done, outs["stream"])
	}
}

func djangoJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
}

// djangoSSEText joins the content deltas of an SSE body and reports
// whether it ended with [DONE].
func djangoSSEText(t *testing.T, body string) (string, bool) {
	t.Helper()
	var b strings.Builder
	done := false
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var c struct {
			Object  string
			Choices []struct{ Delta struct{ Content *string } }
		}
		djangoJSON(t, data, &c)
		if c.Object != "chat.completion.chunk" {
			t.Errorf("chunk object = %q", c.Object)
		}
		if len(c.Choices) > 0 && c.Choices[0].Delta.Content != nil {
			b.WriteString(*c.Choices[0].Delta.Content)
		}
	}
	return b.String(), done
}

// djangoLogin signs a user up and logs in.
func djangoLogin(t *testing.T, base, user string) (access, refresh string) {
	t.Helper()
	cred := map[string]string{"username": user, "password": "Tr0ubadour-" + user + "-horse"}
	if st := do(t, "POST", base+"/api/signup/", "", cred, nil); st != http.StatusCreated {
		t.Fatalf("signup %s: %d", user, st)
	}
	var tk struct{ Access, Refresh string }
	if st := do(t, "POST", base+"/api/token/", "", cred, &tk); st != http.StatusOK {
		t.Fatalf("token %s: %d", user, st)
	}
	return tk.Access, tk.Refresh
}

// djangoClaims decodes a JWT's payload (without checking it).
func djangoClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	djangoJSON(t, string(b), &c)
	return c
}

const djangoTestSecret = "django e2e test secret"

// Access tokens work on the OpenAI dialect like keys; refresh, tampered
// and expired tokens do not, there or here.
func TestDjangoTokensOnEveryDialect(t *testing.T) {
	t.Setenv("LLMSERVICE_JWT_SECRET", djangoTestSecret)
	srv := startServer(t, nil)
	access, refresh := djangoLogin(t, srv.URL, "alice")
	ctx := context.Background()

	c0 := client(srv.URL, access)
	resp, err := c0.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "mock/echo", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("via a JWT")},
	})
	if err != nil {
		t.Fatalf("OpenAI dialect with an access token: %v", err)
	}
	if got := resp.Choices[0].Message.Content; got != "mock reply: via a JWT" {
		t.Errorf("content = %q", got)
	}

	// An expired token signed with the server's own secret.
	c := djangoClaims(t, access)
	past := &django.Tokens{Secret: []byte(djangoTestSecret), Now: func() time.Time { return time.Now().Add(-time.Hour) }}
	expired, err := past.Access(&llmservice.DjangoUser{ID: int64(c["user_id"].(float64)), KeyID: c["key_id"].(string)})
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{"refresh": refresh, "tampered": access[:len(access)-3] + "AAA", "expired": expired}
	for name, tok := range bad {
		t.Run(name, func(t *testing.T) {
			cl := client(srv.URL, tok)
			_, err := cl.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model: "mock/echo", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
			})
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
				t.Errorf("/v1 with a %s token: %v; want 401", name, err)
			}
			var body map[string]any
			st := do(t, "POST", srv.URL+"/api/chat/completions/?provider=mock", tok,
				map[string]any{"model": "echo", "messages": []map[string]string{{"role": "user", "content": "x"}}}, &body)
			if st != http.StatusUnauthorized || body["code"] != "token_not_valid" || body["detail"] != "Given token not valid for any token type" {
				t.Errorf("/api/chat with a %s token: %d %v", name, st, body)
			}
		})
	}
}

// A short access TTL from the environment: the token stops working, and
// the refresh token buys a new one that works.
func TestDjangoShortAccessTTL(t *testing.T) {
	t.Setenv("LLMSERVICE_JWT_ACCESS_TTL", "1s")
	advance := fakeClock(t)
	srv := startServer(t, nil)
	access, refresh := djangoLogin(t, srv.URL, "bob")
	c := djangoClaims(t, access)
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 1 {
		t.Fatalf("exp - iat = %v; want the configured 1s", exp-iat)
	}
	chat := map[string]any{"model": "echo", "messages": []map[string]string{{"role": "user", "content": "x"}}}
	if st := do(t, "POST", srv.URL+"/api/chat/completions/?provider=mock", access, chat, nil); st != http.StatusOK {
		t.Fatalf("fresh token: %d", st)
	}
	// exp is whole seconds at most 1s ahead, so 2s later it has passed.
	advance(2 * time.Second)
	var body map[string]any
	if st := do(t, "POST", srv.URL+"/api/chat/completions/?provider=mock", access, chat, &body); st != http.StatusUnauthorized {
		t.Fatalf("expired token: %d %v; want 401", st, body)
	}
	var fresh struct{ Access string }
	if st := do(t, "POST", srv.URL+"/api/token/refresh/", "", map[string]string{"refresh": refresh}, &fresh); st != http.StatusOK {
		t.Fatalf("refresh: %d", st)
	}
	if st := do(t, "POST", srv.URL+"/api/chat/completions/?provider=mock", fresh.Access, chat, nil); st != http.StatusOK {
		t.Fatalf("refreshed token: %d", st)
	}
}

// Without a configured secret, one is generated and kept: tokens survive a
// restart.
func TestDjangoSecretSurvivesRestart(t *testing.T) {
	db := testDatabaseURL(t, "llmservice.db")
	srv := startServer(t, map[string]string{"LLMSERVICE_DATABASE_URL": db})
	access, _ := djangoLogin(t, srv.URL, "carol")
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	srv = startServer(t, map[string]string{"LLMSERVICE_DATABASE_URL": db})
	var models struct{ Models []string }
	if st := do(t, "GET", srv.URL+"/api/supported-models/?provider=mock", access, nil, &models); st != http.StatusOK {
		t.Fatalf("token after restart: %d", st)
	}
	if len(models.Models) != 1 || models.Models[0] != "echo" {
		t.Errorf("mock models = %v; want [echo]", models.Models)
	}
}

// The user's calls land in its personal team's ledger; deleting the team
// ends the user.
func TestDjangoUsageAndTeamDeletion(t *testing.T) {
	srv := startServer(t, nil)
	access, refresh := djangoLogin(t, srv.URL, "dave")
	chat := map[string]any{"model": "echo", "messages": []map[string]string{{"role": "user", "content": "count me"}}}
	if st := do(t, "POST", srv.URL+"/api/chat/completions/?provider=mock", access, chat, nil); st != http.StatusOK {
		t.Fatalf("chat: %d", st)
	}
	var usage struct {
		Data []llmservice.UsageTotal
	}
	do(t, "GET", srv.URL+"/admin/usage?team_id=user-dave", testAdminKey, nil, &usage)
	if len(usage.Data) != 1 || usage.Data[0].Requests != 1 || usage.Data[0].TotalTokens == 0 {
		t.Fatalf("usage of user-dave = %+v; want one metered call", usage.Data)
	}
	if st := do(t, "DELETE", srv.URL+"/admin/teams/user-dave", testAdminKey, nil, nil); st != http.StatusOK {
		t.Fatalf("delete team: %d", st)
	}
	if st := do(t, "POST", srv.URL+"/api/chat/completions/?provider=mock", access, chat, nil); st != http.StatusUnauthorized {
		t.Errorf("chat after the team is gone: %d; want 401", st)
	}
	if st := do(t, "POST", srv.URL+"/api/token/refresh/", "", map[string]string{"refresh": refresh}, nil); st != http.StatusUnauthorized {
		t.Errorf("refresh after the team is gone: %d; want 401", st)
	}
	if st := do(t, "POST", srv.URL+"/api/token/", "", map[string]string{"username": "dave", "password": "Tr0ubadour-dave-horse"}, nil); st != http.StatusUnauthorized {
		t.Errorf("login after the team is gone: %d; want 401", st)
	}
}

func TestDjangoErrorsThroughServer(t *testing.T) {
	srv := startServer(t, nil)
	access, _ := djangoLogin(t, srv.URL, "erin")
	chat := map[string]any{"model": "echo", "messages": []map[string]string{{"role": "user", "content": "x"}}}
	tests := []struct {
		name, method, path, bearer string
		body                       any
		status                     int
		want                       string
	}{
		{"duplicate signup", "POST", "/api/signup/", "", map[string]string{"username": "erin", "password": "x"}, 400,
			`{"username":["A user with that username already exists."]}`},
		{"missing password", "POST", "/api/signup/", "", map[string]string{"username": "x"}, 400,
			`{"password":["This field is required."]}`},
		{"bad login", "POST", "/api/token/", "", map[string]string{"username": "erin", "password": "nope"}, 401,
			`{"detail":"No active account found with the given credentials"}`},
		{"bad refresh", "POST", "/api/token/refresh/", "", map[string]string{"refresh": "x.y.z"}, 401,
			`{"detail":"Token is invalid or expired","code":"token_not_valid"}`},
		{"no credentials", "POST", "/api/chat/completions/?provider=mock", "", chat, 401,
			`{"detail":"Authentication credentials were not provided."}`},
		{"unknown provider", "POST", "/api/chat/completions/?provider=x", access, chat, 400,
			`{"error":"Unsupported provider 'x'. Use one of: openai, gemini, inhouse, mock"}`},
		{"unconfigured provider", "POST", "/api/chat/completions/?provider=inhouse", access, chat, 503,
			`{"error":"Provider 'inhouse' is not configured on this server."}`},
		{"GET on POST endpoint", "GET", "/api/signup/", "", nil, 405,
			`{"detail":"Method \"GET\" not allowed."}`},
		{"unknown path stays 404", "GET", "/api/nothing/", "", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raw json.RawMessage
			st := do(t, tt.method, srv.URL+tt.path, tt.bearer, tt.body, &raw)
			if st != tt.status || (tt.want != "" && string(raw) != tt.want) {
				t.Errorf("%d %s; want %d %s", st, raw, tt.status, tt.want)
			}
		})
	}
}

func TestDjangoBrowsableAPI(t *testing.T) {
	srv := startServer(t, nil)
	for _, tt := range []struct {
		path, want string
		status     int
	}{
		{"/", "Welcome to the LLM API!", 200},
		// DRF's pages carry request buttons, each a form: the welcome page too.
		{"/", `<form id="get-form" method="GET" action="/">`, 200},
		{"/", `<form id="options-form" class="button-form" action="/" data-method="OPTIONS">`, 200},
		{"/api/signup/", `<form id="form" method="POST" action="/api/signup/">`, 405},
		{"/api/signup/", `<form id="options-form" class="button-form" action="/api/signup/" data-method="OPTIONS">`, 405},
		{"/api/supported-models/?provider=openai", `<form id="get-form" method="GET" action="/api/supported-models/">`, 401},
		{"/api/chat/completions/?provider=openai", `<form id="form" method="POST" action="/api/chat/completions/?provider=openai">`, 405},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(b.String(), tt.want) {
			t.Errorf("GET %s: %d %s; want %d HTML containing %q", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), tt.status, tt.want)
		}
	}
}

// djangoPythonFlow is the seed's whole flow written with requests, as its
// users would: signup, token, refresh, supported models, chat, streaming.
const djangoPythonFlow = `import json, os, requests

BASE_URL = os.environ["BASE_URL"]

r = requests.get(f"{BASE_URL}/")
assert r.json() == {"message": "Welcome to the LLM API!"}, r.text

creds = {"username": "charming_user", "password": "secure_pwd"}
r = requests.post(f"{BASE_URL}/api/signup/", json=creds)
assert r.json() == {"message": "User created successfully"}, r.text

r = requests.post(f"{BASE_URL}/api/signup/", json=creds)
assert r.status_code == 400 and "username" in r.json(), r.text

tokens = requests.post(f"{BASE_URL}/api/token/", json=creds).json()
access = requests.post(f"{BASE_URL}/api/token/refresh/", json={"refresh": tokens["refresh"]}).json()["access"]
headers = {"Authorization": f"Bearer {access}"}

models = requests.get(f"{BASE_URL}/api/supported-models/", params={"provider": "gemini"}, headers=headers).json()["models"]

payload = {
    "model": "gpt-3.5-turbo",
    "messages": [{"role": "user", "content": "How is the weather on Venus?"}],
    "stream": False,
}
r = requests.post(f"{BASE_URL}/api/chat/completions/", params={"provider": "openai"}, headers=headers, json=payload)
r.raise_for_status()
completion = r.json()

payload["stream"] = True
pieces, done = [], False
with requests.post(f"{BASE_URL}/api/chat/completions/", params={"provider": "openai"}, headers=headers, json=payload, stream=True) as r:
    r.raise_for_status()
    for line in r.iter_lines(decode_unicode=True):
        if not line or not line.startswith("data: "):
            continue
        data = line[len("data: "):]
        if data == "[DONE]":
            done = True
            break
        delta = json.loads(data)["choices"][0]["delta"].get("content")
        if delta:
            pieces.append(delta)

unauth = requests.post(f"{BASE_URL}/api/chat/completions/", params={"provider": "openai"}, json=payload)
bad = requests.post(f"{BASE_URL}/api/chat/completions/", params={"provider": "nope"}, headers=headers, json=payload)

print(json.dumps({
    "models": models,
    "content": completion["choices"][0]["message"]["content"],
    "usage": completion["usage"],
    "streamed": "".join(pieces),
    "done": done,
    "unauth": [unauth.status_code, unauth.json()],
    "bad_provider": [bad.status_code, bad.json()],
}))
`

func TestDjangoPythonRequests(t *testing.T) {
	if err := exec.Command("python3", "-c", "import requests").Run(); err != nil {
		t.Skip("python3 with requests is not installed")
	}
	env, _ := fakes(t)
	srv := startServer(t, env)
	c := exec.Command("python3", "-c", djangoPythonFlow)
	c.Env = append(os.Environ(), "BASE_URL="+srv.URL)
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	var got struct {
		Models      []string
		Content     string
		Usage       map[string]any
		Streamed    string
		Done        bool
		Unauth      []any
		BadProvider []any `json:"bad_provider"`
	}
	djangoJSON(t, string(out), &got)
	if len(got.Models) == 0 || !strings.HasSuffix(got.Content, "How is the weather on Venus?") ||
		!strings.HasSuffix(got.Streamed, "How is the weather on Venus?") || !got.Done || got.Usage["total_tokens"].(float64) == 0 {
		t.Errorf("flow = %s", out)
	}
	if got.Unauth[0].(float64) != 401 || got.BadProvider[0].(float64) != 400 {
		t.Errorf("errors = %v %v; want 401 and 400", got.Unauth, got.BadProvider)
	}
}
