package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// qcDo sends a LlmEndpoint request; auth is the raw Authorization value
// (LlmEndpoint clients send the key with or without "Bearer").
func qcDo(t *testing.T, method, url, auth, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if out != nil {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, url, err, buf.Bytes())
		}
	}
	return resp.StatusCode
}

type qcAnswer struct {
	Success *bool   `json:"success"`
	TaskID  string  `json:"task_id"`
	Message string  `json:"message"`
	Status  string  `json:"status"`
	Result  *string `json:"result"`
}

// qcSetup starts a server whose "llama3.1" is the mock model, with a team
// holding credits, and returns the base URL and a key.
func qcSetup(t *testing.T, env map[string]string) (string, string) {
	t.Helper()
	batchFastQueue(t)
	srv := startServer(t, env)
	do(t, "POST", srv.URL+"/admin/models", testAdminKey, map[string]any{"name": "llama3.1", "provider": "mock", "upstream_model": "echo"}, nil)
	do(t, "POST", srv.URL+"/admin/teams", testAdminKey, map[string]any{"id": "acme", "credits": 1_000_000}, nil)
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	return srv.URL, key
}

func qcCredits(t *testing.T, base, team string) int64 {
	t.Helper()
	var out struct {
		Credits int64 `json:"credits"`
	}
	do(t, "GET", base+"/admin/teams/"+team, testAdminKey, nil, &out)
	return out.Credits
}

// qcWait polls a task until it has finished.
func qcWait(t *testing.T, base, key, id string) qcAnswer {
	t.Helper()
	var a qcAnswer
	batchWait(t, "task "+id+" to finish", func() bool {
		a = qcAnswer{}
		if st := qcDo(t, "GET", base+"/api/v1/qcompletions/"+id, key, "", &a); st != http.StatusOK {
			t.Fatalf("status of task %s: %d %+v", id, st, a)
		}
		return a.Status == "completed" || a.Status == "failed"
	})
	return a
}

// The seed's example request, sent as its Python clients would (requests,
// Authorization without "Bearer"), polled until the task completes.
const qcPythonClient = `
import os, time, requests
base, key = os.environ["BASE_URL"], os.environ["API_KEY"]
headers = {"Authorization": key}
r = requests.post(base + "/api/v1/qcompletions", headers=headers, json={
    "messages": [{"role": "user", "content": "How does quantum computing work?"}],
    "model": "llama3.1",
    "max_tokens": 100,
    "temperature": 0.7
})
r.raise_for_status()
body = r.json()
assert body["success"] is True and body["message"] == "Request queued successfully", body
task_id = body["task_id"]
for _ in range(600):
    s = requests.get(base + "/api/v1/qcompletions/" + task_id, headers=headers).json()
    assert s["success"] is True, s
    assert s["status"] in ("queued", "processing", "completed", "failed"), s
    if s["status"] in ("completed", "failed"):
        break
    time.sleep(0.05)
print(s["status"], s.get("result"))
`

func TestQCompletionsPythonClient(t *testing.T) {
	if exec.Command("python3", "-c", "import requests").Run() != nil {
		t.Skip("python3 with requests is not installed")
	}
	base, key := qcSetup(t, nil)
	cmd := exec.Command("python3", "-c", qcPythonClient)
	cmd.Env = append(os.Environ(), "BASE_URL="+base, "API_KEY="+key)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python client: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "completed mock reply: How does quantum computing work?" {
		t.Errorf("python client printed %q", got)
	}
	// 32 user characters × 0.01 + 100 × 0.02 = 2.32 cents = 23,200 credits.
	if got := qcCredits(t, base, "acme"); got != 1_000_000-23_200 {
		t.Errorf("credits after one task = %d; want %d", got, 1_000_000-23_200)
	}
}

