package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// The seed's client snippets, verbatim but for the base URL and key (which
// jobsScript swaps in). Backticks are written ˋ because Go raw strings
// cannot hold them.

const jobsSeedMultiStep = `import requests

API_URL = "http://localhost:8003/api"
VIRTUAL_KEY = "sk-your-virtual-key"

headers = {
    "Authorization": f"Bearer {VIRTUAL_KEY}",
    "Content-Type": "application/json"
}

# 1. Create job
job = requests.post(
    f"{API_URL}/jobs/create",
    headers=headers,
    json={
        "team_id": "acme-corp",
        "job_type": "document_analysis"
    }
).json()

job_id = job["job_id"]
print(f"Created job: {job_id}")

# 2. Make multiple LLM calls
steps = [
    ("Parse document", "Extract key information from this document..."),
    ("Classify content", "Classify the content type..."),
    ("Generate summary", "Generate a concise summary...")
]

for purpose, prompt in steps:
    response = requests.post(
        f"{API_URL}/jobs/{job_id}/llm-call",
        headers=headers,
        json={
            "model_group": "AnalysisAgent",
            "messages": [
                {"role": "user", "content": prompt}
            ],
            "purpose": purpose,
            "temperature": 0.3
        }
    ).json()

    print(f"{purpose}: {response['response']['content'][:50]}...")
    print(f"  Tokens: {response['metadata']['tokens_used']}")

# 3. Complete job
result = requests.post(
    f"{API_URL}/jobs/{job_id}/complete",
    headers=headers,
    json={"status": "completed"}
).json()

print(f"\nJob completed!")
print(f"Total calls: {result['costs']['total_calls']}")
print(f"Total tokens: {result['costs']['total_tokens']}")
print(f"Total cost: ${result['costs']['total_cost_usd']:.4f}")
print(f"Credit deducted: {result['costs']['credit_applied']}")
print(f"Credits remaining: {result['costs']['credits_remaining']}")
`

const jobsSeedPythonCall = `import requests

API_URL = "http://localhost:8003/api"
VIRTUAL_KEY = "sk-your-virtual-key"

headers = {
    "Authorization": f"Bearer {VIRTUAL_KEY}",
    "Content-Type": "application/json"
}

response = requests.post(
    f"{API_URL}/jobs/{job_id}/llm-call",
    headers=headers,
    json={
        "model_group": "ResumeAgent",
        "messages": [
            {
                "role": "system",
                "content": "You are a resume parsing assistant."
            },
            {
                "role": "user",
                "content": "Extract key skills from this resume: ..."
            }
        ],
        "purpose": "skill_extraction",
        "temperature": 0.3
    }
)

result = response.json()
print(result['response']['content'])
print(f"Tokens used: {result['metadata']['tokens_used']}")
print(f"Latency: {result['metadata']['latency_ms']}ms")
`

const jobsSeedJSCall = `const API_URL = "http://localhost:8003/api";
const VIRTUAL_KEY = "sk-your-virtual-key";

const response = await fetch(ˋ${API_URL}/jobs/${jobId}/llm-callˋ, {
  method: 'POST',
  headers: {
    'Authorization': ˋBearer ${VIRTUAL_KEY}ˋ,
    'Content-Type': 'application/json'
  },
  body: JSON.stringify({
    model_group: 'ResumeAgent',
    messages: [
      {
        role: 'system',
        content: 'You are a resume parsing assistant.'
      },
      {
        role: 'user',
        content: 'Extract key skills from this resume: ...'
      }
    ],
    purpose: 'skill_extraction',
    temperature: 0.3
  })
});

const result = await response.json();
console.log(result.response.content);
console.log(ˋTokens used: ${result.metadata.tokens_used}ˋ);
console.log(ˋLatency: ${result.metadata.latency_ms}msˋ);
`

