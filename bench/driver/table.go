package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/llmservice/llmservice/bench/internal/report"
)

type dist = report.Dist

// column is one figure of a run, aggregated over rounds by its median.
type column struct {
	head string
	fn   func(m measurement) float64
	fmt  string
	// streamOnly columns are shown only for streaming scenarios.
	streamOnly bool
}

var columns = []column{
	{head: "rps", fn: func(m measurement) float64 { return m.res.RPS }, fmt: "%.0f"},
	{head: "errors", fn: func(m measurement) float64 { return float64(m.res.Errors) }, fmt: "%.0f"},
	{head: "p50 ms", fn: func(m measurement) float64 { return m.res.Latency.P50 }, fmt: "%.2f"},
	{head: "p90 ms", fn: func(m measurement) float64 { return m.res.Latency.P90 }, fmt: "%.2f"},
	{head: "p99 ms", fn: func(m measurement) float64 { return m.res.Latency.P99 }, fmt: "%.2f"},
	{head: "max ms", fn: func(m measurement) float64 { return m.res.Latency.Max }, fmt: "%.1f"},
	{head: "svc p50", fn: func(m measurement) float64 { return m.res.Service.P50 }, fmt: "%.2f"},
	{head: "svc p99", fn: func(m measurement) float64 { return m.res.Service.P99 }, fmt: "%.2f"},
	{head: "TTFT p50", fn: ttft(func(r dist) float64 { return r.P50 }), fmt: "%.2f", streamOnly: true},
	{head: "TTFT p99", fn: ttft(func(r dist) float64 { return r.P99 }), fmt: "%.2f", streamOnly: true},
	{head: "CPU µs/req", fn: func(m measurement) float64 { return m.perReq(m.cpu) }, fmt: "%.0f"},
	{head: "upstream µs/req", fn: func(m measurement) float64 { return m.perReq(m.upCPU) }, fmt: "%.0f"},
	{head: "loadgen µs/req", fn: func(m measurement) float64 { return m.perReq(m.loadCPU) }, fmt: "%.0f"},
	{head: "peak RSS MiB", fn: func(m measurement) float64 { return float64(m.peakKiB) / 1024 }, fmt: "%.1f"},
	{head: "gen lag p99", fn: func(m measurement) float64 {
		if m.res.DispatchLag == nil {
			return 0
		}
		return m.res.DispatchLag.P99
	}, fmt: "%.1f"},
	{head: "other CPU %", fn: func(m measurement) float64 { return m.other * 100 }, fmt: "%.0f"},
}

func ttft(f func(dist) float64) func(measurement) float64 {
	return func(m measurement) float64 {
		if m.res.TTFT == nil {
			return 0
		}
		return f(*m.res.TTFT)
	}
}

// median of f over ms; the lower middle for an even count, so that the
// figure is one that was measured.
func median(ms []measurement, f func(measurement) float64) float64 {
	if len(ms) == 0 {
		return 0
	}
	v := make([]float64, len(ms))
	for i, m := range ms {
		v[i] = f(m)
	}
	slices.Sort(v)
	return v[(len(v)-1)/2]
}

// get is the median of f for one scenario and target.
func (b *bench) get(scenario, target string, f func(measurement) float64) float64 {
	return median(b.runs[scenario][target], f)
}

func (s scenario) columns() []column {
	var cs []column
	for _, c := range columns {
		if !c.streamOnly || s.stream {
			cs = append(cs, c)
		}
	}
	return cs
}

// printTable writes every scenario as aligned text.
func (b *bench) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, s := range b.scenarios {
		fmt.Fprintf(tw, "%s\t\n", s.title)
		cs := s.columns()
		fmt.Fprint(tw, "target\t")
		for _, c := range cs {
			fmt.Fprintf(tw, "%s\t", c.head)
		}
		fmt.Fprintln(tw)
		for _, t := range b.env.targets {
			fmt.Fprintf(tw, "%s\t", t.name)
			for _, c := range cs {
				fmt.Fprintf(tw, c.fmt+"\t", b.get(s.name, t.name, c.fn))
			}
			fmt.Fprintln(tw)
		}
		fmt.Fprintln(tw, "\t")
	}
	tw.Flush()
	for _, l := range b.verdicts() {
		fmt.Fprintf(w, "%-4s %s: %s (bar: %s)\n", l.status(), l.what, l.got, l.bar)
	}
}

// markdownTable writes one scenario as a Markdown table.
func (b *bench) markdownTable(w io.Writer, s scenario) {
	cs := s.columns()
	heads := []string{"target"}
	for _, c := range cs {
		heads = append(heads, c.head)
	}
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(heads, " | "), strings.Repeat("---:|", len(heads)))
	for _, t := range b.env.targets {
		row := []string{t.name}
		for _, c := range cs {
			row = append(row, fmt.Sprintf(c.fmt, b.get(s.name, t.name, c.fn)))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
}
