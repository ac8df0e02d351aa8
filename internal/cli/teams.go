package cli

import (
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"
)

type team struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Models       []string `json:"models"`
	ModelGroups  []string `json:"model_groups"`
	RPM          int64    `json:"rpm"`
	TPM          int64    `json:"tpm"`
	MaxBudgetUSD *float64 `json:"max_budget_usd"`
	BudgetPeriod string   `json:"budget_period"`
	Credits      int64    `json:"credits"`
}

// limitFlags are the limits teams and keys share; only those given go in a
// request, so an update changes nothing else.
type limitFlags struct {
	fs     *flag.FlagSet
	rpm    int64
	tpm    int64
	budget float64
	period string
	models string
}

func addLimits(fs *flag.FlagSet) *limitFlags {
	l := &limitFlags{fs: fs}
	fs.Int64Var(&l.rpm, "rpm", 0, "requests per minute (0: none)")
	fs.Int64Var(&l.tpm, "tpm", 0, "tokens per minute (0: none)")
	fs.Float64Var(&l.budget, "budget", 0, "USD budget (negative: none)")
	fs.StringVar(&l.period, "period", "", "budget period: daily, weekly, monthly")
	fs.StringVar(&l.models, "models", "", "model allowlist, comma-separated")
	return l
}

// body adds the limits given on the command line to b.
func (l *limitFlags) body(b map[string]any) map[string]any {
	l.fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "rpm":
			b["rpm"] = l.rpm
		case "tpm":
			b["tpm"] = l.tpm
		case "budget":
			if l.budget < 0 {
				b["max_budget_usd"] = nil
			} else {
				b["max_budget_usd"] = l.budget
			}
		case "period":
			b["budget_period"] = l.period
		case "models":
			b["models"] = splitList(l.models)
		}
	})
	return b
}