const jobsSeedPythonStream = `import requests
import json

API_URL = "http://localhost:8003/api"
VIRTUAL_KEY = "sk-your-virtual-key"

headers = {
    "Authorization": f"Bearer {VIRTUAL_KEY}",
    "Content-Type": "application/json"
}

# Make streaming request
response = requests.post(
    f"{API_URL}/jobs/{job_id}/llm-call-stream",
    headers=headers,
    json={
        "model_group": "ChatAgent",
        "messages": [
            {"role": "user", "content": "Tell me a story"}
        ],
        "temperature": 0.8
    },
    stream=True  # Important: enable streaming
)

# Process Server-Sent Events
accumulated = ""
for line in response.iter_lines():
    if line:
        line = line.decode('utf-8')
        if line.startswith('data: '):
            data_str = line[6:]  # Remove 'data: ' prefix

            if data_str == '[DONE]':
                print("\n\nStream complete!")
                break

            try:
                chunk = json.loads(data_str)
                if chunk.get("choices"):
                    delta = chunk["choices"][0].get("delta", {})
                    content = delta.get("content", "")
                    if content:
                        accumulated += content
                        print(content, end="", flush=True)
            except json.JSONDecodeError:
                continue

print(f"\n\nFull response: {accumulated}")
`

const jobsSeedJSStream = `async function streamChat(jobId, messages) {
  const response = await fetch(ˋ${API_URL}/jobs/${jobId}/llm-call-streamˋ, {
    method: 'POST',
    headers: {
      'Authorization': ˋBearer ${VIRTUAL_KEY}ˋ,
      'Content-Type': 'application/json'
    },
    body: JSON.stringify({
      model_group: 'ChatAgent',
      messages: messages,
      temperature: 0.8
    })
  });

  const reader = response.body.getReader();
  const decoder = new TextDecoder();

  let accumulated = '';

  while (true) {
    const {done, value} = await reader.read();
    if (done) break;

    const text = decoder.decode(value);
    const lines = text.split('\n');

    for (const line of lines) {
      if (line.startsWith('data: ')) {
        const data = line.substring(6);

        if (data === '[DONE]') {
          console.log('\nStream complete');
          return accumulated;
        }

        try {
          const chunk = JSON.parse(data);
          const content = chunk.choices?.[0]?.delta?.content || '';
          if (content) {
            accumulated += content;
            process.stdout.write(content);  // Node.js
            // Or: document.getElementById('output').textContent += content;  // Browser
          }
        } catch (e) {
          // Ignore parse errors
        }
      }
    }
  }

  return accumulated;
}
`

// jobsScript points a seed snippet at srv and key, defines its free
// variables with prelude, and writes it to a file named name.
func jobsScript(t *testing.T, srv *testServer, key, name, prelude, snippet string) string {
	t.Helper()
	s := strings.ReplaceAll(snippet, "ˋ", "`")
	s = strings.ReplaceAll(s, "http://localhost:8003/api", srv.URL+"/api")
	s = strings.ReplaceAll(s, "sk-your-virtual-key", key)
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(prelude+s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// jobsRun runs a snippet with its interpreter and returns its output.
func jobsRun(t *testing.T, interpreter, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, interpreter, path).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", interpreter, filepath.Base(path), err, out)
	}
	return string(out)
}

func jobsNeedPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed; the seed's Python snippets cannot run")
	}
	if err := exec.Command("python3", "-c", "import requests").Run(); err != nil {
		t.Skip("python3 has no 'requests' module; the seed's Python snippets cannot run")
	}
}

func jobsNeedNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed; the seed's JavaScript snippets cannot run")
	}
}

