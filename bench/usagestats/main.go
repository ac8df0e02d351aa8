// Command usagestats measures the usage queries on a database filled by
// llmservice-gen-usage: totals of one team over the last 30 days (by
// nothing, model, key and day; then the same for one project), all teams'
// total, and the first page of a team's logs. It prints p50, p95 and max
// latency over -runs runs of each. It only reads: no purge runs.
//
//	go run ./bench/usagestats -db /tmp/usage10m.db
//	go run ./bench/usagestats -db 'postgres://localhost/test?search_path=bench10m'
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/postgres"
	"github.com/llmservice/llmservice/internal/sqlite"
)

func main() {
	var (
		db      = flag.String("db", "", "SQLite file path, or a postgres:// URL (search_path may name a schema)")
		teams   = flag.String("teams", "team-000,team-050", "comma-separated teams to measure (team-000 is the generator's busiest)")
		project = flag.String("project", "project-0", "project of the per-project totals")
		days    = flag.Int("days", 30, "length of the totals' window, ending now")
		runs    = flag.Int("runs", 50, "runs of each query")
		gateway = flag.String("url", "", "also time the HTTP endpoints of a gateway serving this database (e.g. http://127.0.0.1:8080)")
		admin   = flag.String("admin-key", os.Getenv("LLMSERVICE_ADMIN_KEY"), "the gateway's admin key, with -url")
	)
	flag.Parse()
	if *db == "" || *runs <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), *db, strings.Split(*teams, ","), *project, *days, *runs, *gateway, *admin); err != nil {
		fmt.Fprintln(os.Stderr, "usagestats:", err)
		os.Exit(1)
	}
}

// query is one measured call.
type query struct {
	name string
	call func(ctx context.Context) (rows int, err error)
}

func run(ctx context.Context, url string, teams []string, project string, days, runs int, gateway, adminKey string) error {
	var (
		store interface {
			llmservice.UsageStore
			Close() error
		}
		err error
	)
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		store, err = postgres.Open(ctx, url)
	} else {
		store, err = sqlite.Open(ctx, url)
	}
	if err != nil {
		return err
	}
	defer store.Close()

	window := time.Duration(days) * 24 * time.Hour
	sum := func(f llmservice.UsageFilter) func(ctx context.Context) (int, error) {
		return func(ctx context.Context) (int, error) {
			// A dashboard's "last N days": a window ending now, on no
			// boundary, so that every piece of it is read.
			f.To = time.Now()
			f.From = f.To.Add(-window)
			totals, err := store.SumUsage(ctx, f)
			return len(totals), err
		}
	}
	var queries []query
	for _, team := range teams {
		for _, p := range []string{"", project} {
			for _, g := range []string{"", "model", "key", "day"} {
				name := fmt.Sprintf("SumUsage %s %dd group_by=%q", team, days, g)
				if p != "" {
					name = fmt.Sprintf("SumUsage %s project=%s %dd group_by=%q", team, p, days, g)
				}
				queries = append(queries, query{name, sum(llmservice.UsageFilter{TeamID: team, Project: p, GroupBy: g})})
			}
		}
		queries = append(queries, query{"FindUsageRecords " + team + " first page", func(ctx context.Context) (int, error) {
			recs, _, err := store.FindUsageRecords(ctx, llmservice.RecordFilter{TeamID: team})
			return len(recs), err
		}})
	}
	queries = append(queries, query{fmt.Sprintf("SumUsage all teams %dd", days), sum(llmservice.UsageFilter{})})
	if gateway != "" {
		hq, err := httpQueries(ctx, gateway, adminKey, teams, project, window)
		if err != nil {
			return err
		}
		queries = append(queries, hq...)
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "query\trows (bytes over HTTP)\tp50\tp95\tmax\t")
	for _, q := range queries {
		lat := make([]time.Duration, runs)
		rows := 0
		for i := range lat {
			start := time.Now()
			n, err := q.call(ctx)
			lat[i] = time.Since(start)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			rows = n
		}
		slices.Sort(lat)
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t\n", q.name, rows, ms(lat[len(lat)/2]), ms(lat[(len(lat)*95+99)/100-1]), ms(lat[len(lat)-1]))
	}
	return w.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// httpQueries times the same statistics through the gateway's HTTP API:
