// Package cli is the admin command line of the llmservice binary:
// llmservice teams|keys|models|groups|usage|batches ... against a running
// server's admin API (LLMSERVICE_URL, LLMSERVICE_ADMIN_KEY). It prints
// tables for people and, with --json, the server's JSON for scripts.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Commands are the command names this package serves.
var Commands = []string{"teams", "keys", "models", "groups", "usage", "batches"}

// Usage is the commands' help.
const Usage = `admin commands (against LLMSERVICE_URL, default http://localhost:8080, with LLMSERVICE_ADMIN_KEY):
  teams list | get ID | create [--id ID] [--name N] [limits] [--credits N] | update ID [limits]
        | delete ID | credits ID [--add N [--reason R]] | budget ID
  keys list [--team ID] | get ID | create --team ID [--name N] [limits] [--ip CIDR,...] [--expires 720h|RFC3339]
        | update ID [...] | revoke ID
  models list | set --name N --provider P [--upstream M] [--input-price USD] [--output-price USD] [--rpm N] [--tpm N]
        | delete NAME | deployments
  groups list | get NAME | create --name N --models a,b,... [--strategy S] | update NAME --models ... | delete NAME
  usage [--team ID] [--from T] [--to T] [--group-by model|key|project|team|day] [--range 24h|7d|30d]
  batches list [--team ID] | cancel ID --team ID | wait ID --team ID [--every 2s]
  limits: --rpm N --tpm N --budget USD --period daily|weekly|monthly --models a,b,...
  every command: --json (the server's JSON), --url URL, --admin-key KEY
`

// env is one command's context: where to send requests and where to write.
type env struct {
	ctx    context.Context
	c      *client
	out    io.Writer
	json   bool
	sleep  func(context.Context, time.Duration) error
	isTerm bool
}

// Run runs command cmd (one of Commands) with args.
func Run(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := &env{ctx: ctx, out: stdout, sleep: sleep, isTerm: isTerminal(stdout)}
	c := &client{base: getenv("LLMSERVICE_URL"), key: getenv("LLMSERVICE_ADMIN_KEY")}
	sub, rest := "", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, rest = args[0], args[1:]
	}
	e.c = c
	var err error
	switch cmd {
	case "teams":
		err = teams(e, sub, rest)
	case "keys":
		err = keys(e, sub, rest)
	case "models":
		err = models(e, sub, rest)
	case "groups":
		err = groups(e, sub, rest)
	case "usage":
		err = usage(e, args)
	case "batches":
		err = batches(e, sub, rest)
	default:
		err = usageErr("unknown command %q", cmd)
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprint(stderr, Usage)
	}
	return err
}

// usageError is a command line that means nothing; the help follows it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErr(format string, a ...any) error {
	return &usageError{fmt.Sprintf(format, a...)}
}

// flags is one subcommand's flag set with the flags every command takes.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&e.json, "json", false, "print the server's JSON")
	fs.StringVar(&e.c.base, "url", e.c.base, "server URL")
	fs.StringVar(&e.c.key, "admin-key", e.c.key, "admin key")
	return fs
}

// parse reads flags anywhere among args (llmservice teams get acme --json)
// and returns the positional arguments, of which it wants want.
func parse(fs *flag.FlagSet, args []string, want ...string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageErr("%s: %v", fs.Name(), err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != len(want) {
		return nil, usageErr("%s wants %s", fs.Name(), strings.Join(append([]string{}, want...), " "))
	}
	return pos, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// isTerminal reports whether w is a terminal, where progress redraws one
// line; elsewhere it prints a line per change.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
