// Command driver runs the llmservice benchmark: it builds llmservice and the
// bench programs, starts the mock upstream, the bare reverse proxy and
// llmservice as separate processes, drives the same load through each, and
// writes bench/RESULTS.md. bench/run.sh is the one command to run it.
//
// Everything is measured in one run and compared as ratios, because the
// machines here are shared and their absolute speed drifts.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// config is the driver's command line.
type config struct {
	repo       string
	out        string
	dur        time.Duration
	rates      []float64
	maxDur     time.Duration
	maxWorkers int
	streamRate float64
	firstDelay time.Duration
	warmup     time.Duration
	settle     time.Duration
	rounds     int
	loadProcs  int
	profile    bool
	profileDur time.Duration
	// profileStream profiles the streaming scenario instead of the
	// highest fixed rate.
	profileStream bool
	keep          bool
	quiet         float64       // wait for other work to use at most this share of the machine
	quietWait     time.Duration // but no longer than this
	rev           string        // build llmservice from this git revision instead of the working tree
	llmBin        string        // or use this binary
	llmEnv        []string      // extra KEY=VALUE for llmservice (rate limits, budgets, GOGC...)
	teamJSON      string
	keyJSON       string
	// limitsTeamJSON and limitsKeyJSON create the llmservice+limits
	// target's team and key; an empty team body leaves that target out.
	// The limits are 1e9 a minute, the most the admin API accepts.
	limitsTeamJSON string
	limitsKeyJSON  string
	soak           time.Duration // a long run at soakRate reporting RSS growth; 0 skips it
	soakRate       float64
	args           []string // the command line, for RESULTS.md
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func parseFlags() (config, error) {
	c := config{args: os.Args[1:]}
	var rates string
	var env listFlag
	flag.StringVar(&c.repo, "repo", "", "repository root (default: found from the working directory)")
	flag.StringVar(&c.out, "out", "bench/RESULTS.md", "results file, relative to the repository root; empty to skip")
	flag.DurationVar(&c.dur, "d", 12*time.Second, "length of each fixed-rate run")
	flag.StringVar(&rates, "rates", "100,500,1000", "fixed rates to run, requests per second")
	flag.DurationVar(&c.maxDur, "max-d", 10*time.Second, "length of the max-throughput run")
	flag.IntVar(&c.maxWorkers, "max-c", 64, "concurrent workers in the max-throughput run")
	flag.Float64Var(&c.streamRate, "stream-rate", 200, "rate of the streaming run (0 skips it)")
	flag.DurationVar(&c.firstDelay, "first-delay", 10*time.Millisecond, "upstream think time before the first streamed token")
	flag.DurationVar(&c.warmup, "warmup", 3*time.Second, "warm-up load per target before measuring")
	flag.DurationVar(&c.settle, "settle", 1500*time.Millisecond, "pause after each run before reading CPU, so batched usage writes are counted")
	flag.IntVar(&c.rounds, "rounds", 1, "repeat every run this often, alternating target order; figures are medians")
	flag.IntVar(&c.loadProcs, "load-procs", 1, "GOMAXPROCS of the load generator (0: Go's default)")
	flag.BoolVar(&c.profile, "profile", true, "profile llmservice and the proxy with perf at the middle rate after measuring")
	flag.DurationVar(&c.profileDur, "profile-d", 10*time.Second, "length of each profiling run")
	flag.BoolVar(&c.profileStream, "profile-stream", false, "profile the streaming run (at -stream-rate) instead of the highest fixed rate")
	flag.Float64Var(&c.quiet, "quiet", 0.15, "before each run, wait until other work uses at most this share of the machine (1 disables)")
	flag.DurationVar(&c.quietWait, "quiet-wait", 2*time.Minute, "longest wait for the machine to become quiet before a run")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (binaries, logs, perf data)")
	flag.StringVar(&c.rev, "rev", "", "build llmservice from this git revision (e.g. HEAD) instead of the working tree")
	flag.StringVar(&c.llmBin, "llmservice-bin", "", "use this llmservice binary instead of building one")
	flag.Var(&env, "llmservice-env", "extra KEY=VALUE for llmservice (repeatable), e.g. LLMSERVICE_CONFIG=limits.yaml")
	// Issue 17's scenario: the key and its team both carry an RPM and a
	// TPM limit and a USD budget, far above the load so that every call
	// is checked and admitted.
	flag.StringVar(&c.teamJSON, "team-json", `{"id":"bench","rpm":1000000000,"tpm":1000000000,"max_budget_usd":1000000000}`,
		"body of POST /admin/teams")
	flag.StringVar(&c.keyJSON, "key-json", `{"team_id":"bench","rpm":1000000000,"tpm":1000000000,"max_budget_usd":1000000000}`,
		"body of POST /admin/keys")
	flag.StringVar(&c.limitsTeamJSON, "limits-team-json", "",
		"team of an extra llmservice+limits target (e.g. with -team-json '{\"id\":\"bench\"}' to measure what limits cost); empty leaves it out")
	flag.StringVar(&c.limitsKeyJSON, "limits-key-json",
		`{"team_id":"bench-limits","rpm":1000000000,"tpm":1000000000,"max_budget_usd":1000000000}`,
		"key of the llmservice+limits target")
	flag.DurationVar(&c.soak, "soak", 0, "after the scenarios, run llmservice alone at -soak-rate this long and report RSS at its start and end (e.g. 10m); 0 skips it")
	flag.Float64Var(&c.soakRate, "soak-rate", 1000, "rate of the -soak run")
	flag.Parse()
	c.llmEnv = env
	for _, s := range strings.Split(rates, ",") {
		var r float64
		if _, err := fmt.Sscan(strings.TrimSpace(s), &r); err != nil || r <= 0 {
			return c, fmt.Errorf("-rates: bad rate %q", s)
		}
		c.rates = append(c.rates, r)
	}
	if c.rounds < 1 {
		c.rounds = 1
	}
	if c.repo == "" {
		r, err := findRepo()
		if err != nil {
			return c, err
		}
		c.repo = r
	}
	return c, nil
}

// findRepo walks up from the working directory to the go.mod.
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory; pass -repo")
		}
		dir = parent
	}
}

