package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// profile is what perf saw of one process under load.
type profile struct {
	target   string
	rate     float64
	other    float64 // share of the machine other work used meanwhile
	achieved float64 // requests per second the load reached
	samples  int
	flat     []string // perf report lines, self time
	cum      []string // perf report lines, self plus callees
	packages []pkgShare
}

type pkgShare struct {
	pkg string
	pct float64
}

type profiles struct{ list []profile }

// profileAll records llmservice and the proxy with Linux perf at the
// highest fixed rate. perf samples the real binary from outside, so
// nothing in llmservice has to change (it has no pprof endpoint), and
// Go's frame pointers give perf whole call stacks. These runs are not the
// measured ones: perf costs the process a little.
func (b *bench) profileAll(ctx context.Context) (*profiles, error) {
	if _, err := exec.LookPath("perf"); err != nil {
		return nil, fmt.Errorf("perf not installed")
	}
	sc := scenario{rate: slices.Max(b.cfg.rates)}
	if b.cfg.profileStream {
		sc = scenario{rate: b.cfg.streamRate, stream: true}
	}
	ps := &profiles{}
	for _, t := range b.env.targets[1:3] { // proxy and llmservice
		p, err := b.profileOne(ctx, t, sc)
		if err != nil {
			return ps, err
		}
		ps.list = append(ps.list, p)
	}
	return ps, nil
}

func (b *bench) profileOne(ctx context.Context, t target, sc scenario) (profile, error) {
	rate := sc.rate
	data := filepath.Join(b.dir, t.name+".perf.data")
	if b.cfg.quiet < 1 {
		if _, err := waitQuiet(ctx, b.cfg.quiet, b.cfg.quietWait); err != nil {
			return profile{}, err
		}
	}
	logf("profiling %s at %g rps for %v", t.name, rate, b.cfg.profileDur)
	before, err := b.snapshot([]*proc{b.env.upstream, b.env.proxy, b.env.llm})
	if err != nil {
		return profile{}, err
	}
	// cpu-clock works in VMs, where the hardware cycle counter often is
	// not exposed.
	rec := exec.CommandContext(ctx, "perf", "record", "-e", "cpu-clock", "-F", "1999", "-g",
		"-p", strconv.Itoa(t.proc.pid()), "-o", data, "--", "sleep", fmt.Sprint((b.cfg.profileDur + time.Second).Seconds()))
	if err := rec.Start(); err != nil {
		return profile{}, err
	}
	time.Sleep(300 * time.Millisecond) // let perf attach before the load starts
	m, err := b.load(ctx, t, sc, b.cfg.profileDur)
	if err != nil {
		return profile{}, err
	}
	after, err := b.snapshot([]*proc{b.env.upstream, b.env.proxy, b.env.llm})
	if err != nil {
		return profile{}, err
	}
	if err := rec.Wait(); err != nil {
		return profile{}, fmt.Errorf("perf record: %w", err)
	}
	ours := m.loadCPU
	for i := range after.cpu {
		ours += after.cpu[i] - before.cpu[i]
	}
	p := profile{target: t.name, rate: rate, other: share(before.sys, after.sys, ours), achieved: m.res.RPS}
	all, err := perfReport(ctx, data, "--no-children", "-F", "overhead,sample,sym")
	if err != nil {
		return p, err
	}
	for _, l := range all {
		pct, _, n, ok := parseFlatLine(l)
		if !ok {
			continue
		}
		p.samples += n
		if pct >= 0.6 {
			p.flat = append(p.flat, l)
		}
	}
	p.packages = byPackage(all)
	cum, err := perfReport(ctx, data, "--children", "--sort", "sym", "--percent-limit", "1")
	if err != nil {
		return p, err
	}
	// The kernel's network stack fills the top of the cumulative list the
	// same way for every Go server; the Go frames below it are the ones a
	// change to llmservice can move.
	for _, l := range cum {
		if strings.Contains(l, "[.]") {
			p.cum = append(p.cum, l)
		}
	}
	os.WriteFile(filepath.Join(b.dir, t.name+".perf.txt"), []byte(strings.Join(all, "\n")), 0o644)
	return p, nil
}

// perfReport returns perf's per-symbol lines, without the header.
func perfReport(ctx context.Context, data string, args ...string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "perf", append([]string{"report", "-i", data, "--stdio", "-g", "none"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("perf report: %w", err)
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// Newer perf appends IPC columns that are "-" without hardware
		// counters.
		l := strings.TrimRight(strings.TrimRight(sc.Text(), " -"), " ")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		lines = append(lines, l)
	}
	return lines, nil
}

// byPackage adds up self time per Go package, the quickest way to see
// whether JSON, HTTP, the GC or the kernel dominates.
func byPackage(lines []string) []pkgShare {
	sum := map[string]float64{}
	for _, l := range lines {
		pct, sym, _, ok := parseFlatLine(l)
		if ok {
			sum[goPackage(sym)] += pct
		}
	}
	var out []pkgShare
	for k, v := range sum {
		out = append(out, pkgShare{k, v})
	}
	slices.SortFunc(out, func(a, b pkgShare) int {
		if a.pct != b.pct {
			if a.pct > b.pct {
				return -1
			}
			return 1
		}
		return strings.Compare(a.pkg, b.pkg)
	})
	return out
}

// parseFlatLine reads "    12.34%   567  [.] runtime.mallocgc", the sample
// count being optional; kernel symbols ([k]) are all named "[kernel]".
func parseFlatLine(l string) (pct float64, sym string, samples int, ok bool) {
	f := strings.Fields(l)
	if len(f) < 3 || !strings.HasSuffix(f[0], "%") {
		return 0, "", 0, false
	}
	pct, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "%"), 64)
	if err != nil {
		return 0, "", 0, false
	}
	f = f[1:]
	if n, err := strconv.Atoi(f[0]); err == nil {
		samples, f = n, f[1:]
	}
	if len(f) < 2 {
		return 0, "", 0, false
	}
	if f[0] == "[k]" {
		return pct, "[kernel]", samples, true
	}
	return pct, strings.Join(f[1:], " "), samples, true
}

// goPackage returns the import path of a Go symbol: the text up to the
// first dot after the last slash, ignoring type arguments and receivers.
func goPackage(sym string) string {
	switch {
	case sym == "[kernel]":
		return "kernel"
	case strings.HasPrefix(sym, "__vdso"):
		return "vdso (clock reads)"
	case strings.HasPrefix(sym, "0x") || strings.HasPrefix(sym, "["):
		return "unknown"
	case !strings.Contains(sym, "."):
		return "runtime (assembly)" // memeqbody, aeshashbody, ...
	}
	s := sym
	if i := strings.IndexAny(s, "[("); i >= 0 {
		s = s[:i]
	}
	start := strings.LastIndexByte(s, '/') + 1
	if j := strings.IndexByte(s[start:], '.'); j >= 0 {
		s = s[:start+j]
	}
	return strings.TrimPrefix(s, "github.com/llmservice/llmservice/")
}
