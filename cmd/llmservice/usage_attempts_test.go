package main

import (
	"net/http"
	"testing"

	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// Every attempt is visible: usage grouped by provider or deployment shows
// the failed primary beside the fallback that answered, and
// /admin/deployments lists every configured deployment before any call.
func TestUsageShowsEveryAttempt(t *testing.T) {
	env, fk := fakes(t)
	srv := startServer(t, env)

	var deps struct {
		Data []struct {
			ID, Instance, Status string
		}
	}
	if st := do(t, "GET", srv.URL+"/admin/deployments", testAdminKey, nil, &deps); st != http.StatusOK {
		t.Fatalf("GET /admin/deployments: %d", st)
	}
	seen := map[string]string{}
	for _, d := range deps.Data {
		seen[d.Instance] = d.Status
	}
	for _, in := range []string{"openai", "anthropic", "gemini", "ollama", "mock"} {
		if seen[in] != "healthy" {
			t.Errorf("deployments before any call: %+v; want %s listed, healthy", deps.Data, in)
		}
	}

	_, key, _ := newKey(t, srv.URL, "acme", nil)
	if st := do(t, "POST", srv.URL+"/admin/model-groups", testAdminKey, map[string]any{"name": "Agent", "models": []string{"gpt-4o-mini", "claude-3-5-haiku-latest"}}, nil); st != 201 {
		t.Fatalf("create group: %d", st)
	}
	// Two failures: the primary and its one retry.
	fk["openai"].FailNext(providertest.Failure{Status: 500}, providertest.Failure{Status: 500})
	if st, _ := chatRaw(t, srv.URL, key, "Agent", nil); st != http.StatusOK {
		t.Fatalf("call through the group: %d", st)
	}
	if st, _ := chatRaw(t, srv.URL, key, "gpt-4o-mini", nil); st != http.StatusOK {
		t.Fatalf("direct call: %d", st)
	}
	type total struct {
		Group    string
		Requests int
		Errors   int
		Tokens   int `json:"total_tokens"`
	}
	for _, by := range []string{"provider", "deployment"} {
		var u struct{ Data []total }
		if st := do(t, "GET", srv.URL+"/admin/usage?team_id=acme&group_by="+by, testAdminKey, nil, &u); st != http.StatusOK {
			t.Fatalf("group_by=%s: %d", by, st)
		}
		got := map[string]total{}
		for _, d := range u.Data {
			got[d.Group] = d
		}
		oa, an := got["openai"], got["anthropic"]
		// openai: the failed attempts of the first call, then the second call.
		if oa.Errors < 1 || oa.Requests != oa.Errors+1 || oa.Tokens == 0 || an.Requests != 1 || an.Errors != 0 || an.Tokens == 0 {
			t.Errorf("group_by=%s: %+v; want openai's failed attempts and its answer, anthropic's answer", by, u.Data)
		}
	}
	if st := do(t, "GET", srv.URL+"/admin/usage?group_by=provider", testAdminKey, nil, nil); st != http.StatusOK {
		t.Errorf("group_by=provider over every team: %d", st)
	}
}