// jobsSetup configures what the seed's examples assume: model groups
// AnalysisAgent (a priced catalog model), ChatAgent and ResumeAgent (mock
// models), GPT4Agent (which acme-corp may not use), and team acme-corp
// with credits and a key.
func jobsSetup(t *testing.T, srv *testServer, credits int) string {
	t.Helper()
	admin := func(path string, body any) {
		t.Helper()
		if st := do(t, "POST", srv.URL+path, testAdminKey, body, nil); st != http.StatusCreated && st != http.StatusOK {
			t.Fatalf("POST %s: status %d", path, st)
		}
	}
	admin("/admin/models", map[string]any{"name": "analysis-model", "provider": "mock", "upstream_model": "analysis",
		"input_per_mtok": 1000, "output_per_mtok": 2000})
	for name, models := range map[string][]string{
		"AnalysisAgent": {"analysis-model"}, "ChatAgent": {"mock/chat"}, "ResumeAgent": {"mock/resume"}, "GPT4Agent": {"mock/gpt4"},
	} {
		admin("/admin/model-groups", map[string]any{"name": name, "models": models})
	}
	admin("/admin/teams", map[string]any{"id": "acme-corp", "credits": credits,
		"model_groups": []string{"AnalysisAgent", "ChatAgent", "ResumeAgent", "Failing"}})
	_, key, _ := newKey(t, srv.URL, "acme-corp", nil)
	return key
}

func jobsCreate(t *testing.T, srv *testServer, key, team string) string {
	t.Helper()
	var j struct {
		JobID  string `json:"job_id"`
		Status string `json:"status"`
	}
	if st := do(t, "POST", srv.URL+"/api/jobs/create", key, map[string]any{"team_id": team, "job_type": "test"}, &j); st != 200 || j.Status != "pending" {
		t.Fatalf("create job: status %d, %+v", st, j)
	}
	return j.JobID
}

func jobsCall(t *testing.T, srv *testServer, key, jobID, group string) int {
	t.Helper()
	return do(t, "POST", srv.URL+"/api/jobs/"+jobID+"/llm-call", key, map[string]any{"model_group": group,
		"messages": []map[string]string{{"role": "user", "content": "hello"}}}, nil)
}

