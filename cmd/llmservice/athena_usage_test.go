package main

import (
	"net/http"
	"testing"
)

// The seed promises a "model usage distribution": GraphQL's usage query
// (and REST's /api/v1/usage) break the total down by model unasked, next
// to the overall total.
func TestAthenaUsageByModelUnasked(t *testing.T) {
	srv, _, key := athenaStart(t)
	for _, m := range []string{"gpt-5-mini", "gpt-5-mini", "gpt-4o"} {
		if st := do(t, "POST", srv.URL+"/api/v1/chat/completions", key,
			map[string]any{"model": m, "messages": []map[string]string{{"role": "user", "content": "hi"}}}, nil); st != http.StatusOK {
			t.Fatalf("chat with %s: %d", m, st)
		}
	}
	type total struct {
		Group    string
		Requests float64
	}
	var g struct {
		Usage struct {
			Total   total
			ByModel []total
		}
	}
	athenaGQL(t, srv.URL, key, `{ usage { total { requests } byModel { group requests } } }`, nil, &g)
	want := []total{{"gpt-5-mini", 2}, {"gpt-4o", 1}}
	if g.Usage.Total.Requests != 3 || len(g.Usage.ByModel) != 2 || g.Usage.ByModel[0] != want[0] || g.Usage.ByModel[1] != want[1] {
		t.Errorf("GraphQL usage = %+v; want 3 requests, by model %+v", g.Usage, want)
	}
	var r struct {
		Total struct {
			Requests float64
		}
		ByModel []total `json:"by_model"`
	}
	do(t, "GET", srv.URL+"/api/v1/usage", key, nil, &r)
	if r.Total.Requests != 3 || len(r.ByModel) != 2 || r.ByModel[0] != want[0] || r.ByModel[1] != want[1] {
		t.Errorf("REST usage = %+v; want 3 requests, by model %+v", r, want)
	}
}