func main() {
	c, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	dir, err := os.MkdirTemp("", "llmservice-bench-")
	if err != nil {
		return err
	}
	if c.keep {
		logf("keeping %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if err := buildAll(ctx, c, dir); err != nil {
		return err
	}

	env, err := startAll(ctx, c, dir)
	if env != nil {
		defer env.stop()
	}
	if err != nil {
		return err
	}
	b := &bench{cfg: c, dir: dir, env: env}
	if err := b.measureAll(ctx); err != nil {
		return err
	}
	if c.soak > 0 {
		if b.soak, err = b.soakRun(ctx, c.soakRate, c.soak); err != nil {
			return fmt.Errorf("soak: %w", err)
		}
	}
	var prof *profiles
	if c.profile {
		if prof, err = b.profileAll(ctx); err != nil {
			logf("profiling skipped: %v", err)
		}
	}
	fmt.Println()
	b.printTable(os.Stdout)
	if c.out == "" {
		return nil
	}
	path := c.out
	if !filepath.IsAbs(path) {
		path = filepath.Join(c.repo, path)
	}
	if err := b.writeMarkdown(path, prof); err != nil {
		return err
	}
	logf("wrote %s", path)
	return nil
}

// buildAll puts the four binaries in dir. The bench programs always come
// from the working tree; llmservice may come from a git revision, so that
// a tree others are halfway through editing need not build, and so that
// two revisions can be compared.
func buildAll(ctx context.Context, c config, dir string) error {
	goBuild := func(src string, pkgs ...string) error {
		cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = src, os.Stderr, os.Stderr
		return cmd.Run()
	}
	logf("building into %s", dir)
	if err := goBuild(c.repo, "./bench/upstream", "./bench/proxy", "./bench/load"); err != nil {
		return fmt.Errorf("build bench programs: %w", err)
	}
	switch {
	case c.llmBin != "":
		b, err := os.ReadFile(c.llmBin)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "llmservice"), b, 0o755)
	case c.rev != "":
		src := filepath.Join(dir, "src")
		if err := os.Mkdir(src, 0o755); err != nil {
			return err
		}
		// git archive reads the object store only: no worktree, no index
		// change in a checkout others are using.
		sh := exec.CommandContext(ctx, "sh", "-c", `git archive "$1" | tar -x -C "$2"`, "sh", c.rev, src)
		sh.Dir, sh.Stderr = c.repo, os.Stderr
		if err := sh.Run(); err != nil {
			return fmt.Errorf("git archive %s: %w", c.rev, err)
		}
		if err := goBuild(src, "./cmd/llmservice"); err != nil {
			return fmt.Errorf("build llmservice at %s: %w", c.rev, err)
		}
		return nil
	}
	if err := goBuild(c.repo, "./cmd/llmservice"); err != nil {
		return fmt.Errorf("build llmservice (if the working tree is mid-edit, try -rev HEAD): %w", err)
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
