package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// doFunc sends one request that was due at start.
type doFunc func(ctx context.Context, start time.Time) sample

// openRun is an open-loop run whose requests have all been sent.
type openRun struct {
	wg      sync.WaitGroup
	samples []sample
	lags    []time.Duration
	last    atomic.Int64 // end of the last completion, ns after the start
}

// openLoop sends rate requests per second for d, each on its own schedule
// whether or not earlier ones have finished, as independent users would.
// A request that would exceed maxInFlight is counted as failed instead of
// sent: past that point the target is down and waiting would only hide it.
// It returns once the last request has left; wait collects the answers.
func openLoop(ctx context.Context, rate float64, d time.Duration, maxInFlight int, do doFunc) *openRun {
	n := int(rate * d.Seconds())
	r := &openRun{samples: make([]sample, n), lags: make([]time.Duration, 0, n)}
	interval := time.Duration(float64(time.Second) / rate)
	var inFlight atomic.Int64
	begin := time.Now()
	for i := range n {
		due := begin.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			// A sleep may overshoot; the requests due meanwhile then go out
			// at once, which keeps the average rate right.
			time.Sleep(w)
		}
		if ctx.Err() != nil {
			r.samples = r.samples[:i]
			break
		}
		r.lags = append(r.lags, time.Since(due))
		if inFlight.Load() >= int64(maxInFlight) {
			r.samples[i] = sample{kind: "overload", msg: "too many requests in flight; the target stopped answering"}
			continue
		}
		inFlight.Add(1)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.samples[i] = do(ctx, due)
			inFlight.Add(-1)
			setMax(&r.last, int64(time.Since(begin)))
		}()
	}
	return r
}

// wait returns every sample, the dispatch lags, and the time from the
// start to the last completion.
func (r *openRun) wait() (samples []sample, lags []time.Duration, elapsed time.Duration) {
	r.wg.Wait()
	return r.samples, r.lags, time.Duration(r.last.Load())
}

// closedLoop runs workers that each send the next request as soon as the
// previous one is done, for d: the throughput ceiling at that concurrency.
// Its latencies are service times, not what users at a fixed rate would see.
func closedLoop(ctx context.Context, workers int, d time.Duration, do doFunc) (samples []sample, elapsed time.Duration) {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		end = time.Now().Add(d)
	)
	begin := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []sample
			for ctx.Err() == nil && time.Now().Before(end) {
				mine = append(mine, do(ctx, time.Now()))
			}
			mu.Lock()
			samples = append(samples, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return samples, time.Since(begin)
}

func setMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}
