// Command llmservice-gen-usage fills a database with realistic usage
// records, through the store's InsertUsage as the gateway's meter writes
// them (so that the rollups are maintained as in production), to measure
// the usage queries at scale (bench/usagestats) and the ledger's insert
// throughput. It prints records/s.
//
//	llmservice-gen-usage -db /tmp/usage10m.db -records 10000000
//	llmservice-gen-usage -db 'postgres://localhost/test?search_path=bench10m' -workers 4
//
// Records are spread evenly over the last -days days, in time order, and
// come from -teams teams whose traffic follows a Zipf law (team-000 is the
// busiest, by far), each with -keys-per-team keys; a key mostly works for
// one of -projects projects; models are skewed too (model-0 most used);
// about 3% of calls fail.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/postgres"
	"github.com/llmservice/llmservice/internal/sqlite"
)

type config struct {
	db                                     string
	records, teams, keys, models, projects int
	days, batch, workers                   int
	seed                                   uint64
}

func main() {
	var c config
	flag.StringVar(&c.db, "db", "", "SQLite file path, or a postgres:// URL (search_path may name a schema)")
	flag.IntVar(&c.records, "records", 10_000_000, "records to insert")
	flag.IntVar(&c.teams, "teams", 100, "teams")
	flag.IntVar(&c.keys, "keys-per-team", 10, "API keys per team")
	flag.IntVar(&c.models, "models", 6, "requested models")
	flag.IntVar(&c.projects, "projects", 4, "projects per team")
	flag.IntVar(&c.days, "days", 30, "the records span the last days")
	flag.IntVar(&c.batch, "batch", 5000, "records per InsertUsage")
	flag.IntVar(&c.workers, "workers", 1, "concurrent InsertUsage calls (replicas' meters; SQLite serialises them)")
	flag.Uint64Var(&c.seed, "seed", 1, "random seed")
	flag.Parse()
	if c.db == "" || c.records <= 0 || c.teams <= 1 || c.keys <= 0 || c.models <= 0 || c.projects <= 0 || c.days <= 0 || c.batch <= 0 || c.workers <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "llmservice-gen-usage:", err)
		os.Exit(1)
	}
}

// store is what the generator needs of a database.
type store interface {
	llmservice.UsageStore
	Migrate(ctx context.Context) error
	Close() error
}

func open(ctx context.Context, url string) (store, error) {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return postgres.Open(ctx, url)
	}
	return sqlite.Open(ctx, url)
}

func run(ctx context.Context, c config) error {
	db, err := open(ctx, c.db)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}

	batches := make(chan []llmservice.UsageRecord, c.workers)
	go func() {
		defer close(batches)
		g := newGenerator(c)
		for done := 0; done < c.records; {
			b := g.batch(min(c.batch, c.records-done))
			done += len(b)
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
		}
	}()

	start := time.Now()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		inserted int
		firstErr error
	)
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
	for range c.workers {
		wg.Go(func() {
			for b := range batches {
				if err := db.InsertUsage(ctx, b); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					return
				}
				mu.Lock()
				inserted += len(b)
				select {
				case <-progress.C:
					fmt.Fprintf(os.Stderr, "%d records, %.0f records/s\n", inserted, float64(inserted)/time.Since(start).Seconds())
				default:
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fmt.Printf("inserted %d records in %s: %.0f records/s (batch %d, %d workers)\n",
		inserted, elapsed.Round(time.Millisecond), float64(inserted)/elapsed.Seconds(), c.batch, c.workers)
	return analyze(ctx, db)
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// analyze gives PostgreSQL's planner the statistics and visibility map
// that autovacuum keeps in production, where the table grew over weeks.
func analyze(ctx context.Context, db store) error {
	pg, ok := db.(*postgres.DB)
	if !ok {
		return nil
	}
	_, err := pg.Pool().Exec(ctx, "VACUUM (ANALYZE) usage, usage_bodies, usage_hourly, usage_daily")
	return err
}

// generator makes the records, in time order.
type generator struct {
	c     config
	rng   *rand.Rand
	team  *rand.Zipf
	model *rand.Zipf
	step  time.Duration // mean time between records
	now   time.Time     // the last record's
}

func newGenerator(c config) *generator {
	rng := rand.New(rand.NewPCG(c.seed, c.seed^0x9e3779b97f4a7c15))
	end := time.Now()
	span := time.Duration(c.days) * 24 * time.Hour
	return &generator{
		c: c, rng: rng,
		team:  rand.NewZipf(rng, 1.1, 1, uint64(c.teams-1)),
		model: rand.NewZipf(rng, 1.5, 1, uint64(c.models-1)),
		now:   end.Add(-span), step: span / time.Duration(c.records),
	}
}

// failures are the statuses of the 3% of calls that fail: rate limits,
// upstream errors, bad requests.
var failures = []int{429, 502, 400}

func (g *generator) batch(n int) []llmservice.UsageRecord {
	recs := make([]llmservice.UsageRecord, n)
	for i := range recs {
		g.now = g.now.Add(time.Duration(g.rng.Int64N(int64(2*g.step) + 1)))
		recs[i] = g.record(g.now)
	}
	return recs
}

func (g *generator) record(at time.Time) llmservice.UsageRecord {
	team := int(g.team.Uint64())
	key := g.rng.IntN(g.c.keys)
	project := key % g.c.projects // a key mostly serves one project
	if g.rng.IntN(10) == 0 {
		project = g.rng.IntN(g.c.projects)
	}
	model := fmt.Sprintf("model-%d", g.model.Uint64())
	status := 200
	if i := g.rng.IntN(100); i < len(failures) {
		status = failures[i]
	}
	prompt, completion := 50+g.rng.IntN(4000), 10+g.rng.IntN(1000)
	r := llmservice.UsageRecord{
		ID: gateway.NewTimeID("req_", at), Time: at,
		TeamID: fmt.Sprintf("team-%03d", team), KeyID: fmt.Sprintf("key-%03d-%02d", team, key),
		Project: fmt.Sprintf("project-%d", project), Endpoint: "chat", RequestedModel: model,
		Provider: "openai", UpstreamModel: model + "-2025-01-01", Stream: g.rng.IntN(3) == 0,
		Status: status, Attempts: 1, LatencyMS: 200 + g.rng.IntN(5000),
	}
	if status >= 400 {
		r.ErrorType, r.LatencyMS = "upstream", 50+g.rng.IntN(500)
		return r
	}
	r.PromptTokens, r.CompletionTokens = prompt, completion
	r.Cost = llmservice.Nanos(prompt*150 + completion*600)
	if r.Stream {
		r.TTFTMS = 100 + g.rng.IntN(900)
	}
	return r
}