func splitList(s string) []string {
	out := []string{}
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func budgetText(b *float64, period string) string {
	if b == nil {
		return "-"
	}
	s := usd(*b)
	if period != "" {
		s += " " + period
	}
	return s
}

func listOr(l []string, none string) string {
	if len(l) == 0 {
		return none
	}
	return strings.Join(l, ",")
}

func teams(e *env, sub string, args []string) error {
	fs := e.flags("teams " + sub)
	switch sub {
	case "list", "":
		if _, err := parse(fs, args); err != nil {
			return err
		}
		var out struct{ Data []team }
		raw, err := e.call("GET", "/admin/teams", nil, &out)
		if err != nil {
			return err
		}
		return e.show(raw, func() { teamTable(e, out.Data) })
	case "get":
		pos, err := parse(fs, args, "ID")
		if err != nil {
			return err
		}
		var t team
		raw, err := e.call("GET", "/admin/teams/"+url.PathEscape(pos[0]), nil, &t)
		if err != nil {
			return err
		}
		return e.show(raw, func() { teamTable(e, []team{t}) })
	case "create", "update":
		id := fs.String("id", "", "team ID (create; generated when absent)")
		name := fs.String("name", "", "display name")
		credits := fs.Int64("credits", 0, "initial credits (create)")
		groups := fs.String("groups", "", "model groups allowed, comma-separated")
		l := addLimits(fs)
		want := []string{}
		if sub == "update" {
			want = []string{"ID"}
		}
		pos, err := parse(fs, args, want...)
		if err != nil {
			return err
		}
		b := l.body(map[string]any{})
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "name":
				b["name"] = *name
			case "credits":
				b["credits"] = *credits
			case "groups":
				b["model_groups"] = splitList(*groups)
			case "id":
				b["id"] = *id
			}
		})
		var t team
		method, path := "POST", "/admin/teams"
		if sub == "update" {
			method, path = "PATCH", "/admin/teams/"+url.PathEscape(pos[0])
		}
		raw, err := e.call(method, path, b, &t)
		if err != nil {
			return err
		}
		return e.show(raw, func() { teamTable(e, []team{t}) })
	case "delete":
		pos, err := parse(fs, args, "ID")
		if err != nil {
			return err
		}
		raw, err := e.call("DELETE", "/admin/teams/"+url.PathEscape(pos[0]), nil, nil)
		if err != nil {
			return err
		}
		return e.show(raw, func() { fmt.Fprintf(e.out, "team %s deleted, with its keys; its usage stays\n", pos[0]) })
	case "credits":
		add := fs.Int64("add", 0, "credits to add (negative to deduct)")
		reason := fs.String("reason", "", "why")
		pos, err := parse(fs, args, "ID")
		if err != nil {
			return err
		}
		path := "/admin/teams/" + url.PathEscape(pos[0]) + "/credits"
		if *add != 0 {
			var out struct{ Credits int64 }
			raw, err := e.call("POST", path, map[string]any{"amount": *add, "reason": *reason}, &out)
			if err != nil {
				return err
			}
			return e.show(raw, func() { fmt.Fprintf(e.out, "team %s now has %s credits\n", pos[0], group(out.Credits)) })
		}
		var out struct {
			Data []struct {
				Amount       int64     `json:"amount"`
				BalanceAfter int64     `json:"balance_after"`
				Reason       string    `json:"reason"`
				Ref          string    `json:"ref"`
				Time         time.Time `json:"time"`
			}
		}
		raw, err := e.call("GET", path, nil, &out)
		if err != nil {
			return err
		}
		return e.show(raw, func() {
			var rows [][]string
			for _, m := range out.Data {
				rows = append(rows, []string{when(m.Time), group(m.Amount), group(m.BalanceAfter), m.Reason, orDash(m.Ref)})
			}
			table(e.out, []string{"TIME", "AMOUNT", "BALANCE", "REASON", "REF"}, rows)
		})
	case "budget":
		pos, err := parse(fs, args, "ID")
		if err != nil {
			return err
		}
		var b struct {
			Max       *float64  `json:"max_budget_usd"`
			Period    string    `json:"budget_period"`
			ResetsAt  time.Time `json:"resets_at"`
			Spent     float64   `json:"spent_usd"`
			Reserved  float64   `json:"reserved_usd"`
			Remaining *float64  `json:"remaining_usd"`
		}
		raw, err := e.call("GET", "/admin/teams/"+url.PathEscape(pos[0])+"/budget", nil, &b)
		if err != nil {
			return err
		}
		return e.show(raw, func() {
			if b.Max == nil {
				fmt.Fprintf(e.out, "team %s has no budget; %s spent\n", pos[0], usd(b.Spent))
				return
			}
			fmt.Fprintf(e.out, "team %s: %s spent, %s reserved of %s (%s)\n  %s\n", pos[0], usd(b.Spent), usd(b.Reserved),
				budgetText(b.Max, b.Period), orDash(when(b.ResetsAt)), progressUSD(b.Spent+b.Reserved, *b.Max))
		})
	}
	return usageErr("unknown command: teams %s", sub)
}

// progressUSD draws how much of a budget is used, in percent.
func progressUSD(used, limit float64) string {
	frac := 1.0
	if limit > 0 {
		frac = min(used/limit, 1)
	}
	const width = 30
	n := int(frac * width)
	return fmt.Sprintf("[%s%s] %.0f%% used", strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100)
}

func teamTable(e *env, ts []team) {
	var rows [][]string
	for _, t := range ts {
		rows = append(rows, []string{t.ID, t.Name, intOr(t.RPM, "-"), intOr(t.TPM, "-"), budgetText(t.MaxBudgetUSD, t.BudgetPeriod),
			group(t.Credits), listOr(t.Models, "all"), listOr(t.ModelGroups, "all")})
	}
	table(e.out, []string{"ID", "NAME", "RPM", "TPM", "BUDGET", "CREDITS", "MODELS", "GROUPS"}, rows)
}
