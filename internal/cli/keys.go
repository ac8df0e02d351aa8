package cli

import (
	"flag"
	"fmt"
	"net/url"
	"time"
)

type key struct {
	ID           string     `json:"id"`
	TeamID       string     `json:"team_id"`
	Name         string     `json:"name"`
	Prefix       string     `json:"prefix"`
	Models       []string   `json:"models"`
	IPAllowlist  []string   `json:"ip_allowlist"`
	RPM          int64      `json:"rpm"`
	TPM          int64      `json:"tpm"`
	MaxBudgetUSD *float64   `json:"max_budget_usd"`
	BudgetPeriod string     `json:"budget_period"`
	ExpiresAt    *time.Time `json:"expires_at"`
	RevokedAt    *time.Time `json:"revoked_at"`
	CreatedAt    time.Time  `json:"created_at"`
	// Key and Secret are in the create answer only.
	Key    string `json:"key"`
	Secret string `json:"secret"`
}

func keys(e *env, sub string, args []string) error {
	fs := e.flags("keys " + sub)
	switch sub {
	case "list", "":
		teamID := fs.String("team", "", "only this team's keys")
		if _, err := parse(fs, args); err != nil {
			return err
		}
		var out struct{ Data []key }
		path := "/admin/keys"
		if *teamID != "" {
			path += "?team_id=" + url.QueryEscape(*teamID)
		}
		raw, err := e.call("GET", path, nil, &out)
		if err != nil {
			return err
		}
		return e.show(raw, func() { keyTable(e, out.Data) })
	case "get":
		pos, err := parse(fs, args, "ID")
		if err != nil {
			return err
		}
		var k key
		raw, err := e.call("GET", "/admin/keys/"+url.PathEscape(pos[0]), nil, &k)
		if err != nil {
			return err
		}
		return e.show(raw, func() { keyTable(e, []key{k}) })
	case "create", "update":
		teamID := fs.String("team", "", "the key's team (create)")
		name := fs.String("name", "", "a name people recognise")
		ip := fs.String("ip", "", "IP allowlist: CIDRs or addresses, comma-separated")
		expires := fs.String("expires", "", "expiry: a duration from now (720h) or an RFC 3339 time")
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
		var ferr error
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "name":
				b["name"] = *name
			case "ip":
				b["ip_allowlist"] = splitList(*ip)
			case "expires":
				if d, err := time.ParseDuration(*expires); err == nil {
					b["expires_at"] = time.Now().Add(d).UTC().Format(time.RFC3339)
				} else if _, err := time.Parse(time.RFC3339, *expires); err == nil {
					b["expires_at"] = *expires
				} else {
					ferr = usageErr("--expires wants a duration (720h) or an RFC 3339 time, got %q", *expires)
				}
			}
		})
		if ferr != nil {
			return ferr
		}
		method, path := "PATCH", "/admin/keys/"
		if sub == "create" {
			if *teamID == "" {
				return usageErr("keys create wants --team ID")
			}
			b["team_id"] = *teamID
			method, path = "POST", "/admin/keys"
		} else {
			path += url.PathEscape(pos[0])
		}
		var k key
		raw, err := e.call(method, path, b, &k)
		if err != nil {
			return err
		}
		return e.show(raw, func() {
			keyTable(e, []key{k})
			if k.Key != "" {
				fmt.Fprintf(e.out, "\nkey:    %s\nsecret: %s\nShown once: only their hashes are stored.\n", k.Key, k.Secret)
			}
		})
	case "revoke":
		pos, err := parse(fs, args, "ID")
		if err != nil {
			return err
		}
		raw, err := e.call("DELETE", "/admin/keys/"+url.PathEscape(pos[0]), nil, nil)
		if err != nil {
			return err
		}
		return e.show(raw, func() { fmt.Fprintf(e.out, "key %s revoked\n", pos[0]) })
	}
	return usageErr("unknown command: keys %s", sub)
}

func keyTable(e *env, ks []key) {
	var rows [][]string
	for _, k := range ks {
		state := "active"
		switch {
		case k.RevokedAt != nil:
			state = "revoked"
		case k.ExpiresAt != nil && k.ExpiresAt.Before(time.Now()):
			state = "expired"
		}
		expires := "never"
		if k.ExpiresAt != nil {
			expires = when(*k.ExpiresAt)
		}
		rows = append(rows, []string{k.ID, k.TeamID, orDash(k.Name), k.Prefix + "…", state, intOr(k.RPM, "-"), intOr(k.TPM, "-"),
			budgetText(k.MaxBudgetUSD, k.BudgetPeriod), listOr(k.Models, "team's"), listOr(k.IPAllowlist, "any"), expires})
	}
	table(e.out, []string{"ID", "TEAM", "NAME", "KEY", "STATE", "RPM", "TPM", "BUDGET", "MODELS", "IPS", "EXPIRES"}, rows)
}
