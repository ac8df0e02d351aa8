package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice/bench/internal/report"
)

// fakeBench is a finished bench whose runs are all alike except where a
// test changes them.
func fakeBench(t *testing.T) *bench {
	t.Helper()
	b := &bench{
		cfg: config{rates: []float64{100, 500, 1000}, maxWorkers: 64, streamRate: 200, rounds: 1, repo: t.TempDir()},
		env: &environment{targets: []target{{name: "direct"}, {name: "proxy"}, {name: "llmservice"}, {name: limitsTarget}}},
	}
	b.plan()
	b.runs = map[string]map[string][]measurement{}
	for _, s := range b.scenarios {
		b.runs[s.name] = map[string][]measurement{}
		for _, tg := range b.env.targets {
			ttft := report.Dist{P50: 11, P99: 12}
			m := measurement{
				res: report.Result{OK: 1000, RPS: max(s.rate, 3000), Latency: report.Dist{P50: 1, P99: 3}, TTFT: &ttft},
				cpu: 100 * time.Millisecond, peakKiB: 20 << 10,
			}
			if tg.name == "llmservice" || tg.name == limitsTarget {
				m.cpu = 95 * time.Millisecond // 0.95x the proxy
				m.res.TTFT = &report.Dist{P50: 11.1, P99: 12.5}
			}
			b.runs[s.name][tg.name] = []measurement{m}
		}
	}
	return b
}

func statuses(b *bench) map[string]string {
	out := map[string]string{}
	for _, v := range b.verdicts() {
		out[v.what] = v.status()
	}
	return out
}

func TestVerdicts(t *testing.T) {
	const (
		cpu500  = "CPU/request llmservice : proxy at 500 rps"
		cpu1k   = "CPU/request llmservice : proxy at 1000 rps"
		cpu100  = "CPU/request llmservice : proxy at 100 rps"
		stream  = "CPU/stream llmservice : proxy at 200 streams/s"
		p50     = "latency added at 100 rps (p50 / p99)"
		maxRate = "max rate with p99 < 50 ms (64 workers, closed loop)"
		ttft    = "time to first token added, llmservice - proxy (p50; p99)"
		rss     = "llmservice peak RSS at 1000 rps"
	)
	tests := []struct {
		name   string
		change func(b *bench)
		want   map[string]string
	}{
		{"all within the bar", func(*bench) {}, map[string]string{cpu500: "PASS", cpu1k: "PASS", cpu100: "info", stream: "PASS",
			p50: "PASS", maxRate: "PASS", ttft: "PASS", rss: "PASS"}},
		// The bars differ by rate: 1.03x passes at 500 and fails at 1000.
		{"CPU between the bars", func(b *bench) {
			b.runs["rate-500"]["llmservice"][0].cpu = 103 * time.Millisecond
			b.runs["rate-1000"]["llmservice"][0].cpu = 103 * time.Millisecond
		}, map[string]string{cpu500: "PASS", cpu1k: "FAIL"}},
		{"CPU over", func(b *bench) { b.runs["rate-500"]["llmservice"][0].cpu = 120 * time.Millisecond },
			map[string]string{cpu500: "FAIL"}},
		{"stream over", func(b *bench) { b.runs["stream"]["llmservice"][0].cpu = 111 * time.Millisecond },
			map[string]string{stream: "FAIL"}},
		{"p50 over the proxy's", func(b *bench) { b.runs["rate-100"]["llmservice"][0].res.Latency.P50 = 1.01 },
			map[string]string{p50: "FAIL"}},
		{"max rate under the proxy's", func(b *bench) { b.runs["max"]["llmservice"][0].res.RPS = 2999 },
			map[string]string{maxRate: "FAIL"}},
		{"max rate with slow p99", func(b *bench) { b.runs["max"]["llmservice"][0].res.Latency.P99 = 60 },
			map[string]string{maxRate: "FAIL"}},
		{"errors fail a passing figure", func(b *bench) { b.runs["stream"]["proxy"][0].res.Errors = 3 },
			map[string]string{ttft: "FAIL"}},
		{"heavy other work fails it too", func(b *bench) { b.runs["rate-500"]["proxy"][0].other = 0.6 },
			map[string]string{cpu500: "FAIL"}},
		{"RSS over", func(b *bench) { b.runs["rate-1000"]["llmservice"][0].peakKiB = 32 << 10 },
			map[string]string{rss: "FAIL"}},
		{"soak growth", func(b *bench) {
			b.soak = &soakResult{rate: 1000, dur: 10 * time.Minute, after: 30 * time.Second, startKiB: 20 << 10, endKiB: 23 << 10}
		}, map[string]string{"llmservice RSS over a 10m0s run at 1000 rps": "FAIL"}},
		{"soak flat", func(b *bench) {
			b.soak = &soakResult{rate: 1000, dur: 10 * time.Minute, after: 30 * time.Second, startKiB: 20 << 10, endKiB: 21 << 10}
		}, map[string]string{"llmservice RSS over a 10m0s run at 1000 rps": "PASS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fakeBench(t)
			tt.change(b)
			got := statuses(b)
			for what, want := range tt.want {
				if got[what] != want {
					t.Errorf("%s: %s; want %s", what, got[what], want)
				}
			}
		})
	}
}

func TestMedian(t *testing.T) {
	ms := []measurement{{cpu: 3}, {cpu: 1}, {cpu: 2}, {cpu: 10}}
	f := func(m measurement) float64 { return float64(m.cpu) }
	if got := median(ms, f); got != 2 {
		t.Errorf("median of 4 = %v; want the lower middle, 2", got)
	}
	if got := median(ms[:3], f); got != 2 {
		t.Errorf("median of 3 = %v; want 2", got)
	}
	if got := median(nil, f); got != 0 {
		t.Errorf("median of none = %v; want 0", got)
	}
}

// TestWriteMarkdownKeepsNotes checks that a rerun replaces the figures but
// not the analysis written by hand below the marker.
func TestWriteMarkdownKeepsNotes(t *testing.T) {
	b := fakeBench(t)
	path := filepath.Join(t.TempDir(), "RESULTS.md")
	const notes = "\n\n## Analysis\n\nJSON decoding is the top cost.\n"
	if err := os.WriteFile(path, []byte("old figures\n"+keepMarker+notes), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.writeMarkdown(path, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	s := string(got)
	if strings.Contains(s, "old figures") {
		t.Error("old figures kept; want them replaced")
	}
	if !strings.HasSuffix(s, keepMarker+notes) {
		t.Errorf("notes lost; file ends %q", s[max(0, len(s)-200):])
	}
	if !strings.Contains(s, "| CPU/request llmservice : proxy at 500 rps | 0.95x") {
		t.Errorf("verdict table missing:\n%s", s)
	}
}
