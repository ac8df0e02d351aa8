package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// The admin API refuses a field it does not know, naming it, instead of
// ignoring it: a typo in max_budget_usd must not leave a team without a
// budget.
func TestAdminRefusesUnknownFields(t *testing.T) {
	srv := startServer(t, nil)
	keyID, _, _ := newKey(t, srv.URL, "strict", nil)
	tests := []struct {
		method, path, body, field string
	}{
		{"PATCH", "/admin/teams/strict", `{"max_budget_usdd": 25}`, "max_budget_usdd"},
		{"POST", "/admin/teams", `{"id": "strict-2", "max_budget": 25}`, "max_budget"},
		{"PATCH", "/admin/keys/" + keyID, `{"rpm": 5, "rmp": 5}`, "rmp"},
		{"PATCH", "/admin/keys/" + keyID, `{"model_limits": {"gpt-5": {"rpmm": 60}}}`, "rpmm"},
		{"POST", "/admin/keys", `{"team_id": "strict", "expires": "2030-01-01T00:00:00Z"}`, "expires"},
		{"POST", "/admin/models", `{"name": "m", "provider": "mock", "input_price": 1}`, "input_price"},
		{"POST", "/admin/model-groups", `{"name": "g", "models": ["mock/echo"], "fallbacks": ["mock/x"]}`, "fallbacks"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.field, func(t *testing.T) {
			st, b := sfdDo(t, tt.method, srv.URL+tt.path, map[string]string{"Authorization": "Bearer " + testAdminKey}, tt.body)
			if st != http.StatusBadRequest || !strings.Contains(string(b), `"param":"`+tt.field+`"`) ||
				!strings.Contains(string(b), "unknown field '"+tt.field+"'") {
				t.Errorf("%s %s %s: %d %s; want 400 naming %q", tt.method, tt.path, tt.body, st, b, tt.field)
			}
		})
	}
	// Nothing was changed by the refused requests.
	var team struct {
		MaxBudgetUSD *float64 `json:"max_budget_usd"`
	}
	if do(t, "GET", srv.URL+"/admin/teams/strict", testAdminKey, nil, &team); team.MaxBudgetUSD != nil {
		t.Errorf("team budget = %v after refused PATCHes; want none", *team.MaxBudgetUSD)
	}
	if st := do(t, "GET", srv.URL+"/admin/teams/strict-2", testAdminKey, nil, nil); st != http.StatusNotFound {
		t.Errorf("GET /admin/teams/strict-2: %d; want 404 (its creation was refused)", st)
	}
	// Known fields still pass.
	if st := do(t, "PATCH", srv.URL+"/admin/teams/strict", testAdminKey, map[string]any{"max_budget_usd": 25, "rpm": 10}, nil); st != http.StatusOK {
		t.Errorf("PATCH with known fields: %d", st)
	}
}

// /healthz is public: it says the server lives and names nothing of its
// configuration.
func TestHealthzNamesNoProviders(t *testing.T) {
	oa := providertest.NewOpenAI(t)
	srv := startServer(t, map[string]string{"OPENAI_API_KEY": "sk-upstream", "OPENAI_BASE_URL": oa.URL + "/v1"})
	st, b := sfdDo(t, "GET", srv.URL+"/healthz", nil, "")
	if st != http.StatusOK || strings.TrimSpace(string(b)) != `{"status":"ok"}` {
		t.Errorf("GET /healthz: %d %s; want 200 {\"status\":\"ok\"}", st, b)
	}
}
