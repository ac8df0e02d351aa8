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
	"context"
	"flag"
	"fmt"
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
	)
	flag.Parse()
	if *db == "" || *runs <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), *db, strings.Split(*teams, ","), *project, *days, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "usagestats:", err)
		os.Exit(1)
	}
}

// query is one measured call.
type query struct {
	name string
	call func(ctx context.Context) (rows int, err error)
}

func run(ctx context.Context, url string, teams []string, project string, days, runs int) error {
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

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "query\trows\tp50\tp95\tmax\t")
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
