package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/llmservice/llmservice/bench/internal/report"
)

// scenario is one load shape, run against every target.
type scenario struct {
	name   string
	title  string
	rate   float64 // open loop; 0 means closed loop at max throughput
	stream bool
}

// measurement is one run of one scenario against one target.
type measurement struct {
	res report.Result
	// cpu is the target process's CPU time over the run and the settle
	// pause; upCPU the mock upstream's (the same as cpu for direct);
	// loadCPU the generator's.
	cpu, upCPU, loadCPU time.Duration
	peakKiB, endKiB     int64 // VmHWM since the run started, VmRSS after it
	// other is the share of the machine's CPU that processes other than
	// ours used during the run: the noise the figures carry.
	other float64
	// logBytes is what the target wrote to its log meanwhile: at level
	// warn a healthy run writes nothing, and a log line per request is
	// both a bug and a cost that would skew the figures.
	logBytes int64
}

// perReq is d per successful request, in microseconds.
func (m measurement) perReq(d time.Duration) float64 {
	if m.res.OK == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(m.res.OK)
}

// bench holds the runs of one invocation.
type bench struct {
	cfg       config
	dir       string
	env       *environment
	scenarios []scenario
	// runs[scenario][target] holds one measurement per round.
	runs map[string]map[string][]measurement
	seq  int // runs so far, to name their saved reports
	soak *soakResult
}

func (b *bench) plan() {
	for _, r := range b.cfg.rates {
		b.scenarios = append(b.scenarios, scenario{name: fmt.Sprintf("rate-%g", r), title: fmt.Sprintf("%g rps, fixed rate", r), rate: r})
	}
	b.scenarios = append(b.scenarios, scenario{name: "max", title: fmt.Sprintf("max throughput, %d workers, closed loop", b.cfg.maxWorkers)})
	if b.cfg.streamRate > 0 {
		b.scenarios = append(b.scenarios, scenario{name: "stream", title: fmt.Sprintf("streams at %g rps, %v to first token upstream", b.cfg.streamRate, b.cfg.firstDelay), rate: b.cfg.streamRate, stream: true})
	}
}

// measureAll warms every target up, then runs each scenario against the
// three targets back to back, so that the figures compared come from the
// same minute of a machine whose speed drifts.
func (b *bench) measureAll(ctx context.Context) error {
	b.plan()
	b.runs = map[string]map[string][]measurement{}
	for _, t := range b.env.targets {
		logf("warm-up %s", t.name)
		if _, err := b.load(ctx, t, scenario{rate: 500}, b.cfg.warmup); err != nil {
			return err
		}
		if _, err := b.load(ctx, t, scenario{rate: 100, stream: true}, b.cfg.warmup/2); err != nil {
			return err
		}
	}
	for _, s := range b.scenarios {
		b.runs[s.name] = map[string][]measurement{}
		for round := range b.cfg.rounds {
			for i := range b.env.targets {
				// Odd rounds go back to front, so that neither proxy nor
				// llmservice always runs right after the other.
				t := b.env.targets[i]
				if round%2 == 1 {
					t = b.env.targets[len(b.env.targets)-1-i]
				}
				m, err := b.measure(ctx, t, s)
				if err != nil {
					return err
				}
				b.runs[s.name][t.name] = append(b.runs[s.name][t.name], m)
			}
		}
	}
	return nil
}

