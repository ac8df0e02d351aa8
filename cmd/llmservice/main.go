// Command llmservice is a self-hosted LLM gateway. Subcommands: serve
// (default), migrate, version, and the admin commands of internal/cli
// (teams, keys, models, groups, usage, batches) against a running server.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/llmservice/llmservice/internal/cli"
	"github.com/llmservice/llmservice/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "llmservice:", err)
		os.Exit(1)
	}
}

// run is main without the process: tests drive it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr, nil)
	case "migrate":
		return migrate(ctx, args, getenv, stdout)
	case "version":
		fmt.Fprintln(stdout, "llmservice", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage+"\n"+cli.Usage)
		return nil
	}
	if slices.Contains(cli.Commands, cmd) {
		return cli.Run(ctx, cmd, args, getenv, stdout, stderr)
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

// migrate applies the database migrations and exits.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(args, getenv)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied to", cfg.DatabaseURL)
	return db.Close()
}

const usage = `usage: llmservice [serve|migrate|version] [flags]
       llmservice teams|keys|models|groups|usage|batches ... (admin commands, below)

  serve     run the gateway (default)
  migrate   apply database migrations and exit
  version   print the version

flags (serve, migrate):
  --config FILE          YAML configuration (env LLMSERVICE_CONFIG)
  --addr ADDR            listen address (env LLMSERVICE_ADDR, default :8080)
  --database-url URL     SQLite file (env LLMSERVICE_DATABASE_URL, default ./data/llmservice.db)
  --log-level LEVEL      debug, info, warn, error (env LLMSERVICE_LOG_LEVEL)
`
