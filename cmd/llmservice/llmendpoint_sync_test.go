package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// lesSeedRequest is the seed's example request; on llama3.1 it costs
// (28 characters * 0.01 + 100 tokens * 0.02) / 0.0001 = 22800 credits.
const lesSeedRequest = `{
    "messages": [{"role": "user", "content": "What is the meaning of life?"}],
    "model": "llama3.1",
    "max_tokens": 100,
    "temperature": 0.7,
    "stream": false
}`

const lesSeedCredits = 22800

// lesTeam creates a team with credits and a key; it returns the key.
func lesTeam(t *testing.T, base, team string, credits int64, keyExtra map[string]any) string {
	t.Helper()
	if st := do(t, "POST", base+"/admin/teams", testAdminKey, map[string]any{"id": team, "credits": credits}, nil); st != 201 {
		t.Fatalf("create team %s: %d", team, st)
	}
	_, key, _ := newKey(t, base, team, keyExtra)
	return key
}

func lesCredits(t *testing.T, base, team string) int64 {
	t.Helper()
	var out struct{ Credits int64 }
	if st := do(t, "GET", base+"/admin/teams/"+team, testAdminKey, nil, &out); st != 200 {
		t.Fatalf("get team %s: %d", team, st)
	}
	return out.Credits
}

// lesAnswer is the seed's answer shape, success or error.
type lesAnswer struct {
	Success  *bool
	Response string
	Message  string
}

func lesPost(t *testing.T, base, auth, body string) (int, lesAnswer, []byte) {
	t.Helper()
	h := map[string]string{}
	if auth != "" {
		h["Authorization"] = auth
	}
	st, b := sfdDo(t, "POST", base+"/api/v1/completions", h, body)
	var a lesAnswer
	_ = json.Unmarshal(b, &a)
	return st, a, b
}

func TestLlmEndpointCompletions(t *testing.T) {
	env, fk := fakes(t)
	srv := startServer(t, env)
	key := lesTeam(t, srv.URL, "le-acme", 100000, nil)

	for _, auth := range []string{key, "Bearer " + key} {
		st, a, b := lesPost(t, srv.URL, auth, lesSeedRequest)
		if st != 200 || a.Success == nil || !*a.Success || a.Response != "echo: What is the meaning of life?" {
			t.Fatalf("Authorization %.12q...: %d %s", auth, st, b)
		}
	}
	if got := lesCredits(t, srv.URL, "le-acme"); got != 100000-2*lesSeedCredits {
		t.Errorf("credits %d; want %d after two calls", got, 100000-2*lesSeedCredits)
	}
	up := fk["ollama"].Last(t).JSON(t)
	opts, _ := up["options"].(map[string]any)
	if up["model"] != "llama3.1" || opts["num_ctx"] != 2048.0 || opts["temperature"] != 0.7 || opts["num_predict"] != 100.0 {
		t.Errorf("the in-house model got model %v, options %v; want llama3.1, num_ctx 2048, temperature 0.7, num_predict 100", up["model"], opts)
	}

	st, _, b := lesPost(t, srv.URL, key, `{"messages":[{"role":"user","content":"hi"}],"model":"mistral","max_tokens":10,"num_context":8192}`)
	if opts, _ := fk["ollama"].Last(t).JSON(t)["options"].(map[string]any); st != 200 || opts["num_ctx"] != 8192.0 || opts["temperature"] != 0.7 {
		t.Errorf("num_context 8192: %d %s; upstream options %v", st, b, opts)
	}

	// Streamed: one {"role","content"} line per chunk.
	st, b = sfdDo(t, "POST", srv.URL+"/api/v1/completions", map[string]string{"Authorization": key},
		strings.Replace(lesSeedRequest, `"stream": false`, `"stream": true`, 1))
	var text strings.Builder
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, l := range lines {
		var c struct{ Role, Content string }
		if err := json.Unmarshal([]byte(l), &c); err != nil || c.Role != "assistant" {
			t.Fatalf("stream line %q: %v", l, err)
		}
		text.WriteString(c.Content)
	}
	if st != 200 || len(lines) < 2 || text.String() != "echo: What is the meaning of life?" {
		t.Errorf("stream: %d, %d lines, text %q", st, len(lines), text.String())
	}
	if body := fk["ollama"].Last(t).JSON(t); body["stream"] != true {
		t.Errorf("upstream stream = %v; want true", body["stream"])
	}

	// The usage ledger has the calls, on the in-house provider.
	var usage struct {
		Data []struct {
			Group    string
			Requests int
		}
	}
	do(t, "GET", srv.URL+"/admin/usage?team_id=le-acme&group_by=model", testAdminKey, nil, &usage)
	if len(usage.Data) != 2 || usage.Data[0].Group != "ollama/llama3.1" || usage.Data[0].Requests != 3 {
		t.Errorf("usage by model = %+v; want 3 calls of ollama/llama3.1 and one of mistral", usage.Data)
	}
}

