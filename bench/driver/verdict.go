package main

import (
	"fmt"
	"slices"
)

// verdict compares one figure with the bar llmservice has set itself.
type verdict struct {
	what, got, bar string
	pass           bool
	info           bool // a figure shown for context, with no bar
}

func (v verdict) status() string {
	switch {
	case v.info:
		return "info"
	case v.pass:
		return "PASS"
	}
	return "FAIL"
}

// The bar, from the project brief.
const (
	maxCPURatio   = 1.10 // llmservice CPU/request over the bare proxy's
	minRPS        = 2000 // sustained with p99 under maxP99
	maxP99        = 50.0 // ms
	maxTTFTDelta  = 0.3  // ms added to a stream's time to first token
	maxRSSMiB     = 40.0 // at 1000 rps
	rssRate       = 1000
	cpuRatioRates = "500 and 1000 rps"
)

func cpuPerReq(m measurement) float64 { return m.perReq(m.cpu) }

// noisy is the share of the machine other work used above which a run's
// figures are flagged.
const noisy = 0.25

// caveat marks v when the runs behind it had errors or shared the machine
// with heavy other work: such a figure says little about llmservice, and
// a bar it seems to pass is not passed.
func (b *bench) caveat(v verdict, scenario string, targets ...string) verdict {
	var errs, other, logged float64
	for _, t := range targets {
		errs += b.get(scenario, t, func(m measurement) float64 { return float64(m.res.Errors) })
		other = max(other, b.get(scenario, t, func(m measurement) float64 { return m.other }))
		logged += b.get(scenario, t, func(m measurement) float64 { return float64(m.logBytes) })
	}
	if logged > 0 {
		v.got += fmt.Sprintf("; the servers logged %.0f bytes meanwhile (a log line per request skews CPU)", logged)
	}
	if errs > 0 {
		v.got += fmt.Sprintf("; %.0f failed requests in these runs", errs)
		v.pass = false
	}
	if other > noisy {
		v.got += fmt.Sprintf("; disturbed: other work used %.0f%% of the machine", other*100)
		v.pass = false
	}
	return v
}