// jobsJob is what GET /api/jobs/{id} answers, as far as the tests read it.
type jobsJob struct {
	JobID  string `json:"job_id"`
	Status string `json:"status"`
	Costs  struct {
		TotalCalls       int     `json:"total_calls"`
		SuccessfulCalls  int     `json:"successful_calls"`
		FailedCalls      int     `json:"failed_calls"`
		TotalTokens      int     `json:"total_tokens"`
		TotalCostUSD     float64 `json:"total_cost_usd"`
		CreditApplied    bool    `json:"credit_applied"`
		CreditsRemaining *int    `json:"credits_remaining"`
	} `json:"costs"`
	Calls []struct {
		Purpose string  `json:"purpose"`
		Tokens  int     `json:"tokens"`
		CostUSD float64 `json:"cost_usd"`
	} `json:"calls"`
	ModelGroupsUsed []string `json:"model_groups_used"`
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestJobsSeedMultiStepExample(t *testing.T) {
	jobsNeedPython(t)
	srv := startServer(t, nil)
	key := jobsSetup(t, srv, 10)

	out := jobsRun(t, "python3", jobsScript(t, srv, key, "multi_step.py", "", jobsSeedMultiStep))
	m := regexp.MustCompile(`Created job: (\S+)`).FindStringSubmatch(out)
	if m == nil || !uuidPattern.MatchString(m[1]) {
		t.Fatalf("output does not show a created job with a UUID:\n%s", out)
	}
	jobID := m[1]
	for _, want := range []string{
		"Parse document: mock reply: Extract key information from this docu...",
		"Classify content: mock reply: Classify the content type......",
		"Generate summary: mock reply: Generate a concise summary......",
		"Job completed!", "Total calls: 3", "Credit deducted: True", "Credits remaining: 9",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// The job's totals are the sums of its calls, and the script printed them.
	var j jobsJob
	if st := do(t, "GET", srv.URL+"/api/jobs/"+jobID, key, nil, &j); st != 200 {
		t.Fatalf("GET job: %d", st)
	}
	var tokens int
	var cost llmservice.Nanos
	for _, c := range j.Calls {
		tokens += c.Tokens
		cost += llmservice.NanosFromDollars(c.CostUSD)
	}
	if j.Status != "completed" || j.Costs.TotalCalls != 3 || j.Costs.TotalTokens != tokens || llmservice.NanosFromDollars(j.Costs.TotalCostUSD) != cost || cost == 0 {
		t.Errorf("job = %+v; want completed with totals %d tokens, %d nano-dollars", j, tokens, cost)
	}
	for _, want := range []string{fmt.Sprintf("Total tokens: %d", tokens), fmt.Sprintf("Total cost: $%.4f", cost.Dollars())} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if len(j.ModelGroupsUsed) != 1 || j.ModelGroupsUsed[0] != "AnalysisAgent" {
		t.Errorf("model_groups_used = %v", j.ModelGroupsUsed)
	}

	// The purposes landed in the usage ledger, with the same cost.
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	db := openTestStore(t, srv.db)
	recs, _, err := db.FindUsageRecords(context.Background(), llmservice.RecordFilter{TeamID: "acme-corp"})
	if err != nil {
		t.Fatal(err)
	}
	purposes := map[string]bool{}
	var ledger llmservice.Nanos
	for _, r := range recs {
		purposes[r.Purpose] = true
		ledger += r.Cost
	}
	for _, p := range []string{"Parse document", "Classify content", "Generate summary"} {
		if !purposes[p] {
			t.Errorf("usage ledger has no record with purpose %q (has %v)", p, purposes)
		}
	}
	if ledger != cost {
		t.Errorf("usage ledger cost = %d; the job says %d", ledger, cost)
	}
}

func TestJobsSeedCallSnippets(t *testing.T) {
	srv := startServer(t, nil)
	key := jobsSetup(t, srv, 10)
	t.Run("python", func(t *testing.T) {
		jobsNeedPython(t)
		job := jobsCreate(t, srv, key, "acme-corp")
		out := jobsRun(t, "python3", jobsScript(t, srv, key, "call.py", fmt.Sprintf("job_id = %q\n", job), jobsSeedPythonCall))
		if !regexp.MustCompile(`(?m)^mock reply: Extract key skills from this resume: \.\.\.\nTokens used: [1-9]\d*\nLatency: \d+ms$`).MatchString(out) {
			t.Errorf("output:\n%s", out)
		}
	})
	t.Run("javascript", func(t *testing.T) {
		jobsNeedNode(t)
		job := jobsCreate(t, srv, key, "acme-corp")
		out := jobsRun(t, "node", jobsScript(t, srv, key, "call.mjs", fmt.Sprintf("const jobId = %q;\n", job), jobsSeedJSCall))
		if !regexp.MustCompile(`(?m)^mock reply: Extract key skills from this resume: \.\.\.\nTokens used: [1-9]\d*\nLatency: \d+ms$`).MatchString(out) {
			t.Errorf("output:\n%s", out)
		}
	})
}

func TestJobsSeedStreamingSnippets(t *testing.T) {
	srv := startServer(t, nil)
	key := jobsSetup(t, srv, 10)
	job := jobsCreate(t, srv, key, "acme-corp")
	t.Run("python", func(t *testing.T) {
		jobsNeedPython(t)
		out := jobsRun(t, "python3", jobsScript(t, srv, key, "stream.py", fmt.Sprintf("job_id = %q\n", job), jobsSeedPythonStream))
		for _, want := range []string{"Stream complete!", "Full response: mock reply: Tell me a story"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("javascript", func(t *testing.T) {
		jobsNeedNode(t)
		prelude := fmt.Sprintf("const API_URL = %q;\nconst VIRTUAL_KEY = %q;\n", srv.URL+"/api", key)
		call := fmt.Sprintf("\nconst result = await streamChat(%q, [{role: 'user', content: 'Tell me a story'}]);\nconsole.log('RESULT=' + result);\n", job)
		out := jobsRun(t, "node", jobsScript(t, srv, key, "stream.mjs", prelude, jobsSeedJSStream+call))
		for _, want := range []string{"Stream complete", "RESULT=mock reply: Tell me a story"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	var j jobsJob
	do(t, "GET", srv.URL+"/api/jobs/"+job, key, nil, &j)
	if j.Status != "in_progress" || j.Costs.FailedCalls != 0 || j.Costs.TotalTokens == 0 {
		t.Errorf("job after the streams = %+v", j)
	}
}

// TestJobsCredits: a team with one credit completes one job; the second
// completion is refused with 402 and leaves the job open, and a failed job
// costs nothing.
func TestJobsCredits(t *testing.T) {
	srv := startServer(t, nil)
	key := jobsSetup(t, srv, 1)
	a, b := jobsCreate(t, srv, key, "acme-corp"), jobsCreate(t, srv, key, "acme-corp")
	for _, j := range []string{a, b} {
		if st := jobsCall(t, srv, key, j, "ChatAgent"); st != 200 {
			t.Fatalf("llm-call: %d", st)
		}
	}
	var done jobsJob
	if st := do(t, "POST", srv.URL+"/api/jobs/"+a+"/complete", key, map[string]any{"status": "completed"}, &done); st != 200 {
		t.Fatalf("complete a: %d", st)
	}
	if !done.Costs.CreditApplied || done.Costs.CreditsRemaining == nil || *done.Costs.CreditsRemaining != 0 {
		t.Errorf("complete a = %+v; want one credit applied, none left", done.Costs)
	}
	var e struct{ Detail string }
	if st := do(t, "POST", srv.URL+"/api/jobs/"+b+"/complete", key, map[string]any{"status": "completed"}, &e); st != 402 || e.Detail != "Insufficient credits" {
		t.Errorf("complete b = %d %+v; want 402 Insufficient credits", st, e)
	}
	var open jobsJob
	do(t, "GET", srv.URL+"/api/jobs/"+b, key, nil, &open)
	if open.Status != "in_progress" {
		t.Errorf("job b after a refused charge: status %q; want in_progress", open.Status)
	}
	var failed jobsJob
	if st := do(t, "POST", srv.URL+"/api/jobs/"+b+"/complete", key, map[string]any{"status": "failed", "error_message": "out of credits"}, &failed); st != 200 {
		t.Fatalf("fail b: %d", st)
	}
	if failed.Status != "failed" || failed.Costs.CreditApplied || *failed.Costs.CreditsRemaining != 0 {
		t.Errorf("fail b = %+v; want failed with no credit", failed)
	}
	var moves struct {
		Data []llmservice.CreditMovement `json:"data"`
	}
	do(t, "GET", srv.URL+"/admin/teams/acme-corp/credits", testAdminKey, nil, &moves)
	if len(moves.Data) == 0 || moves.Data[0].Amount != -1 || moves.Data[0].Reason != "job" || moves.Data[0].Ref != a {
		t.Errorf("credit ledger = %+v; want the charge of job %s on top", moves.Data, a)
	}
}

// TestJobsErrorStatuses runs every documented error through the real
// server and checks status and FastAPI body.
func TestJobsErrorStatuses(t *testing.T) {
	env, fk := fakes(t)
	srv := startServer(t, env)
	key := jobsSetup(t, srv, 10)
	do(t, "POST", srv.URL+"/admin/model-groups", testAdminKey, map[string]any{"name": "Failing", "models": []string{"gpt-4o-mini"}}, nil)
	do(t, "POST", srv.URL+"/admin/teams", testAdminKey, map[string]any{"id": "slow-corp", "credits": 5, "rpm": 1}, nil)
	_, slowKey, _ := newKey(t, srv.URL, "slow-corp", nil)
	_, otherKey, _ := newKey(t, srv.URL, "other-corp", nil)

	job := jobsCreate(t, srv, key, "acme-corp")
	otherJob := jobsCreate(t, srv, otherKey, "other-corp")
	closed := jobsCreate(t, srv, key, "acme-corp")
	if st := do(t, "POST", srv.URL+"/api/jobs/"+closed+"/complete", key, map[string]any{"status": "completed"}, nil); st != 200 {
		t.Fatalf("complete: %d", st)
	}
	slowJob := jobsCreate(t, srv, slowKey, "slow-corp")
	if st := jobsCall(t, srv, slowKey, slowJob, "ChatAgent"); st != 200 {
		t.Fatalf("first call of slow-corp: %d", st)
	}
	for i := 0; i < 20; i++ {
		fk["openai"].FailNext(providertest.Failure{Status: 500, Body: `{"error":{"message":"upstream exploded","type":"server_error"}}`})
	}

	msgs := []map[string]string{{"role": "user", "content": "hi"}}
	call := func(group string) map[string]any { return map[string]any{"model_group": group, "messages": msgs} }
	tests := []struct {
		name, method, path, key string
		body                    any
		status                  int
		detail                  string // exact JSON of "detail"
	}{
		{"no key", "POST", "/api/jobs/" + job + "/llm-call", "", call("ChatAgent"), 401, `"Missing virtual key: send it in the Authorization header as 'Bearer sk-...'"`},
		{"bad key", "POST", "/api/jobs/" + job + "/llm-call", "sk-nope", call("ChatAgent"), 401, `"Incorrect API key provided"`},
		{"bad key on create", "POST", "/api/jobs/create", "sk-nope", map[string]any{"team_id": "acme-corp", "job_type": "x"}, 401, `"Incorrect API key provided"`},
		{"create for another team", "POST", "/api/jobs/create", key, map[string]any{"team_id": "other-corp", "job_type": "x"}, 403, `"API key does not belong to team 'other-corp'"`},
		{"another team's job", "POST", "/api/jobs/" + otherJob + "/llm-call", key, call("ChatAgent"), 403, `"Job does not belong to your team"`},
		{"another team's job stream", "POST", "/api/jobs/" + otherJob + "/llm-call-stream", key, call("ChatAgent"), 403, `"Job does not belong to your team"`},
		{"another team's job get", "GET", "/api/jobs/" + otherJob, key, nil, 403, `"Job does not belong to your team"`},
		{"another team's job complete", "POST", "/api/jobs/" + otherJob + "/complete", key, map[string]any{"status": "completed"}, 403, `"Job does not belong to your team"`},
		{"group not allowed", "POST", "/api/jobs/" + job + "/llm-call", key, call("GPT4Agent"), 403, `"Team 'acme-corp' does not have access to model group 'GPT4Agent'"`},
		{"group not allowed stream", "POST", "/api/jobs/" + job + "/llm-call-stream", key, call("GPT4Agent"), 403, `"Team 'acme-corp' does not have access to model group 'GPT4Agent'"`},
		{"unknown job", "POST", "/api/jobs/00000000-0000-4000-8000-000000000000/llm-call", key, call("ChatAgent"), 404, `"Job not found"`},
		{"unknown job get", "GET", "/api/jobs/nope", key, nil, 404, `"Job not found"`},
		{"unknown job complete", "POST", "/api/jobs/nope/complete", key, map[string]any{"status": "completed"}, 404, `"Job not found"`},
		{"missing model_group", "POST", "/api/jobs/" + job + "/llm-call", key, map[string]any{"messages": msgs}, 422,
			`[{"loc":["body","model_group"],"msg":"field required","type":"value_error.missing"}]`},
		{"missing messages stream", "POST", "/api/jobs/" + job + "/llm-call-stream", key, map[string]any{"model_group": "ChatAgent"}, 422,
			`[{"loc":["body","messages"],"msg":"field required","type":"value_error.missing"}]`},
		{"unknown model group", "POST", "/api/jobs/" + job + "/llm-call", key, call("NoSuchAgent"), 422,
			`[{"loc":["body","model_group"],"msg":"model group 'NoSuchAgent' does not exist","type":"value_error.model_group.not_found","ctx":{"model_group":"NoSuchAgent"}}]`},
		{"bad status", "POST", "/api/jobs/" + job + "/complete", key, map[string]any{"status": "done"}, 422,
			`[{"loc":["body","status"],"msg":"value is not a valid enumeration member; permitted: 'completed', 'failed'","type":"type_error.enum","ctx":{"enum_values":["completed","failed"]}}]`},
		{"call on a completed job", "POST", "/api/jobs/" + closed + "/llm-call", key, call("ChatAgent"), 409,
			`"Job ` + closed + ` is already completed; create a new job to make more calls"`},
		{"complete twice", "POST", "/api/jobs/" + closed + "/complete", key, map[string]any{"status": "completed"}, 409, `"Job is already completed"`},
		{"rate limited", "POST", "/api/jobs/" + slowJob + "/llm-call", slowKey, call("ChatAgent"), 429, ``},
		{"llm call failed", "POST", "/api/jobs/" + job + "/llm-call", key, call("Failing"), 500, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body struct{ Detail json.RawMessage }
			var h http.Header
			st := doH(t, tt.method, srv.URL+tt.path, tt.key, tt.body, &body, &h)
			if st != tt.status {
				t.Fatalf("status = %d (%s); want %d", st, body.Detail, tt.status)
			}
			if len(body.Detail) == 0 {
				t.Fatalf("no detail in the body")
			}
			if tt.detail != "" && string(body.Detail) != tt.detail {
				t.Errorf("detail = %s; want %s", body.Detail, tt.detail)
			}
			switch st {
			case 401:
				if h.Get("WWW-Authenticate") != "Bearer" {
					t.Errorf("WWW-Authenticate = %q", h.Get("WWW-Authenticate"))
				}
			case 429:
				if h.Get("Retry-After") == "" {
					t.Errorf("429 without Retry-After")
				}
			case 500:
				if !bytes.HasPrefix(body.Detail, []byte(`"LLM call failed: `)) {
					t.Errorf("detail = %s; want LLM call failed", body.Detail)
				}
			}
		})
	}
	t.Run("malformed JSON", func(t *testing.T) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/jobs/"+job+"/llm-call", strings.NewReader(`{"model_group": "ChatAgent",`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 422 || !bytes.Contains(b, []byte(`"type":"value_error.jsondecode"`)) {
			t.Errorf("status %d, body %s; want 422 value_error.jsondecode", resp.StatusCode, b)
		}
	})

	// The seed's default temperature reaches upstream.
	if got := fk["openai"].Last(t).JSON(t)["temperature"]; got != 0.7 {
		t.Errorf("upstream temperature = %v; want the default 0.7", got)
	}

	// The failed call is part of the job; the refusals are not.
	var j jobsJob
	do(t, "GET", srv.URL+"/api/jobs/"+job, key, nil, &j)
	if j.Costs.TotalCalls != 1 || j.Costs.FailedCalls != 1 {
		t.Errorf("costs = %+v; want the one failed call only", j.Costs)
	}
}

// TestJobsTeamRPMDefault checks the documented way to get the seed's
// default limits: LLMSERVICE_TEAM_RPM applies to teams that set none.
func TestJobsTeamRPMDefault(t *testing.T) {
	srv := startServer(t, map[string]string{"LLMSERVICE_TEAM_RPM": "2", "LLMSERVICE_TEAM_TPM": "60000"})
	key := jobsSetup(t, srv, 10)
	job := jobsCreate(t, srv, key, "acme-corp")
	var got []int
	for i := 0; i < 3; i++ {
		got = append(got, jobsCall(t, srv, key, job, "ChatAgent"))
	}
	if got[0] != 200 || got[1] != 200 || got[2] != 429 {
		t.Errorf("statuses = %v; want 200, 200, 429 under a default of 2 RPM", got)
	}
}