// lesClosedURL is an address nothing listens on.
func lesClosedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestLlmEndpointErrors drives every row of the seed's error table.
func TestLlmEndpointErrors(t *testing.T) {
	env, fk := fakes(t)
	srv := startServer(t, env)
	key := lesTeam(t, srv.URL, "le-errors", lesSeedCredits, nil)
	poor := lesTeam(t, srv.URL, "le-poor", lesSeedCredits-1, nil)
	walled := lesTeam(t, srv.URL, "le-walled", 1<<40, map[string]any{"ip_allowlist": []string{"10.0.0.0/8"}})
	revoked := ""
	{
		var out struct{ ID, Key string }
		do(t, "POST", srv.URL+"/admin/keys", testAdminKey, map[string]any{"team_id": "le-errors"}, &out)
		do(t, "DELETE", srv.URL+"/admin/keys/"+out.ID, testAdminKey, nil, nil)
		revoked = out.Key
	}
	required := "messages, model, max_tokens, and temperature are required"
	for _, tc := range []struct {
		name, auth, body string
		status           int
		message          string
	}{
		{"InvalidRequest", key, `{"messages": [`, 400, "Invalid request"},
		{"InvalidRequestType", key, `{"messages":"hi","model":"llama3.1","max_tokens":1}`, 400, "Invalid request"},
		{"NoAuthorization", "", lesSeedRequest, 401, "Authorization header required"},
		{"InvalidKey", "sk-not-a-key", lesSeedRequest, 401, "Invalid API key"},
		{"RevokedKey", revoked, lesSeedRequest, 401, "Invalid API key"},
		{"UnauthorizedIP", walled, lesSeedRequest, 401, "Unauthorized IP address"},
		{"InsufficientCredits", poor, lesSeedRequest, 402, "Insufficient credits"},
		{"RequiredFields", key, `{"model":"llama3.1"}`, 400, required},
		{"MaxTokensRequired", key, `{"messages":[{"role":"user","content":"x"}],"model":"llama3.1","temperature":0.7}`, 400, required},
		{"ModelPricingNotFound", key, `{"messages":[{"role":"user","content":"x"}],"model":"gpt-4","max_tokens":10}`, 400, "Model pricing not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, a, b := lesPost(t, srv.URL, tc.auth, tc.body)
			if st != tc.status || a.Success == nil || *a.Success || a.Message != tc.message {
				t.Errorf("%d %s; want %d {success:false, message:%q}", st, b, tc.status, tc.message)
			}
		})
	}
	if got := lesCredits(t, srv.URL, "le-poor"); got != lesSeedCredits-1 {
		t.Errorf("a refused call moved credits: %d", got)
	}

	// A failing in-house model: refunded, in the seed's words.
	fk["ollama"].FailNext(providertest.Failure{Status: 500, Body: `{"error":"model crashed"}`}, providertest.Failure{Status: 500, Body: `{"error":"model crashed"}`},
		providertest.Failure{Status: 500, Body: `{"error":"model crashed"}`}, providertest.Failure{Status: 500, Body: `{"error":"model crashed"}`})
	st, a, b := lesPost(t, srv.URL, key, lesSeedRequest)
	if st != 400 || a.Message != "Max attempts reached - no available hosts" {
		t.Errorf("failing host: %d %s", st, b)
	}
	if got := lesCredits(t, srv.URL, "le-errors"); got != lesSeedCredits {
		t.Errorf("credits after a failed call: %d; want %d (refunded)", got, lesSeedCredits)
	}
}

func TestLlmEndpointNoAvailableHosts(t *testing.T) {
	srv := startServer(t, map[string]string{"OLLAMA_BASE_URL": lesClosedURL(t) + "," + lesClosedURL(t)})
	key := lesTeam(t, srv.URL, "le-nohosts", 1<<40, nil)
	st, a, b := lesPost(t, srv.URL, key, lesSeedRequest)
	if st != 400 || a.Success == nil || *a.Success || a.Message != "Max attempts reached - no available hosts" {
		t.Errorf("%d %s; want 400 Max attempts reached - no available hosts", st, b)
	}
	if got := lesCredits(t, srv.URL, "le-nohosts"); got != 1<<40 {
		t.Errorf("credits %d; want the charge refunded", got)
	}
}

// TestLlmEndpointClients runs a Python (requests) and a Node (fetch) client
// written from the seed's documentation against the server.
func TestLlmEndpointClients(t *testing.T) {
	env, _ := fakes(t)
	srv := startServer(t, env)
	key := lesTeam(t, srv.URL, "le-clients", 1<<40, nil)
	want := "response: echo: What is the meaning of life?\nstreamed: echo: What is the meaning of life?\nerror: 401 False Authorization header required\n"
	for _, c := range []struct{ name, bin, script, probe string }{
		{"python", "python3", "testdata/llmendpoint_client.py", "import requests"},
		{"node", "node", "testdata/llmendpoint_client.mjs", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := exec.LookPath(c.bin); err != nil {
				t.Skipf("%s is not installed", c.bin)
			}
			if c.probe != "" {
				if err := exec.Command(c.bin, "-c", c.probe).Run(); err != nil {
					t.Skipf("%s: %q fails: %v", c.bin, c.probe, err)
				}
			}
			out, err := exec.Command(c.bin, c.script, srv.URL, key).CombinedOutput()
			if err != nil || string(out) != want {
				t.Errorf("%s client: %v\n%s\nwant:\n%s", c.name, err, out, want)
			}
		})
	}
}

// TestLlmEndpointParallelCredits: credits are charged before the call, so
// parallel calls cannot spend more than the balance.
func TestLlmEndpointParallelCredits(t *testing.T) {
	env, _ := fakes(t)
	srv := startServer(t, env)
	const paid = 5
	key := lesTeam(t, srv.URL, "le-parallel", paid*lesSeedCredits, nil)
	statuses := make(chan int, 4*paid)
	var wg sync.WaitGroup
	for range 4 * paid {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Not lesPost: t.Fatal must not run on this goroutine.
			req, _ := http.NewRequest("POST", srv.URL+"/api/v1/completions", strings.NewReader(lesSeedRequest))
			req.Header.Set("Authorization", key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	if count[200] != paid || count[402] != 3*paid {
		t.Errorf("statuses %v; want %d answers and %d refusals", count, paid, 3*paid)
	}
	if got := lesCredits(t, srv.URL, "le-parallel"); got != 0 {
		t.Errorf("credits %d; want 0", got)
	}
}