// verdicts lists the bar's figures, each computed from the medians of one
// invocation so that proxy and llmservice shared the machine's mood.
func (b *bench) verdicts() []verdict {
	var vs []verdict
	const llm, px, direct = "llmservice", "proxy", "direct"
	for _, s := range b.scenarios {
		if s.rate == 0 || s.stream {
			continue
		}
		l, p := b.get(s.name, llm, cpuPerReq), b.get(s.name, px, cpuPerReq)
		ratio := l / p
		v := verdict{what: fmt.Sprintf("CPU/request llmservice : proxy at %g rps", s.rate),
			got: fmt.Sprintf("%.2fx (%.0f vs %.0f µs)", ratio, l, p), bar: fmt.Sprintf("<= %.2fx at %s", maxCPURatio, cpuRatioRates),
			pass: ratio <= maxCPURatio}
		if s.rate != 500 && s.rate != 1000 {
			v.info = true
		}
		vs = append(vs, b.caveat(v, s.name, llm, px))
		if _, ok := b.runs[s.name][limitsTarget]; ok {
			l := b.get(s.name, limitsTarget, cpuPerReq)
			vs = append(vs, b.caveat(verdict{info: true, what: fmt.Sprintf("CPU/request %s : proxy at %g rps", limitsTarget, s.rate),
				got: fmt.Sprintf("%.2fx (%.0f vs %.0f µs)", l/p, l, p), bar: "none yet"}, s.name, limitsTarget, px))
		}
	}
	for _, s := range b.scenarios {
		if s.rate == 0 || s.stream {
			continue
		}
		lat := func(t string, f func(dist) float64) float64 {
			return b.get(s.name, t, func(m measurement) float64 { return f(m.res.Latency) })
		}
		p50 := func(d dist) float64 { return d.P50 }
		p99 := func(d dist) float64 { return d.P99 }
		vs = append(vs, b.caveat(verdict{info: true, what: fmt.Sprintf("latency added at %g rps (p50 / p99)", s.rate),
			got: fmt.Sprintf("%+.2f / %+.2f ms vs proxy, %+.2f / %+.2f ms vs direct",
				lat(llm, p50)-lat(px, p50), lat(llm, p99)-lat(px, p99), lat(llm, p50)-lat(direct, p50), lat(llm, p99)-lat(direct, p99)),
			bar: "none; the CPU and TTFT bars cover it"}, s.name, direct, px, llm))
	}
	for _, s := range b.scenarios {
		if s.rate < minRPS || s.stream {
			continue
		}
		rps := b.get(s.name, llm, func(m measurement) float64 { return m.res.RPS })
		p99 := b.get(s.name, llm, func(m measurement) float64 { return m.res.Latency.P99 })
		errs := b.get(s.name, llm, func(m measurement) float64 { return float64(m.res.Errors) })
		vs = append(vs, b.caveat(verdict{what: fmt.Sprintf("llmservice at %g rps", s.rate),
			got:  fmt.Sprintf("%.0f rps achieved, p99 %.2f ms, %.0f errors", rps, p99, errs),
			bar:  fmt.Sprintf(">= %d rps with p99 < %.0f ms", minRPS, maxP99),
			pass: rps >= 0.98*s.rate && p99 < maxP99 && errs == 0}, s.name, llm))
	}
	if i := slices.IndexFunc(b.scenarios, func(s scenario) bool { return s.rate == 0 }); i >= 0 {
		s := b.scenarios[i]
		for _, t := range []string{direct, px, llm} {
			rps := b.get(s.name, t, func(m measurement) float64 { return m.res.RPS })
			p99 := b.get(s.name, t, func(m measurement) float64 { return m.res.Latency.P99 })
			vs = append(vs, b.caveat(verdict{info: t != llm, what: fmt.Sprintf("%s max throughput (%d workers)", t, b.cfg.maxWorkers),
				got: fmt.Sprintf("%.0f rps, p99 %.2f ms", rps, p99), bar: fmt.Sprintf(">= %d rps with p99 < %.0f ms", minRPS, maxP99),
				pass: rps >= minRPS && p99 < maxP99}, s.name, t))
		}
	}
	if i := slices.IndexFunc(b.scenarios, func(s scenario) bool { return s.stream }); i >= 0 {
		s := b.scenarios[i]
		t := func(target string, f func(dist) float64) float64 {
			return b.get(s.name, target, ttft(f))
		}
		d50 := t(llm, func(d dist) float64 { return d.P50 }) - t(px, func(d dist) float64 { return d.P50 })
		d99 := t(llm, func(d dist) float64 { return d.P99 }) - t(px, func(d dist) float64 { return d.P99 })
		vs = append(vs, b.caveat(verdict{what: "time to first token added, llmservice - proxy (p50; p99)",
			got: fmt.Sprintf("%+.2f ms; %+.2f ms", d50, d99), bar: fmt.Sprintf("<= +%.1f ms", maxTTFTDelta),
			pass: d50 <= maxTTFTDelta}, s.name, llm, px))
	}
	if slices.ContainsFunc(b.scenarios, func(s scenario) bool { return s.rate == rssRate && !s.stream }) {
		name := fmt.Sprintf("rate-%g", float64(rssRate))
		mib := b.get(name, llm, func(m measurement) float64 { return float64(m.peakKiB) / 1024 })
		pmib := b.get(name, px, func(m measurement) float64 { return float64(m.peakKiB) / 1024 })
		vs = append(vs, b.caveat(verdict{what: fmt.Sprintf("llmservice peak RSS at %d rps", rssRate),
			got: fmt.Sprintf("%.1f MiB (proxy %.1f MiB)", mib, pmib), bar: fmt.Sprintf("< %.0f MiB", maxRSSMiB), pass: mib < maxRSSMiB}, name, llm))
	}
	return vs
}
