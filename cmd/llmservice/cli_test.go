package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// cliRun runs an admin command of the binary against srv, as a user would
// type it, and returns what it printed.
func cliRun(t *testing.T, srv *testServer, args ...string) string {
	t.Helper()
	out, err := cliTry(srv, args...)
	if err != nil {
		t.Fatalf("llmservice %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func cliTry(srv *testServer, args ...string) (string, error) {
	env := map[string]string{"LLMSERVICE_URL": srv.URL, "LLMSERVICE_ADMIN_KEY": testAdminKey}
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return out.String() + errb.String(), err
}

// wantLines fails unless out has a line matching each pattern.
func wantLines(t *testing.T, cmd, out string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(`(?m)` + p).MatchString(out) {
			t.Errorf("llmservice %s printed no line matching %q:\n%s", cmd, p, out)
		}
	}
}

// TestCLI drives the admin commands against a real server: teams, keys,
// models, groups, usage with its chart, and batches with wait and cancel.
func TestCLI(t *testing.T) {
	batchFastQueue(t)
	srv := startServer(t, nil)

	out := cliRun(t, srv, "teams", "create", "--id", "acme", "--name", "Acme", "--rpm", "600", "--credits", "10", "--budget", "25", "--period", "monthly")
	wantLines(t, "teams create", out, `^ID\s+NAME\s+RPM`, `^acme\s+Acme\s+600\s+-\s+\$25\.00 monthly\s+10\s+all\s+all`)
	out = cliRun(t, srv, "teams", "list", "--json")
	var teams struct{ Data []struct{ ID string } }
	if err := json.Unmarshal([]byte(out), &teams); err != nil || len(teams.Data) != 1 || teams.Data[0].ID != "acme" {
		t.Errorf("teams list --json = %s (%v); want acme alone", out, err)
	}
	wantLines(t, "teams update", cliRun(t, srv, "teams", "update", "acme", "--tpm", "9000", "--models", "mock/*"), `^acme\s+Acme\s+600\s+9,000\s+\$25\.00 monthly\s+10\s+mock/\*`)
	wantLines(t, "teams credits", cliRun(t, srv, "teams", "credits", "acme", "--add", "5", "--reason", "top-up"), `team acme now has 15 credits`)
	wantLines(t, "teams credits", cliRun(t, srv, "teams", "credits", "acme"), `^\S+ \S+\s+5\s+15\s+top-up`, `^\S+ \S+\s+10\s+10\s+initial grant`)
	wantLines(t, "teams budget", cliRun(t, srv, "teams", "budget", "acme"), `team acme: \$0\.00 spent, \$0\.00 reserved of \$25\.00 monthly`, `^\s+\[\.{30}\] 0% used$`)

	out = cliRun(t, srv, "keys", "create", "--team", "acme", "--name", "ci", "--ip", "127.0.0.1", "--expires", "720h")
	wantLines(t, "keys create", out, `^key_\S+\s+acme\s+ci\s+sk-\S+…\s+active`, `^key:\s+sk-`, `^secret:\s+sks-`, `Shown once`)
	key := regexp.MustCompile(`(?m)^key:\s+(\S+)`).FindStringSubmatch(out)[1]
	keyID := regexp.MustCompile(`(?m)^(key_\S+)`).FindStringSubmatch(out)[1]
	wantLines(t, "keys list", cliRun(t, srv, "keys", "list", "--team", "acme"), `^`+keyID+`\s+acme\s+ci\s+sk-\S+…\s+active\s+-\s+-\s+-\s+team's\s+127\.0\.0\.1`)

	for _, msg := range []string{"one", "two", "three"} {
		if st := do(t, "POST", srv.URL+"/v1/chat/completions", key, map[string]any{"model": "mock/echo",
			"messages": []map[string]string{{"role": "user", "content": msg}}}, nil); st != http.StatusOK {
			t.Fatalf("chat: %d", st)
		}
	}
	do(t, "POST", srv.URL+"/v1/chat/completions", key, map[string]any{"model": "gpt-4o", "messages": []map[string]string{{"role": "user", "content": "x"}}}, nil)
	out = cliRun(t, srv, "usage", "--team", "acme", "--group-by", "model")
	wantLines(t, "usage --group-by model", out, `^MODEL\s+REQUESTS\s+ERRORS`, `^mock/echo\s+3\s+0\s`, `^gpt-4o\s+1\s+1\s`,
		`^requests by model$`, `^  mock/echo\s+█{40}\s+3$`, `^  gpt-4o\s+█{13}▍?\s+1$`)
	wantLines(t, "usage", cliRun(t, srv, "usage"), `^TOTAL\s+REQUESTS`, `^total\s+4\s+1\s`)
	out = cliRun(t, srv, "usage", "--team", "acme", "--range", "24h")
	wantLines(t, "usage --range 24h", out, `^4 requests, 1 failed`, `^requests per hour$`, `█{40} 4$`)
	if n := strings.Count(out, "\n  "); n != 24 {
		t.Errorf("usage --range 24h drew %d hours; want 24:\n%s", n, out)
	}

	wantLines(t, "models set", cliRun(t, srv, "models", "set", "--name", "house", "--provider", "mock", "--upstream", "echo", "--input-price", "0.5"),
		`^house\s+mock\s+echo\s+\$0\.5\s+-`)
	wantLines(t, "models list", cliRun(t, srv, "models", "list"), `^house\s+mock`)
	wantLines(t, "models deployments", cliRun(t, srv, "models", "deployments"), `^DEPLOYMENT\s+INSTANCE\s+STATE`, `\smock\s+healthy\s`)
	wantLines(t, "models delete", cliRun(t, srv, "models", "delete", "house"), `model house deleted`)
	wantLines(t, "groups create", cliRun(t, srv, "groups", "create", "--name", "chat", "--models", "mock/a,mock/b"), `^chat\s+mock/a -> mock/b`)
	wantLines(t, "groups update", cliRun(t, srv, "groups", "update", "chat", "--models", "mock/b"), `^chat\s+mock/b\s`)
	wantLines(t, "groups delete", cliRun(t, srv, "groups", "delete", "chat"), `model group chat deleted`)

	// Batches: wait shows progress to the end; cancel stops an open one.
	c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey(key))
	b := newEchoBatch(t, c, 20)
	out = cliRun(t, srv, "batches", "wait", b.ID, "--team", "acme", "--every", "20ms")
	wantLines(t, "batches wait", out, `^`+b.ID+` completed \[#{30}\] 20/20, 0 failed$`)
	wantLines(t, "batches list", cliRun(t, srv, "batches", "list"), `^`+b.ID+`\s+acme\s+openai\s+completed\s+\[#{30}\] 20/20\s+20\s+0\s+0`)
	_, slowKey, _ := newKey(t, srv.URL, "acme", map[string]any{"rpm": 1})
	slow := newEchoBatch(t, openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey(slowKey)), 3)
	wantLines(t, "batches cancel", cliRun(t, srv, "batches", "cancel", slow.ID, "--team", "acme"), `^batch \S+ is cancel(ling|led) `)

	wantLines(t, "keys revoke", cliRun(t, srv, "keys", "revoke", keyID), `key \S+ revoked`)
	if st := do(t, "GET", srv.URL+"/v1/models", key, nil, nil); st != http.StatusUnauthorized {
		t.Errorf("a revoked key: %d; want 401", st)
	}
	wantLines(t, "teams delete", cliRun(t, srv, "teams", "delete", "acme"), `team acme deleted`)

	// Mistakes say what is wrong.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"teams", "get"}, "teams get wants ID"},
		{[]string{"teams", "frobnicate"}, "unknown command: teams frobnicate"},
		{[]string{"keys", "create"}, "keys create wants --team ID"},
		{[]string{"teams", "get", "nobody"}, "(404)"},
		{[]string{"usage", "--group-by", "colour"}, "group_by must be"},
	} {
		out, err := cliTry(srv, tc.args...)
		if err == nil || !strings.Contains(err.Error()+out, tc.want) {
			t.Errorf("llmservice %s = %v\n%s; want an error saying %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
	}
	env := map[string]string{"LLMSERVICE_URL": srv.URL}
	if err := run(context.Background(), []string{"teams", "list"}, func(k string) string { return env[k] }, &bytes.Buffer{}, &bytes.Buffer{}); err == nil ||
		!strings.Contains(err.Error(), "LLMSERVICE_ADMIN_KEY") {
		t.Errorf("teams list without an admin key: %v; want an error naming LLMSERVICE_ADMIN_KEY", err)
	}
}
