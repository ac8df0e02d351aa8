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

// The bar, from issue 17 ("Cheaper than a bare reverse proxy"): llmservice
// with every feature on against a bare httputil.ReverseProxy.
var maxCPURatio = map[float64]float64{ // rate -> llmservice CPU/request over the proxy's
	500:  1.05,
	1000: 1.00,
}

const (
	maxStreamRatio = 1.10 // CPU per stream over the proxy's
	p50Rate        = 100  // the rate at which added p50 may not exceed the proxy's
	maxP99         = 50.0 // ms: the max rate counts only with p99 under this
	maxTTFTDelta   = 0.3  // ms added to a stream's time to first token
	maxRSSMiB      = 32.0 // at rssRate
	rssRate        = 1000
	// maxSoakGrowthMiB is how much RSS may grow between the start and the
	// end of a -soak run: "no growth", less what the heap's pacing moves.
	maxSoakGrowthMiB = 2.0
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
		if s.rate == 0 {
			continue
		}
		l, p := b.get(s.name, llm, cpuPerReq), b.get(s.name, px, cpuPerReq)
		ratio := l / p
		v := verdict{what: fmt.Sprintf("CPU/request llmservice : proxy at %g rps", s.rate),
			got: fmt.Sprintf("%.2fx (%.0f vs %.0f µs)", ratio, l, p), bar: "none", info: true}
		if s.stream {
			v.what = fmt.Sprintf("CPU/stream llmservice : proxy at %g streams/s", s.rate)
			v.bar, v.info, v.pass = fmt.Sprintf("<= %.2fx", maxStreamRatio), false, ratio <= maxStreamRatio
		} else if bar, ok := maxCPURatio[s.rate]; ok {
			v.bar, v.info, v.pass = fmt.Sprintf("<= %.2fx", bar), false, ratio <= bar
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
		v := verdict{info: true, what: fmt.Sprintf("latency added at %g rps (p50 / p99)", s.rate),
			got: fmt.Sprintf("%+.2f / %+.2f ms vs proxy; over direct: llmservice %+.2f / %+.2f ms, proxy %+.2f / %+.2f ms",
				lat(llm, p50)-lat(px, p50), lat(llm, p99)-lat(px, p99),
				lat(llm, p50)-lat(direct, p50), lat(llm, p99)-lat(direct, p99),
				lat(px, p50)-lat(direct, p50), lat(px, p99)-lat(direct, p99)),
			bar: "none"}
		if s.rate == p50Rate {
			// Both add their latency to the same direct figure, so "no more
			// added than the proxy" is llmservice's p50 at most the proxy's.
			v.info, v.bar, v.pass = false, "added p50 <= the proxy's", lat(llm, p50) <= lat(px, p50)
		}
		vs = append(vs, b.caveat(v, s.name, direct, px, llm))
	}
	if i := slices.IndexFunc(b.scenarios, func(s scenario) bool { return s.rate == 0 }); i >= 0 {
		s := b.scenarios[i]
		get := func(t string) (rps, p99 float64) {
			return b.get(s.name, t, func(m measurement) float64 { return m.res.RPS }),
				b.get(s.name, t, func(m measurement) float64 { return m.res.Latency.P99 })
		}
		lr, l99 := get(llm)
		pr, p99 := get(px)
		dr, d99 := get(direct)
		vs = append(vs, b.caveat(verdict{what: fmt.Sprintf("max rate with p99 < %.0f ms (%d workers, closed loop)", maxP99, b.cfg.maxWorkers),
			got: fmt.Sprintf("llmservice %.0f rps (p99 %.2f ms), proxy %.0f rps (p99 %.2f ms), direct %.0f rps (p99 %.2f ms)", lr, l99, pr, p99, dr, d99),
			bar: "llmservice >= the proxy, p99 < 50 ms", pass: l99 < maxP99 && lr >= pr}, s.name, llm, px))
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
	if s := b.soak; s != nil {
		grew := float64(s.endKiB-s.startKiB) / 1024
		v := verdict{what: fmt.Sprintf("llmservice RSS over a %v run at %g rps", s.dur, s.rate),
			got: fmt.Sprintf("%.1f MiB after %v, %.1f MiB at the end (%+.1f MiB: anonymous %+.1f, file-backed %+.1f); peak %.1f MiB; %d errors",
				float64(s.startKiB)/1024, s.after, float64(s.endKiB)/1024, grew, float64(s.endAnon-s.startAnon)/1024,
				float64(s.endFile-s.startFile)/1024, float64(s.peakKiB)/1024, s.res.Errors),
			bar: fmt.Sprintf("growth < %.0f MiB", maxSoakGrowthMiB), pass: grew < maxSoakGrowthMiB && s.res.Errors == 0}
		vs = append(vs, v)
	}
	return vs
}
