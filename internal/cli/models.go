package cli

import (
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"
)

type model struct {
	Name          string   `json:"name"`
	Provider      string   `json:"provider"`
	UpstreamModel string   `json:"upstream_model"`
	InputPerMTok  *float64 `json:"input_per_mtok"`
	OutputPerMTok *float64 `json:"output_per_mtok"`
	RPM           int64    `json:"rpm"`
	TPM           int64    `json:"tpm"`
	Strategy      string   `json:"strategy"`
	Deployments   []struct {
		Provider      string `json:"provider"`
		UpstreamModel string `json:"upstream_model"`
	} `json:"deployments"`
}

func price(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("$%g", *p)
}

func models(e *env, sub string, args []string) error {
	fs := e.flags("models " + sub)
	switch sub {
	case "list", "":
		if _, err := parse(fs, args); err != nil {
			return err
		}
		var out struct{ Data []model }
		raw, err := e.call("GET", "/admin/models", nil, &out)
		if err != nil {
			return err
		}
		return e.show(raw, func() { modelTable(e, out.Data) })
	case "set":
		name := fs.String("name", "", "public model name")
		provider := fs.String("provider", "", "provider instance")
		upstream := fs.String("upstream", "", "the provider's model id (default: the name)")
		in := fs.Float64("input-price", 0, "USD per million input tokens")
		out := fs.Float64("output-price", 0, "USD per million output tokens")
		rpm := fs.Int64("rpm", 0, "requests per minute, per key")
		tpm := fs.Int64("tpm", 0, "tokens per minute, per key")
		strategy := fs.String("strategy", "", "weighted, least-outstanding or lowest-latency")
		if _, err := parse(fs, args); err != nil {
			return err
		}
		if *name == "" || *provider == "" {
			return usageErr("models set wants --name and --provider")
		}
		b := map[string]any{"name": *name, "provider": *provider}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "upstream":
				b["upstream_model"] = *upstream
			case "input-price":
				b["input_per_mtok"] = *in
			case "output-price":
				b["output_per_mtok"] = *out
			case "rpm":
				b["rpm"] = *rpm
			case "tpm":
				b["tpm"] = *tpm
			case "strategy":
				b["strategy"] = *strategy
			}
		})
		var m model
		raw, err := e.call("POST", "/admin/models", b, &m)
		if err != nil {
			return err
		}
		return e.show(raw, func() { modelTable(e, []model{m}) })
	case "delete":
		pos, err := parse(fs, args, "NAME")
		if err != nil {
			return err
		}
		raw, err := e.call("DELETE", "/admin/models/"+escapePath(pos[0]), nil, nil)
		if err != nil {
			return err
		}
		return e.show(raw, func() { fmt.Fprintf(e.out, "model %s deleted\n", pos[0]) })
	case "deployments":
		if _, err := parse(fs, args); err != nil {
			return err
		}
		var out struct {
			Data []struct {
				ID            string    `json:"id"`
				Instance      string    `json:"instance"`
				Status        string    `json:"status"`
				InFlight      int64     `json:"in_flight"`
				LatencyMS     float64   `json:"latency_ms"`
				ErrorRate     float64   `json:"error_rate"`
				CooldownUntil time.Time `json:"cooldown_until"`
			}
		}
		raw, err := e.call("GET", "/admin/deployments", nil, &out)
		if err != nil {
			return err
		}
		return e.show(raw, func() {
			var rows [][]string
			for _, d := range out.Data {
				rows = append(rows, []string{d.ID, d.Instance, strings.ReplaceAll(d.Status, "_", " "), fmt.Sprint(d.InFlight),
					ms(d.LatencyMS), fmt.Sprintf("%.1f%%", d.ErrorRate*100), orDash(when(d.CooldownUntil))})
			}
			table(e.out, []string{"DEPLOYMENT", "INSTANCE", "STATE", "IN FLIGHT", "LATENCY", "ERRORS", "COOLDOWN UNTIL"}, rows)
		})
	}
	return usageErr("unknown command: models %s", sub)
}

// escapePath escapes each segment of a model name (they may hold a '/').
func escapePath(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func modelTable(e *env, ms []model) {
	var rows [][]string
	for _, m := range ms {
		var deps []string
		for _, d := range m.Deployments {
			deps = append(deps, d.Provider+"/"+d.UpstreamModel)
		}
		rows = append(rows, []string{m.Name, m.Provider, orDash(m.UpstreamModel), price(m.InputPerMTok), price(m.OutputPerMTok),
			intOr(m.RPM, "-"), intOr(m.TPM, "-"), listOr(deps, "-"), orDash(m.Strategy)})
	}
	table(e.out, []string{"NAME", "PROVIDER", "UPSTREAM", "INPUT/MTOK", "OUTPUT/MTOK", "RPM", "TPM", "DEPLOYMENTS", "STRATEGY"}, rows)
}

type modelGroup struct {
	Name     string   `json:"name"`
	Models   []string `json:"models"`
	Strategy string   `json:"strategy"`
}

func groups(e *env, sub string, args []string) error {
	fs := e.flags("groups " + sub)
	show := func(raw []byte, gs ...modelGroup) error {
		return e.show(raw, func() {
			var rows [][]string
			for _, g := range gs {
				rows = append(rows, []string{g.Name, strings.Join(g.Models, " -> "), orDash(g.Strategy)})
			}
			table(e.out, []string{"NAME", "MODELS (PRIMARY FIRST)", "STRATEGY"}, rows)
		})
	}
	switch sub {
	case "list", "":
		if _, err := parse(fs, args); err != nil {
			return err
		}
		var out struct{ Data []modelGroup }
		raw, err := e.call("GET", "/admin/model-groups", nil, &out)
		if err != nil {
			return err
		}
		return show(raw, out.Data...)
	case "get", "delete":
		pos, err := parse(fs, args, "NAME")
		if err != nil {
			return err
		}
		path := "/admin/model-groups/" + url.PathEscape(pos[0])
		if sub == "delete" {
			raw, err := e.call("DELETE", path, nil, nil)
			if err != nil {
				return err
			}
			return e.show(raw, func() { fmt.Fprintf(e.out, "model group %s deleted\n", pos[0]) })
		}
		var g modelGroup
		raw, err := e.call("GET", path, nil, &g)
		if err != nil {
			return err
		}
		return show(raw, g)
	case "create", "update":
		name := fs.String("name", "", "group name (create)")
		list := fs.String("models", "", "models, the primary first, comma-separated")
		strategy := fs.String("strategy", "", "weighted, least-outstanding or lowest-latency")
		want := []string{}
		if sub == "update" {
			want = []string{"NAME"}
		}
		pos, err := parse(fs, args, want...)
		if err != nil {
			return err
		}
		method, path := "POST", "/admin/model-groups"
		if sub == "update" {
			*name = pos[0]
			method, path = "PUT", path+"/"+url.PathEscape(pos[0])
		}
		if *name == "" || *list == "" {
			return usageErr("groups %s wants a name and --models", sub)
		}
		var g modelGroup
		raw, err := e.call(method, path, map[string]any{"name": *name, "models": splitList(*list), "strategy": *strategy}, &g)
		if err != nil {
			return err
		}
		return show(raw, g)
	}
	return usageErr("unknown command: groups %s", sub)
}
