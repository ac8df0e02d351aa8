package stackfordevs_test

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/dialect/stackfordevs"
	"github.com/llmservice/llmservice/internal/sfdhttp"
)

// errorOf decodes a StackForDevs error body, failing on any other shape.
func errorOf(t *testing.T, w *httptest.ResponseRecorder) sfdhttp.ErrorDetail {
	t.Helper()
	var b sfdhttp.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.Error.Message == "" || b.Error.Code == "" || b.Error.Type == "" {
		t.Fatalf("status %d: not a StackForDevs error body (%v): %s", w.Code, err, w.Body)
	}
	return b.Error
}

func with(h map[string]string, k, v string) map[string]string {
	out := maps.Clone(h)
	if v == "" {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func TestAuthentication(t *testing.T) {
	f := newFixture()
	good := headers("acme")
	for _, tc := range []struct {
		name   string
		h      map[string]string
		status int
		code   string
	}{
		{"Good", good, 200, ""},
		{"NoHeaders", nil, 401, "missing_api_key"},
		{"NoSecret", with(good, "x-secret-key", ""), 401, "missing_secret_key"},
		{"NoTenant", with(good, "x-tenant-id", ""), 401, "missing_tenant_id"},
		{"WrongSecret", with(good, "x-secret-key", "sks-nope"), 401, "invalid_api_key"},
		{"OtherTenantsSecret", with(good, "x-secret-key", tenants["globex"].secret), 401, "invalid_api_key"},
		{"UnknownKey", with(good, "x-api-key", "sk-nope"), 401, "invalid_api_key"},
		{"TenantMismatch", with(good, "x-tenant-id", "globex"), 401, "tenant_mismatch"},
		{"NoProject", with(good, "x-project-id", ""), 400, "missing_project_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do("GET", "/v1/providers", tc.h, "")
			if w.Code != tc.status {
				t.Fatalf("status %d; want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status != 200 {
				if e := errorOf(t, w); e.Code != tc.code {
					t.Errorf("code %q; want %q", e.Code, tc.code)
				}
			}
		})
	}
}

func TestProviders(t *testing.T) {
	f := newFixture()
	acme, globex := headers("acme"), headers("globex")
	const key = "sk-your-openai-api-key"

	w := f.do("POST", "/v1/providers", acme, `{"providerType":"openai","apiKey":"`+key+`"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), key) || !strings.Contains(w.Body.String(), `"apiKey":"sk-...-key"`) {
		t.Errorf("create answer shows the key unmasked or not at all: %s", w.Body)
	}
	if w := f.do("POST", "/v1/providers", acme, `{"providerType":"openai","apiKey":"`+key+`"}`); w.Code != http.StatusOK {
		t.Errorf("replace: %d; want 200: %s", w.Code, w.Body)
	}

	var list struct{ Providers []stackfordevs.Provider }
	w = f.do("GET", "/v1/providers", acme, "")
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list.Providers) != 1 || list.Providers[0].APIKey != "sk-...-key" {
		t.Fatalf("list: %s", w.Body)
	}
	if w := f.do("GET", "/v1/providers", globex, ""); !strings.Contains(w.Body.String(), `"providers":[]`) {
		t.Errorf("another tenant sees acme's providers: %s", w.Body)
	}
	if w := f.do("GET", "/v1/providers/openai", acme, ""); w.Code != 200 || !strings.Contains(w.Body.String(), "sk-...-key") {
		t.Errorf("get: %d %s", w.Code, w.Body)
	}
	if w := f.do("GET", "/v1/providers/anthropic", acme, ""); w.Code != 404 || errorOf(t, w).Code != "provider_not_configured" {
		t.Errorf("get unconfigured: %d %s", w.Code, w.Body)
	}

	// Test: success, then the provider's refusal, reported in the body.
	w = f.do("POST", "/v1/providers/test", acme, `{"providerType":"openai"}`)
	var res stackfordevs.TestResult
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || w.Code != 200 || !res.Success || res.Model != "gpt-4o-mini" {
		t.Fatalf("test: %d %s", w.Code, w.Body)
	}
	if f.creds.last.key != key || f.creds.last.model != "gpt-4o-mini" {
		t.Errorf("test called with key %q model %q; want the tenant's key and the default test model", f.creds.last.key, f.creds.last.model)
	}
	f.creds.ProviderErr = &llmservice.Error{Kind: llmservice.Unauthenticated, Status: 401, Message: "Incorrect API key provided: sk-your***key", Code: "invalid_api_key"}
	w = f.do("POST", "/v1/providers/test", acme, `{"providerType":"openai"}`)
	res = stackfordevs.TestResult{}
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || w.Code != 200 || res.Success || res.Error == nil ||
		res.Error.Status != 401 || res.Error.Code != "invalid_api_key" || !strings.Contains(res.Error.Message, "Incorrect API key") {
		t.Errorf("test with a refused key: %d %s", w.Code, w.Body)
	}
	f.creds.ProviderErr = errors.New("socket closed")
	if w := f.do("POST", "/v1/providers/test", acme, `{"providerType":"openai"}`); w.Code != 500 || strings.Contains(w.Body.String(), "socket") {
		t.Errorf("test with an internal failure: %d %s; want a 500 that reveals nothing", w.Code, w.Body)
	}
	if w := f.do("POST", "/v1/providers/test", globex, `{"providerType":"openai"}`); w.Code != 404 {
		t.Errorf("test by a tenant without the provider: %d; want 404", w.Code)
	}

	if w := f.do("DELETE", "/v1/providers/openai", globex, ""); w.Code != 404 {
		t.Errorf("delete by another tenant: %d; want 404", w.Code)
	}
	if w := f.do("DELETE", "/v1/providers/openai", acme, ""); w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Errorf("delete: %d %q; want 204 and no body", w.Code, w.Body)
	}
	if w := f.do("DELETE", "/v1/providers/openai", acme, ""); w.Code != 404 {
		t.Errorf("second delete: %d; want 404", w.Code)
	}
}

func TestProviderBadRequests(t *testing.T) {
	f := newFixture()
	acme := headers("acme")
	for _, tc := range []struct {
		name, method, path, body, param string
	}{
		{"EmptyBody", "POST", "/v1/providers", "", ""},
		{"NotJSON", "POST", "/v1/providers", "{", ""},
		{"Array", "POST", "/v1/providers", "[]", ""},
		{"NoType", "POST", "/v1/providers", `{"apiKey":"k"}`, "providerType"},
		{"UnknownType", "POST", "/v1/providers", `{"providerType":"gemini","apiKey":"k"}`, "providerType"},
		{"TypeNotString", "POST", "/v1/providers", `{"providerType":1,"apiKey":"k"}`, "providerType"},
		{"KeyNotString", "POST", "/v1/providers", `{"providerType":"openai","apiKey":true}`, "apiKey"},
		{"NoKey", "POST", "/v1/providers", `{"providerType":"openai"}`, "apiKey"},
		{"TestUnknownType", "POST", "/v1/providers/test", `{"providerType":"azure"}`, "providerType"},
		{"DeleteUnknownType", "DELETE", "/v1/providers/azure", "", "providerType"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(tc.method, tc.path, acme, tc.body)
			if w.Code != 400 {
				t.Fatalf("status %d; want 400: %s", w.Code, w.Body)
			}
			e := errorOf(t, w)
			if got := ""; e.Param != nil {
				got = *e.Param
				if got != tc.param {
					t.Errorf("param %q; want %q", got, tc.param)
				}
			} else if tc.param != "" {
				t.Errorf("no param; want %q: %s", tc.param, w.Body)
			}
		})
	}
}

func TestLogs(t *testing.T) {
	f := newFixture()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.usage.records = []llmservice.UsageRecord{
		{ID: "r3", Time: at, TeamID: "acme", Project: "web", RequestedModel: "gpt-4", Provider: "openai", UpstreamModel: "gpt-4",
			PromptTokens: 10, CompletionTokens: 5, LatencyMS: 120, Status: 200, Cost: 1_500_000,
			Prompt: `[{"role":"user","content":"hi"}]`, Response: "hello"},
		{ID: "r2", Time: at, TeamID: "acme", Project: "web", RequestedModel: "gpt-4", Status: 502, ErrorType: "upstream"},
		{ID: "r1", Time: at, TeamID: "acme", Project: "batch", RequestedModel: "gpt-4", Status: 200},
		{ID: "g1", Time: at, TeamID: "globex", Project: "web", RequestedModel: "gpt-4", Status: 200},
	}
	acme := headers("acme")

	var page stackfordevs.LogPage
	w := f.do("GET", "/v1/logs/acme/web?limit=1", acme, "")
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || w.Code != 200 {
		t.Fatalf("logs: %d %s", w.Code, w.Body)
	}
	if len(page.Logs) != 1 || !page.HasMore || page.NextCursor != "r3" {
		t.Fatalf("first page = %+v; want r3 and a cursor", page)
	}
	e := page.Logs[0]
	if e.ID != "r3" || e.Model != "gpt-4" || e.TotalTokens != 15 || e.LatencyMS != 120 || !e.Success || e.CostUSD != 0.0015 ||
		len(e.Prompt) != 1 || e.Prompt[0].Content != "hi" || e.Response == nil || *e.Response != "hello" || e.ProjectID != "web" {
		t.Errorf("entry = %+v", e)
	}
	if f.flushes == 0 {
		t.Error("logs did not flush the meter first")
	}
	w = f.do("GET", "/v1/logs/acme/web?limit=1&cursor=r3", acme, "")
	if f.usage.lastRecF.Before != "r3" || f.usage.lastRecF.TeamID != "acme" || f.usage.lastRecF.Project != "web" {
		t.Errorf("second page filter = %+v", f.usage.lastRecF)
	}
	if w := f.do("GET", "/v1/logs/acme/web", acme, ""); !strings.Contains(w.Body.String(), `"error":"upstream"`) ||
		strings.Contains(w.Body.String(), `"id":"r1"`) || strings.Contains(w.Body.String(), `"prompt":null`) {
		t.Errorf("project web: %s", w.Body)
	}
	if w := f.do("GET", "/v1/logs/acme/*", acme, ""); !strings.Contains(w.Body.String(), `"id":"r1"`) || strings.Contains(w.Body.String(), "g1") {
		t.Errorf("all projects: %s", w.Body)
	}

	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"OtherTenant", "/v1/logs/globex/web", 403},
		{"NoSuchTenant", "/v1/logs/nobody/web", 403},
		{"LimitZero", "/v1/logs/acme/web?limit=0", 400},
		{"LimitTooBig", "/v1/logs/acme/web?limit=501", 400},
		{"LimitNotNumber", "/v1/logs/acme/web?limit=ten", 400},
		{"BadFrom", "/v1/logs/acme/web?from=yesterday", 400},
		{"FromUnix", "/v1/logs/acme/web?from=1700000000", 200},
		{"FromDate", "/v1/logs/acme/web?from=2026-05-01", 200},
		{"StatsOtherTenant", "/v1/stats/globex/web", 403},
		{"StatsBadTo", "/v1/stats/acme/web?to=x", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do("GET", tc.path, acme, "")
			if w.Code != tc.status {
				t.Fatalf("status %d; want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status != 200 {
				errorOf(t, w)
			}
		})
	}
}

func TestStats(t *testing.T) {
	f := newFixture()
	w := f.do("GET", "/v1/stats/acme/web?from=2026-05-01T00:00:00Z", headers("acme"), "")
	var s stackfordevs.Stats
	if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil || w.Code != 200 {
		t.Fatalf("stats: %d %s", w.Code, w.Body)
	}
	if s.TenantID != "acme" || s.ProjectID != "web" || s.Requests != 4 || s.SuccessfulRequests != 3 || s.FailedRequests != 1 ||
		s.SuccessRate == nil || *s.SuccessRate != 0.75 || s.TotalTokens != 47 || s.CostUSD != 0.5 || s.AvgLatencyMS != 75.3 {
		t.Errorf("totals = %+v", s)
	}
	if len(s.ByModel) != 2 || s.ByModel[0].Model != "gpt-4" || *s.ByModel[0].SuccessRate != 0.6667 || *s.ByModel[1].SuccessRate != 1 {
		t.Errorf("by model = %+v", s.ByModel)
	}
	for _, sf := range f.usage.sums {
		if sf.TeamID != "acme" || sf.Project != "web" || sf.From.IsZero() {
			t.Errorf("sum filter %+v; want acme/web from the given time", sf)
		}
	}
	if !strings.Contains(f.do("GET", "/v1/stats/acme/*", headers("acme"), "").Body.String(), `"project_id":"*"`) {
		t.Error("stats of every project do not say so")
	}
	if f.usage.sums[len(f.usage.sums)-1].Project != "" {
		t.Error("project * still filtered by project")
	}
}
