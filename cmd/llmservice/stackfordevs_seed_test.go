package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// sfdSeedSnippets are the StackForDevs documentation's curl commands, as
// published (batch ones aside: the queue's tests run those), in the order a
// new user runs them.
var sfdSeedSnippets = []struct{ name, cmd string }{
	{"ConfigureProvider", `curl -X POST https://llm.stackfordevs.com/v1/providers \
  -H "Content-Type: application/json" \
  -H "x-api-key: YOUR_API_KEY" \
  -H "x-secret-key: YOUR_SECRET_KEY" \
  -H "x-tenant-id: YOUR_TENANT_ID" \
  -H "x-project-id: YOUR_PROJECT_ID" \
  -d '{
    "providerType": "openai",
    "apiKey": "sk-your-openai-api-key"
  }'`},
	{"TestProvider", `curl -X POST https://llm.stackfordevs.com/v1/providers/test \
  -H "Content-Type: application/json" \
  -H "x-api-key: YOUR_API_KEY" \
  -H "x-secret-key: YOUR_SECRET_KEY" \
  -H "x-tenant-id: YOUR_TENANT_ID" \
  -H "x-project-id: YOUR_PROJECT_ID" \
  -d '{
    "providerType": "openai"
  }'`},
	{"CreateCompletion", `curl -X POST https://llm.stackfordevs.com/v1/completions \
  -H "Content-Type: application/json" \
  -H "x-api-key: YOUR_API_KEY" \
  -H "x-secret-key: YOUR_SECRET_KEY" \
  -H "x-tenant-id: YOUR_TENANT_ID" \
  -H "x-project-id: YOUR_PROJECT_ID" \
  -d '{
    "model": "gpt-4",
    "messages": [
      {
        "role": "system",
        "content": "You are a helpful assistant."
      },
      {
        "role": "user",
        "content": "Explain quantum computing in simple terms."
      }
    ],
    "max_tokens": 500,
    "temperature": 0.7
  }'`},
	{"ViewLogs", `curl -X GET https://llm.stackfordevs.com/v1/logs/YOUR_TENANT_ID/YOUR_PROJECT_ID \
  -H "x-api-key: YOUR_API_KEY" \
  -H "x-secret-key: YOUR_SECRET_KEY" \
  -H "x-tenant-id: YOUR_TENANT_ID" \
  -H "x-project-id: YOUR_PROJECT_ID"`},
	{"UsageStatistics", `curl -X GET https://llm.stackfordevs.com/v1/stats/YOUR_TENANT_ID/YOUR_PROJECT_ID \
  -H "x-api-key: YOUR_API_KEY" \
  -H "x-secret-key: YOUR_SECRET_KEY" \
  -H "x-tenant-id: YOUR_TENANT_ID" \
  -H "x-project-id: YOUR_PROJECT_ID"`},
}

// TestStackForDevsSeedSnippets runs the documentation's curl commands with
// only the base URL and the credentials swapped.
func TestStackForDevsSeedSnippets(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed: the seed's snippets are curl commands")
	}
	env, fk := fakes(t)
	srv := startServer(t, env)
	tn := sfdNewTenant(t, srv.URL, "seed-tenant")
	do(t, "PATCH", srv.URL+"/admin/teams/seed-tenant", testAdminKey, map[string]any{"log_bodies": "full"}, nil)
	swap := strings.NewReplacer("https://llm.stackfordevs.com", srv.URL, "YOUR_API_KEY", tn.Key, "YOUR_SECRET_KEY", tn.Secret,
		"YOUR_TENANT_ID", tn.ID, "YOUR_PROJECT_ID", "seed-project")
	answers := map[string]map[string]any{}
	for _, sn := range sfdSeedSnippets {
		cmd := swap.Replace(sn.cmd) + ` -sS -w '\n%{http_code}'`
		out, err := exec.Command("bash", "-c", cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", sn.name, err, out)
		}
		o := strings.TrimSpace(string(out))
		i := strings.LastIndexByte(o, '\n')
		if i < 0 {
			t.Fatalf("%s: no status in %q", sn.name, o)
		}
		body, status := o[:i], o[i+1:]
		if !strings.HasPrefix(status, "2") {
			t.Fatalf("%s: status %s: %s", sn.name, status, body)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("%s: answer is not JSON: %v\n%s", sn.name, err, body)
		}
		answers[sn.name] = m
	}
	if answers["TestProvider"]["success"] != true {
		t.Errorf("provider test: %v", answers["TestProvider"])
	}
	if k := fk["openai"].Last(t).Header.Get("Authorization"); k != "Bearer sk-your-openai-api-key" {
		t.Errorf("the completion went upstream with %q; want the tenant's configured key", k)
	}
	choices, _ := answers["CreateCompletion"]["choices"].([]any)
	if len(choices) != 1 {
		t.Fatalf("completion: %v", answers["CreateCompletion"])
	}
	msg := choices[0].(map[string]any)["message"].(map[string]any)
	if msg["content"] != "echo: Explain quantum computing in simple terms." {
		t.Errorf("completion content = %v", msg["content"])
	}
	logs, _ := answers["ViewLogs"]["logs"].([]any)
	if len(logs) != 1 || logs[0].(map[string]any)["response"] != "echo: Explain quantum computing in simple terms." {
		t.Errorf("logs = %v", answers["ViewLogs"])
	}
	if answers["UsageStatistics"]["requests"] != 1.0 || answers["UsageStatistics"]["success_rate"] != 1.0 {
		t.Errorf("stats = %v", answers["UsageStatistics"])
	}
}
