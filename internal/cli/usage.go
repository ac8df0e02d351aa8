package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"time"
)

type usageTotal struct {
	Group            string  `json:"group"`
	Requests         int64   `json:"requests"`
	Errors           int64   `json:"errors"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	TotalTokens      int64   `json:"total_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	AvgLatencyMS     float64 `json:"avg_latency_ms"`
}

type usagePoint struct {
	Time time.Time `json:"time"`
	usageTotal
	P50 float64 `json:"p50_latency_ms"`
	P95 float64 `json:"p95_latency_ms"`
}

// usage prints totals (per group, with a bar chart of requests), or with
// --range a series per hour or day with its chart.
func usage(e *env, args []string) error {
	fs := e.flags("usage")
	team := fs.String("team", "", "one team (default: every team)")
	key := fs.String("key", "", "one key")
	from := fs.String("from", "", "from (RFC 3339 or YYYY-MM-DD)")
	to := fs.String("to", "", "to, exclusive")
	groupBy := fs.String("group-by", "", "model, key, project, team or day")
	rng := fs.String("range", "", "24h, 7d or 30d: a series over time instead of totals")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"team_id": *team, "key_id": *key, "from": *from, "to": *to} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *rng != "" {
		q.Set("range", *rng)
		return series(e, q)
	}
	if *groupBy != "" {
		q.Set("group_by", *groupBy)
	}
	var out struct{ Data []usageTotal }
	raw, err := e.call("GET", "/admin/usage?"+q.Encode(), nil, &out)
	if err != nil {
		return err
	}
	return e.show(raw, func() {
		ts := out.Data
		slices.SortStableFunc(ts, func(a, b usageTotal) int { return cmp.Compare(b.Requests, a.Requests) })
		if *groupBy == "day" {
			slices.SortFunc(ts, func(a, b usageTotal) int { return cmp.Compare(a.Group, b.Group) })
		}
		totalsTable(e, cmp.Or(*groupBy, "total"), ts)
		if *groupBy != "" && len(ts) > 0 {
			labels, values := make([]string, len(ts)), make([]float64, len(ts))
			for i, t := range ts {
				labels[i], values[i] = cmp.Or(t.Group, "(none)"), float64(t.Requests)
			}
			fmt.Fprintln(e.out)
			barChart(e.out, "requests by "+*groupBy, labels, values, func(v float64) string { return group(int64(v)) })
		}
	})
}

func totalsTable(e *env, first string, ts []usageTotal) {
	var rows [][]string
	for _, t := range ts {
		rows = append(rows, []string{cmp.Or(t.Group, "(none)"), group(t.Requests), group(t.Errors), group(t.TotalTokens),
			usd(t.CostUSD), ms(t.AvgLatencyMS)})
	}
	if first == "total" && len(rows) == 1 {
		rows[0][0] = "total"
	}
	table(e.out, []string{upper(first), "REQUESTS", "ERRORS", "TOKENS", "COST", "AVG LATENCY"}, rows)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func series(e *env, q url.Values) error {
	var out struct {
		Bucket string       `json:"bucket"`
		Data   []usagePoint `json:"data"`
		Total  usagePoint   `json:"total"`
	}
	raw, err := e.call("GET", "/admin/usage/series?"+q.Encode(), nil, &out)
	if err != nil {
		return err
	}
	return e.show(json.RawMessage(raw), func() {
		labels, values := make([]string, len(out.Data)), make([]float64, len(out.Data))
		layout := "01-02 15:00"
		if out.Bucket == "day" {
			layout = "2006-01-02"
		}
		for i, p := range out.Data {
			labels[i], values[i] = p.Time.Local().Format(layout), float64(p.Requests)
		}
		t := out.Total
		fmt.Fprintf(e.out, "%s requests, %s failed, %s tokens, %s; latency p50 %s, p95 %s\n\n", group(t.Requests), group(t.Errors),
			group(t.TotalTokens), usd(t.CostUSD), ms(t.P50), ms(t.P95))
		barChart(e.out, "requests per "+out.Bucket, labels, values, func(v float64) string { return group(int64(v)) })
	})
}
