package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

// seriesAnswer is the part of GET /admin/usage/series the tests read.
type seriesAnswer struct {
	Bucket string
	Data   []struct {
		Requests, Errors int64
		P50              float64 `json:"p50_latency_ms"`
	}
	Total struct {
		Requests, Errors int64
		P50              float64 `json:"p50_latency_ms"`
		P95              float64 `json:"p95_latency_ms"`
	}
	Breakdowns map[string][]struct {
		Group    string
		Requests int64
	}
	KeyNames map[string]string `json:"key_names"`
}

type logsAnswer struct {
	Data []struct {
		ID, Model, Prompt, Response string
		TeamID                      string `json:"team_id"`
		Status                      int
	}
	NextCursor string `json:"next_cursor"`
	HasMore    bool   `json:"has_more"`
}

// TestDashboardAPI checks the API the dashboard reads, for the admin and
// for a team's key: series with breakdowns, logs with filters and cursors,
// self-service confined to the key's team, batches and queued completions
// listed and cancelled (a cancelled queued completion's credits come back).
func TestDashboardAPI(t *testing.T) {
	srv := startServer(t, nil)
	do(t, "POST", srv.URL+"/admin/teams", testAdminKey, map[string]any{"id": "acme", "log_bodies": "full", "credits": 10}, nil)
	acmeID, acmeKey, _ := newKey(t, srv.URL, "acme", map[string]any{"name": "web app"})
	globexID, globexKey, _ := newKey(t, srv.URL, "globex", nil)
	db, err := openDB(context.Background(), srv.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counts := seedUsage(t, db, map[string][]string{"acme": {acmeID}, "globex": {globexID}})
	chat := func(key, model, msg string) int {
		return do(t, "POST", srv.URL+"/v1/chat/completions", key, map[string]any{"model": model,
			"messages": []map[string]string{{"role": "user", "content": msg}}}, nil)
	}
	if st := chat(acmeKey, "mock/echo", "hello dashboard"); st != http.StatusOK {
		t.Fatalf("chat: %d", st)
	}
	if st := chat(acmeKey, "nowhere/model", "fails"); st < 400 {
		t.Fatalf("chat with an unknown model: %d", st)
	}
	chat(globexKey, "mock/echo", "globex")
	acme, all := int64(counts["acme"]+2), int64(counts["acme"]+counts["globex"]+3)

	t.Run("Series", func(t *testing.T) {
		var s seriesAnswer
		if st := do(t, "GET", srv.URL+"/admin/usage/series?range=24h&breakdown=model,key,project,team", testAdminKey, nil, &s); st != http.StatusOK {
			t.Fatalf("series: %d", st)
		}
		if s.Bucket != "hour" || len(s.Data) != 24 || s.Total.Requests != all || s.Total.P50 <= 0 || s.Total.P95 < s.Total.P50 {
			t.Errorf("every team's 24 h = %s x %d, total %+v; want 24 hours, %d requests, p50 <= p95", s.Bucket, len(s.Data), s.Total, all)
		}
		var sum int64
		for _, p := range s.Data {
			sum += p.Requests
		}
		if sum != all || len(s.Breakdowns["team"]) != 2 || s.KeyNames[acmeID] != "web app" {
			t.Errorf("points sum to %d (want %d); teams %v; key names %v", sum, all, s.Breakdowns["team"], s.KeyNames)
		}
		var mine seriesAnswer
		do(t, "GET", srv.URL+"/v1/usage/series?range=30d&breakdown=model", acmeKey, nil, &mine)
		if mine.Bucket != "day" || len(mine.Data) != 30 || mine.Total.Requests != acme {
			t.Errorf("acme's own 30 d = %s x %d, %d requests; want 30 days, %d", mine.Bucket, len(mine.Data), mine.Total.Requests, acme)
		}
		for _, tc := range []struct{ key, path, param string }{
			{acmeKey, "/v1/usage/series?range=24h&breakdown=team", "breakdown"},
			{testAdminKey, "/admin/usage/series?range=1y", "range"},
			{testAdminKey, "/admin/usage/series?from=2026-01-01&to=2026-03-01&bucket=hour", "from"},
			{testAdminKey, "/admin/usage/series?range=24h&bucket=week", "bucket"},
		} {
			var e struct{ Error struct{ Param string } }
			if st := do(t, "GET", srv.URL+tc.path, tc.key, nil, &e); st != http.StatusBadRequest || e.Error.Param != tc.param {
				t.Errorf("GET %s: %d param %q; want 400 naming %s", tc.path, st, e.Error.Param, tc.param)
			}
		}
	})

	t.Run("SelfServiceUsage", func(t *testing.T) {
		var admin, own struct{ Data []struct{ Requests int64 } }
		do(t, "GET", srv.URL+"/admin/usage?team_id=acme", testAdminKey, nil, &admin)
		if st := do(t, "GET", srv.URL+"/v1/usage", acmeKey, nil, &own); st != http.StatusOK || own.Data[0].Requests != admin.Data[0].Requests || own.Data[0].Requests != acme {
			t.Errorf("/v1/usage = %d %+v; want acme's %d requests, as /admin/usage says (%+v)", st, own, acme, admin)
		}
		for _, tc := range []struct {
			key, path string
			want      int
		}{
			{acmeKey, "/v1/usage?team_id=globex", http.StatusForbidden},
			{acmeKey, "/v1/usage?team_id=nosuchteam", http.StatusForbidden},
			{acmeKey, "/v1/usage/logs?team_id=globex", http.StatusForbidden},
			{acmeKey, "/v1/usage?team_id=acme&group_by=model", http.StatusOK},
			{testAdminKey, "/v1/usage", http.StatusUnauthorized},
			{acmeKey, "/admin/usage", http.StatusUnauthorized},
			{"", "/v1/team", http.StatusUnauthorized},
		} {
			if st := do(t, "GET", srv.URL+tc.path, tc.key, nil, nil); st != tc.want {
				t.Errorf("GET %s: %d; want %d", tc.path, st, tc.want)
			}
		}
		var team struct {
			Team   struct{ ID string }
			Keys   []map[string]any
			Budget map[string]any
		}
		do(t, "GET", srv.URL+"/v1/team", acmeKey, nil, &team)
		if team.Team.ID != "acme" || len(team.Keys) != 1 || team.Keys[0]["prefix"] == nil || team.Keys[0]["key_hash"] != nil {
			t.Errorf("/v1/team = %+v; want acme and its one key by prefix", team)
		}
	})

	t.Run("Logs", func(t *testing.T) {
		var p1, p2 logsAnswer
		do(t, "GET", srv.URL+"/admin/logs?team_id=acme&limit=1", testAdminKey, nil, &p1)
		if len(p1.Data) != 1 || p1.Data[0].Model != "nowhere/model" || p1.Data[0].Status < 400 || !p1.HasMore {
			t.Fatalf("acme's newest call = %+v; want the failed one, and more", p1)
		}
		do(t, "GET", srv.URL+"/admin/logs?team_id=acme&limit=1&cursor="+url.QueryEscape(p1.NextCursor), testAdminKey, nil, &p2)
		if len(p2.Data) != 1 || p2.Data[0].Prompt == "" || p2.Data[0].Response != "mock reply: hello dashboard" {
			t.Errorf("the next page = %+v; want the hello call with its prompt and response", p2)
		}
		var errs logsAnswer
		do(t, "GET", srv.URL+"/admin/logs?status=error&limit=200", testAdminKey, nil, &errs)
		teams := map[string]bool{}
		for _, r := range errs.Data {
			teams[r.TeamID] = true
			if r.Status < 400 {
				t.Errorf("status=error listed %+v", r)
			}
		}
		if len(errs.Data) == 0 || !teams["acme"] {
			t.Errorf("every team's errors = %d records of %v", len(errs.Data), teams)
		}
		var own logsAnswer
		do(t, "GET", srv.URL+"/v1/usage/logs?limit=200", acmeKey, nil, &own)
		for _, r := range own.Data {
			if r.TeamID != "acme" {
				t.Fatalf("a team key's log shows %s's record %s", r.TeamID, r.ID)
			}
		}
		for _, q := range []string{"status=teapot", "cursor=nope", "limit=500"} {
			if st := do(t, "GET", srv.URL+"/admin/logs?"+q, testAdminKey, nil, nil); st != http.StatusBadRequest {
				t.Errorf("GET /admin/logs?%s: %d; want 400", q, st)
			}
		}
	})

	t.Run("BatchesAndQueued", func(t *testing.T) {
		id := openBatch(t, db, "acme", acmeID)
		var bs struct {
			Data []struct {
				ID, Status string
				Total      int
				Counts     struct{ Queued int }
			}
		}
		do(t, "GET", srv.URL+"/admin/batches", testAdminKey, nil, &bs)
		if len(bs.Data) != 1 || bs.Data[0].ID != id || bs.Data[0].Counts.Queued != 3 || bs.Data[0].Total != 3 {
			t.Errorf("every team's batches = %+v; want %s with 3 queued", bs.Data, id)
		}
		do(t, "GET", srv.URL+"/v1/team/batches", globexKey, nil, &bs)
		if len(bs.Data) != 0 {
			t.Errorf("globex sees batches %+v", bs.Data)
		}
		if st := do(t, "POST", srv.URL+"/admin/batches/"+id+"/cancel", testAdminKey, nil, nil); st != http.StatusBadRequest {
			t.Errorf("cancel without team_id: %d; want 400", st)
		}
		if st := do(t, "POST", srv.URL+"/v1/team/batches/"+id+"/cancel", globexKey, nil, nil); st != http.StatusNotFound {
			t.Errorf("another team's cancel: %d; want 404", st)
		}
		var b struct{ Status string }
		if st := do(t, "POST", srv.URL+"/admin/batches/"+id+"/cancel?team_id=acme", testAdminKey, nil, &b); st != http.StatusOK || b.Status != "cancelled" {
			t.Errorf("cancel: %d %s; want 200 cancelled (nothing was running)", st, b.Status)
		}

		var qs struct {
			Data []struct {
				ID, State, Model string
				Credits          int64
			}
		}
		do(t, "GET", srv.URL+"/v1/team/qcompletions", acmeKey, nil, &qs)
		if len(qs.Data) != 1 || qs.Data[0].State != "queued" || qs.Data[0].Credits != 2 || qs.Data[0].Model != "llama3.1" {
			t.Fatalf("acme's queued completions = %+v", qs.Data)
		}
		q := qs.Data[0].ID
		if st := do(t, "POST", srv.URL+"/v1/team/qcompletions/"+q+"/cancel", globexKey, nil, nil); st != http.StatusNotFound {
			t.Errorf("another team's cancel: %d; want 404", st)
		}
		if st := do(t, "POST", srv.URL+"/v1/team/qcompletions/"+q+"/cancel", acmeKey, nil, nil); st != http.StatusOK {
			t.Errorf("cancel: %d", st)
		}
		if st := do(t, "POST", srv.URL+"/admin/qcompletions/"+q+"/cancel?team_id=acme", testAdminKey, nil, nil); st != http.StatusConflict {
			t.Errorf("a second cancel: %d; want 409", st)
		}
		var team struct{ Credits int64 }
		do(t, "GET", srv.URL+"/admin/teams/acme", testAdminKey, nil, &team)
		if team.Credits != 12 {
			t.Errorf("acme's credits after the cancel = %d; want 12 (10 + the 2 it was charged)", team.Credits)
		}
	})
}
