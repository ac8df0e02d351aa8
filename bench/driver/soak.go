package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/llmservice/llmservice/bench/internal/report"
)

// soakResult is a long run at one rate against llmservice alone: does its
// resident set keep growing (a leak, a cache without a bound, a backlog)?
type soakResult struct {
	rate     float64
	dur      time.Duration
	after    time.Duration // when startKiB was read, from the run's start
	startKiB int64         // VmRSS once the process has warmed to the load
	endKiB   int64         // VmRSS as the run ends
	peakKiB  int64         // VmHWM over the run
	// RssAnon and RssFile when startKiB and endKiB were read: whether a
	// growth is heap or newly touched pages of the binary.
	startAnon, startFile, endAnon, endFile int64
	res                                    report.Result
}

// soakRun drives llmservice at rate for d and reads its RSS a little after
// the start (when the heap has grown to its working size) and at the end.
func (b *bench) soakRun(ctx context.Context, rate float64, d time.Duration) (*soakResult, error) {
	var t target
	for _, x := range b.env.targets {
		if x.name == "llmservice" {
			t = x
		}
	}
	s := &soakResult{rate: rate, dur: d, after: min(30*time.Second, d/10)}
	logf("soak: llmservice at %g rps for %v", rate, d)
	if err := resetPeak(t.proc.pid()); err != nil {
		return nil, err
	}
	type out struct {
		m   measurement
		err error
	}
	done := make(chan out, 1)
	go func() {
		m, err := b.load(ctx, t, scenario{rate: rate}, d)
		done <- out{m, err}
	}()
	select {
	case <-time.After(s.after):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var err error
	pid := t.proc.pid()
	if _, s.startKiB, err = memory(pid); err != nil {
		return nil, err
	}
	if s.startAnon, s.startFile, err = rssSplit(pid); err != nil {
		return nil, err
	}
	// The end is read while the load still runs, a second before it
	// stops, so that an idle GC cycle does not flatter the figure. On
	// the way, the split is logged each minute, to see a growth's shape.
	end := time.After(d - s.after - time.Second)
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
wait:
	for {
		select {
		case <-end:
			break wait
		case <-tick.C:
			if anon, file, err := rssSplit(pid); err == nil {
				logf("soak: RssAnon %.1f MiB, RssFile %.1f MiB", float64(anon)/1024, float64(file)/1024)
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if s.peakKiB, s.endKiB, err = memory(pid); err != nil {
		return nil, err
	}
	if s.endAnon, s.endFile, err = rssSplit(pid); err != nil {
		return nil, err
	}
	o := <-done
	if o.err != nil {
		return nil, o.err
	}
	s.res = o.m.res
	logf("soak: RSS %.1f MiB after %v, %.1f MiB at the end, peak %.1f MiB", float64(s.startKiB)/1024, s.after,
		float64(s.endKiB)/1024, float64(s.peakKiB)/1024)
	return s, nil
}

// scrapeMetrics reads llmservice's /metrics once, as a Prometheus server
// would during the run, so that the cost of rendering the metrics counts
// and a broken endpoint fails the run.
func scrapeMetrics(ctx context.Context, addr string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, _ := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK || n == 0 {
		return fmt.Errorf("GET /metrics: %s, %d bytes", resp.Status, n)
	}
	return nil
}