// measure runs s against t and reads the processes' CPU and memory around it.
func (b *bench) measure(ctx context.Context, t target, s scenario) (measurement, error) {
	if b.cfg.quiet < 1 {
		if _, err := waitQuiet(ctx, b.cfg.quiet, b.cfg.quietWait); err != nil {
			return measurement{}, err
		}
	}
	servers := []*proc{b.env.upstream, b.env.proxy, b.env.llm}
	if err := resetPeak(t.proc.pid()); err != nil {
		return measurement{}, fmt.Errorf("reset peak RSS: %w", err)
	}
	before, err := b.snapshot(servers)
	if err != nil {
		return measurement{}, err
	}
	log0 := fileSize(t.proc.log)
	d := b.cfg.dur
	if s.rate == 0 {
		d = b.cfg.maxDur
	}
	scraped := make(chan error, 1)
	if t.proc == b.env.llm {
		// Prometheus scrapes while traffic flows: once, mid-run.
		go func() {
			select {
			case <-time.After(d / 2):
				scraped <- scrapeMetrics(ctx, t.proc.addr)
			case <-ctx.Done():
				scraped <- nil
			}
		}()
	} else {
		scraped <- nil
	}
	run, err := b.load(ctx, t, s, d)
	if err != nil {
		return measurement{}, err
	}
	if err := <-scraped; err != nil {
		return measurement{}, fmt.Errorf("%s: %w", t.name, err)
	}
	b.seq++
	if raw, err := json.Marshal(run.res); err == nil {
		// Kept with -keep, for a second look at a strange figure.
		os.WriteFile(filepath.Join(b.dir, fmt.Sprintf("%02d-%s-%s.json", b.seq, s.name, t.name)), raw, 0o644)
	}
	time.Sleep(b.cfg.settle)
	after, err := b.snapshot(servers)
	if err != nil {
		return measurement{}, err
	}
	hwm, rss, err := memory(t.proc.pid())
	if err != nil {
		return measurement{}, fmt.Errorf("read /proc of %s: %w", t.name, err)
	}
	ours := run.loadCPU
	for i, p := range servers {
		d := after.cpu[i] - before.cpu[i]
		ours += d
		if p == t.proc {
			run.cpu = d
		}
		if p == b.env.upstream {
			run.upCPU = d
		}
	}
	run.peakKiB, run.endKiB = hwm, rss
	if run.logBytes = fileSize(t.proc.log) - log0; run.logBytes > 0 {
		logf("  %s %s: the target wrote %d bytes of log during the run; see %s", s.name, t.name, run.logBytes, t.proc.log)
	}
	run.other = share(before.sys, after.sys, ours)
	if run.res.Errors > 0 {
		logf("  %s %s: %d errors: %v %v", s.name, t.name, run.res.Errors, run.res.ErrorKinds, run.res.ErrorSamples)
	}
	if run.other > 0.25 {
		logf("  %s %s: other work used %.0f%% of the machine during the run", s.name, t.name, run.other*100)
	}
	return run, nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// snapshot is the CPU time of our servers and of the whole machine.
type snapshot struct {
	cpu []time.Duration
	sys sysCPU
}

func (b *bench) snapshot(ps []*proc) (snapshot, error) {
	var s snapshot
	for _, p := range ps {
		d, err := cpuTime(p.pid())
		if err != nil {
			return s, fmt.Errorf("read /proc of %s: %w", p.name, err)
		}
		s.cpu = append(s.cpu, d)
	}
	var err error
	s.sys, err = readSysCPU()
	return s, err
}

// load runs the generator as its own process, so that its CPU is neither
// the driver's nor the target's, and returns its report.
func (b *bench) load(ctx context.Context, t target, s scenario, d time.Duration) (measurement, error) {
	args := []string{"-url", t.url, "-label", t.name, "-key", t.key, "-d", d.String()}
	if s.rate > 0 {
		args = append(args, "-rate", strconv.FormatFloat(s.rate, 'f', -1, 64))
	} else {
		args = append(args, "-c", strconv.Itoa(b.cfg.maxWorkers))
	}
	if s.stream {
		args = append(args, "-stream")
	}
	cmd := exec.CommandContext(ctx, b.env.loadBin, args...)
	cmd.Env = os.Environ()
	if b.cfg.loadProcs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(b.cfg.loadProcs))
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return measurement{}, fmt.Errorf("load %v: %w", args, err)
	}
	var m measurement
	if err := json.Unmarshal(out.Bytes(), &m.res); err != nil {
		return m, fmt.Errorf("load output: %w", err)
	}
	m.loadCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return m, nil
}