func TestQCompletionsLifecycle(t *testing.T) {
	env, fk := fakes(t)
	base, key := qcSetup(t, env)

	// num_context reaches the in-house model as its context size: "mistral"
	// has no catalog entry, so it runs on the ollama provider.
	var q qcAnswer
	if st := qcDo(t, "POST", base+"/api/v1/qcompletions", "Bearer "+key,
		`{"messages":[{"role":"user","content":"hello ollama"}],"model":"mistral","max_tokens":20,"num_context":4096}`, &q); st != http.StatusOK || q.TaskID == "" {
		t.Fatalf("queue: %d %+v", st, q)
	}
	a := qcWait(t, base, key, q.TaskID)
	if a.Status != "completed" || a.Result == nil || *a.Result != "echo: hello ollama" {
		t.Fatalf("task = %+v; want completed with the ollama fake's answer", a)
	}
	var opts struct {
		Options struct {
			NumCtx int `json:"num_ctx"`
		} `json:"options"`
	}
	_ = json.Unmarshal(fk["ollama"].Last(t).Body, &opts)
	if opts.Options.NumCtx != 4096 {
		t.Errorf("ollama got num_ctx %d; want 4096", opts.Options.NumCtx)
	}

	// A task that fails is refunded: "phi3" is priced but this server has
	// no ollama provider to run it, so the gateway refuses it.
	base2, key2 := qcSetup(t, nil)
	before := qcCredits(t, base2, "acme")
	if st := qcDo(t, "POST", base2+"/api/v1/qcompletions", key2, `{"messages":[{"role":"user","content":"x"}],"model":"phi3","max_tokens":10}`, &q); st != http.StatusOK {
		t.Fatalf("queue: %d %+v", st, q)
	}
	a = qcWait(t, base2, key2, q.TaskID)
	if a.Status != "failed" || a.Message == "" || a.Result != nil {
		t.Errorf("task = %+v; want failed with a message", a)
	}
	if got := qcCredits(t, base2, "acme"); got != before {
		t.Errorf("credits after a failed task = %d; want the %d before it (refunded)", got, before)
	}
}

func TestQCompletionsErrors(t *testing.T) {
	base, key := qcSetup(t, nil)
	do(t, "POST", base+"/admin/teams", testAdminKey, map[string]any{"id": "broke"}, nil)
	_, brokeKey, _ := newKey(t, base, "broke", nil)
	_, fencedKey, _ := newKey(t, base, "acme", map[string]any{"ip_allowlist": []string{"10.0.0.0/8"}})
	_, otherKey, _ := newKey(t, base, "other", nil)
	var q qcAnswer
	if st := qcDo(t, "POST", base+"/api/v1/qcompletions", key, `{"messages":[{"role":"user","content":"x"}],"model":"llama3.1","max_tokens":5}`, &q); st != http.StatusOK {
		t.Fatalf("queue: %d %+v", st, q)
	}
	good := `{"messages":[{"role":"user","content":"What is the meaning of life?"}],"model":"llama3.1","max_tokens":100,"temperature":0.7}`
	cases := []struct {
		name, method, path, auth, body string
		status                         int
		message                        string
	}{
		{"NoAuthorization", "POST", "/api/v1/qcompletions", "", good, 401, "Authorization header required"},
		{"BadKey", "POST", "/api/v1/qcompletions", "sk-nope", good, 401, "Invalid API key"},
		{"IPNotAllowed", "POST", "/api/v1/qcompletions", fencedKey, good, 401, "Unauthorized IP address"},
		{"NoCredits", "POST", "/api/v1/qcompletions", brokeKey, good, 402, "Insufficient credits"},
		{"Malformed", "POST", "/api/v1/qcompletions", key, `{"messages":`, 400, "Invalid request"},
		{"WrongType", "POST", "/api/v1/qcompletions", key, `{"messages":[{"role":"user","content":"x"}],"model":"llama3.1","max_tokens":"many"}`, 400, "Invalid request"},
		{"Missing", "POST", "/api/v1/qcompletions", key, `{"model":"llama3.1"}`, 400, "messages, model, max_tokens, and temperature are required"},
		{"UnpricedModel", "POST", "/api/v1/qcompletions", key, `{"messages":[{"role":"user","content":"x"}],"model":"gpt-4","max_tokens":5}`, 400, "Model pricing not found"},
		{"UnknownTask", "GET", "/api/v1/qcompletions/no-such-task", key, "", 404, "Task not found"},
		{"OtherTeamsTask", "GET", "/api/v1/qcompletions/" + q.TaskID, otherKey, "", 404, "Task not found"},
		{"StatusNeedsAuth", "GET", "/api/v1/qcompletions/" + q.TaskID, "", "", 401, "Authorization header required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out qcAnswer
			st := qcDo(t, tc.method, base+tc.path, tc.auth, tc.body, &out)
			if st != tc.status || out.Success == nil || *out.Success || out.Message != tc.message {
				t.Errorf("%d %+v; want %d with success false and %q", st, out, tc.status, tc.message)
			}
		})
	}
	if got := qcCredits(t, base, "broke"); got != 0 {
		t.Errorf("a refused request changed the balance to %d", got)
	}
}
