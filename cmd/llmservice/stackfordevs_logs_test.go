package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// sfdLogPage is the answer of GET /v1/logs.
type sfdLogPage struct {
	Logs []struct {
		ID, Model, Endpoint, Error string
		ProjectID                  string `json:"project_id"`
		TenantID                   string `json:"tenant_id"`
		Prompt                     []struct{ Role, Content string }
		Response                   *string
		PromptTokens               int  `json:"prompt_tokens"`
		CompletionTokens           int  `json:"completion_tokens"`
		TotalTokens                int  `json:"total_tokens"`
		LatencyMS                  *int `json:"latency_ms"`
		Status                     int
		Success                    bool
	}
	NextCursor string `json:"next_cursor"`
	HasMore    bool   `json:"has_more"`
}

func sfdLogs(t *testing.T, base, path string, h map[string]string) sfdLogPage {
	t.Helper()
	st, b := sfdDo(t, "GET", base+path, h, "")
	if st != 200 {
		t.Fatalf("GET %s: %d %s", path, st, b)
	}
	var p sfdLogPage
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, b)
	}
	return p
}

func TestStackForDevsLogsAndStats(t *testing.T) {
	srv := startServer(t, map[string]string{})
	acme := sfdNewTenant(t, srv.URL, "logs-acme")
	globex := sfdNewTenant(t, srv.URL, "logs-globex")
	if st := do(t, "PATCH", srv.URL+"/admin/teams/logs-acme", testAdminKey, map[string]any{"log_bodies": "full"}, nil); st != 200 {
		t.Fatalf("turn logging on: %d", st)
	}
	complete := func(tn sfdTenant, project, model, text string) int {
		t.Helper()
		h := tn.headers()
		h["x-project-id"] = project
		st, _ := sfdDo(t, "POST", srv.URL+"/v1/completions", h, `{"model":"`+model+`","messages":[{"role":"user","content":"`+text+`"}]}`)
		return st
	}
	complete(acme, "web", "mock/echo", "first question")
	complete(acme, "web", "mock/echo", "second question")
	if st := complete(acme, "web", "no-such-model", "lost"); st != 404 {
		t.Fatalf("unknown model: %d; want 404", st)
	}
	complete(acme, "mobile", "mock/other", "from mobile")
	complete(globex, "web", "mock/echo", "globex secret plans")

	p := sfdLogs(t, srv.URL, "/v1/logs/logs-acme/web", acme.headers())
	if len(p.Logs) != 3 || p.HasMore {
		t.Fatalf("web logs: %+v; want 3 calls", p)
	}
	// Calls in the same millisecond have no order, so entries are found by
	// what they hold.
	var failed, second int = -1, -1
	for i, l := range p.Logs {
		if !l.Success {
			failed = i
		}
		if len(l.Prompt) == 1 && l.Prompt[0].Content == "second question" {
			second = i
		}
	}
	if failed < 0 || p.Logs[failed].Status != 404 || p.Logs[failed].Model != "no-such-model" {
		t.Errorf("entries = %+v; want the failed call with status 404", p.Logs)
	}
	if second < 0 {
		t.Fatalf("entries = %+v; want the second question with its prompt", p.Logs)
	}
	e := p.Logs[second]
	if e.Model != "mock/echo" || e.TenantID != "logs-acme" || e.ProjectID != "web" || !e.Success ||
		e.TotalTokens == 0 || e.TotalTokens != e.PromptTokens+e.CompletionTokens || e.LatencyMS == nil ||
		e.Response == nil || *e.Response != "mock reply: second question" {
		t.Errorf("entry = %+v", e)
	}

	// Pages of one, by cursor, cover the same calls.
	var ids []string
	cursor := ""
	for range 5 {
		page := sfdLogs(t, srv.URL, "/v1/logs/logs-acme/web?limit=1&cursor="+cursor, acme.headers())
		for _, l := range page.Logs {
			ids = append(ids, l.ID)
		}
		if !page.HasMore {
			break
		}
		cursor = page.NextCursor
	}
	if len(ids) != 3 || ids[0] != p.Logs[0].ID || ids[2] != p.Logs[2].ID {
		t.Errorf("paged ids %v; want %v", ids, []string{p.Logs[0].ID, p.Logs[1].ID, p.Logs[2].ID})
	}

	if all := sfdLogs(t, srv.URL, "/v1/logs/logs-acme/*", acme.headers()); len(all.Logs) != 4 {
		t.Errorf("all projects: %d entries; want 4", len(all.Logs))
	}
	// Globex set nothing: StackForDevs' default keeps the prompt and the
	// response, as its seed promises.
	g := sfdLogs(t, srv.URL, "/v1/logs/logs-globex/web", globex.headers())
	if len(g.Logs) != 1 || len(g.Logs[0].Prompt) != 1 || g.Logs[0].Prompt[0].Content != "globex secret plans" ||
		g.Logs[0].Response == nil || *g.Logs[0].Response != "mock reply: globex secret plans" {
		t.Errorf("globex logs: %+v; want one entry with its prompt and response", g)
	}

	// Tenant isolation: neither path nor project reveals another tenant.
	for _, path := range []string{"/v1/logs/logs-globex/web", "/v1/stats/logs-globex/web", "/v1/logs/nobody/web"} {
		if st, b := sfdDo(t, "GET", srv.URL+path, acme.headers(), ""); st != 403 || strings.Contains(string(b), "globex secret") {
			t.Errorf("GET %s as acme: %d %s; want 403", path, st, b)
		}
	}
	if _, b := sfdDo(t, "GET", srv.URL+"/v1/logs/logs-acme/web", acme.headers(), ""); strings.Contains(string(b), "globex") {
		t.Error("acme's logs show globex's calls")
	}

	var s struct {
		TenantID           string   `json:"tenant_id"`
		Requests           int      `json:"requests"`
		SuccessfulRequests int      `json:"successful_requests"`
		FailedRequests     int      `json:"failed_requests"`
		SuccessRate        *float64 `json:"success_rate"`
		TotalTokens        int      `json:"total_tokens"`
		ByModel            []struct {
			Model       string
			Requests    int
			SuccessRate *float64 `json:"success_rate"`
			CostUSD     *float64 `json:"cost_usd"`
		} `json:"by_model"`
	}
	st, b := sfdDo(t, "GET", srv.URL+"/v1/stats/logs-acme/web", acme.headers(), "")
	if err := json.Unmarshal(b, &s); err != nil || st != 200 {
		t.Fatalf("stats: %d %s", st, b)
	}
	if s.Requests != 3 || s.SuccessfulRequests != 2 || s.FailedRequests != 1 || s.SuccessRate == nil || *s.SuccessRate != 0.6667 || s.TotalTokens == 0 {
		t.Errorf("stats = %s", b)
	}
	if len(s.ByModel) != 2 || s.ByModel[0].Model != "mock/echo" || s.ByModel[0].Requests != 2 || *s.ByModel[0].SuccessRate != 1 ||
		s.ByModel[1].Model != "no-such-model" || *s.ByModel[1].SuccessRate != 0 || s.ByModel[0].CostUSD == nil {
		t.Errorf("stats by model = %+v", s.ByModel)
	}
	if st, b := sfdDo(t, "GET", srv.URL+"/v1/stats/logs-globex/*", globex.headers(), ""); st != 200 || !strings.Contains(string(b), `"requests":1,`) {
		t.Errorf("globex stats: %d %s", st, b)
	}

	// The same team's call with a bearer key, through the OpenAI API, keeps
	// the server's default: no bodies.
	if st, b := sfdDo(t, "POST", srv.URL+"/v1/chat/completions", map[string]string{"Authorization": "Bearer " + globex.Key, "X-Project-Id": "bearer"},
		`{"model":"mock/echo","messages":[{"role":"user","content":"through openai"}]}`); st != 200 {
		t.Fatalf("bearer call: %d %s", st, b)
	}
	if o := sfdLogs(t, srv.URL, "/v1/logs/logs-globex/bearer", globex.headers()); len(o.Logs) != 1 || o.Logs[0].Prompt != nil {
		t.Errorf("globex logs of a bearer call: %+v; want one entry without bodies", o)
	}

	// A team that turns logging off keeps the accounting only.
	if st := do(t, "PATCH", srv.URL+"/admin/teams/logs-globex", testAdminKey, map[string]any{"log_bodies": "off"}, nil); st != 200 {
		t.Fatalf("turn logging off: %d", st)
	}
	complete(globex, "quiet", "mock/echo", "not to be kept")
	q := sfdLogs(t, srv.URL, "/v1/logs/logs-globex/quiet", globex.headers())
	if len(q.Logs) != 1 || q.Logs[0].Prompt != nil || q.Logs[0].Response != nil || q.Logs[0].TotalTokens == 0 {
		t.Errorf("globex logs with logging off: %+v; want one entry without bodies", q)
	}

	// Redacted logging masks e-mail addresses in what is kept.
	do(t, "PATCH", srv.URL+"/admin/teams/logs-acme", testAdminKey, map[string]any{"log_bodies": "redacted"}, nil)
	complete(acme, "redact", "mock/echo", "mail me at jane.doe@example.com")
	r := sfdLogs(t, srv.URL, "/v1/logs/logs-acme/redact", acme.headers())
	if len(r.Logs) != 1 || len(r.Logs[0].Prompt) != 1 || strings.Contains(r.Logs[0].Prompt[0].Content, "jane.doe") ||
		!strings.Contains(r.Logs[0].Prompt[0].Content, "[email]") || strings.Contains(*r.Logs[0].Response, "jane.doe") {
		t.Errorf("redacted entry = %+v", r.Logs)
	}
}