// the admin API's /admin/usage and StackForDevs' /v1/stats and /v1/logs,
// with a key and secret it creates for each team (the generator writes
// records, not teams).
func httpQueries(ctx context.Context, base, adminKey string, teams []string, project string, window time.Duration) ([]query, error) {
	post := func(path string, body any, out any) (int, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, "POST", base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+adminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if out != nil {
			_ = json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode, nil
	}
	get := func(path string, header map[string]string) func(ctx context.Context) (int, error) {
		return func(ctx context.Context) (int, error) {
			from := time.Now().Add(-window).UTC().Format(time.RFC3339)
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			req, _ := http.NewRequestWithContext(ctx, "GET", base+path+sep+"from="+from, nil)
			for k, v := range header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return 0, err
			}
			defer resp.Body.Close()
			n, _ := io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusOK {
				return 0, fmt.Errorf("GET %s: %s", path, resp.Status)
			}
			return int(n), nil
		}
	}
	admin := map[string]string{"Authorization": "Bearer " + adminKey}
	var qs []query
	for _, team := range teams {
		if _, err := post("/admin/teams", map[string]string{"id": team}, nil); err != nil {
			return nil, err
		}
		var key struct{ Key, Secret string }
		if st, err := post("/admin/keys", map[string]string{"team_id": team}, &key); err != nil || st != http.StatusCreated {
			return nil, fmt.Errorf("create a key for %s: %d %v", team, st, err)
		}
		tenant := map[string]string{"x-api-key": key.Key, "x-secret-key": key.Secret, "x-tenant-id": team, "x-project-id": project}
		for _, g := range []string{"", "model", "key", "day"} {
			qs = append(qs, query{fmt.Sprintf("GET /admin/usage %s group_by=%q", team, g), get("/admin/usage?team_id="+team+"&group_by="+g, admin)})
		}
		qs = append(qs,
			query{"GET /v1/stats/" + team + "/" + project, get("/v1/stats/"+team+"/"+project, tenant)},
			query{"GET /v1/logs/" + team + "/" + project, get("/v1/logs/"+team+"/"+project, tenant)})
		qs = append(qs, dashboardQueries(get, admin, map[string]string{"Authorization": "Bearer " + key.Key}, team)...)
	}
	return append(qs, dashboardQueries(get, admin, nil, "")...), nil
}

// dashboardQueries are the dashboard's requests for one team (with its
// key's self-service twins) or, for team "", for every team: the overview
// of each range (series and breakdowns in one request) and the first page
// of the request log, unfiltered and filtered.
func dashboardQueries(get func(string, map[string]string) func(context.Context) (int, error), admin, teamKey map[string]string, team string) []query {
	who, scope, breakdown := "every team", "", "model,key,project,team"
	if team != "" {
		who, scope, breakdown = team, "team_id="+team+"&", "model,key,project"
	}
	var qs []query
	for _, r := range []string{"24h", "7d", "30d"} {
		qs = append(qs, query{fmt.Sprintf("GET /admin/usage/series %s range=%s +breakdowns", who, r),
			get("/admin/usage/series?"+scope+"range="+r+"&breakdown="+breakdown, admin)})
	}
	for _, f := range []string{"", "status=error&", "model=model-5&", "key_id=key-000-03&"} {
		qs = append(qs, query{fmt.Sprintf("GET /admin/logs %s %s", who, strings.TrimSuffix(f, "&")), get("/admin/logs?"+scope+f+"limit=50", admin)})
	}
	if teamKey != nil {
		qs = append(qs,
			query{"GET /v1/usage (team key) " + team + " group_by=model", get("/v1/usage?group_by=model", teamKey)},
			query{"GET /v1/usage/series (team key) " + team + " range=30d", get("/v1/usage/series?range=30d&breakdown=model,key,project", teamKey)},
			query{"GET /v1/usage/logs (team key) " + team, get("/v1/usage/logs?limit=50", teamKey)})
	}
	return qs
}
