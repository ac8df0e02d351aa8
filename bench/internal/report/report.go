// Package report is what the load generator prints and the driver reads:
// one JSON Result per run, with latency distributions in milliseconds.
package report

import (
	"math"
	"slices"
	"time"
)

// Result is one load run against one target.
type Result struct {
	Target      string  `json:"target"`
	URL         string  `json:"url"`
	Mode        string  `json:"mode"` // "open" (fixed rate) or "max" (closed loop)
	Stream      bool    `json:"stream"`
	Rate        float64 `json:"rate,omitempty"`        // requests per second asked for (open)
	Concurrency int     `json:"concurrency,omitempty"` // workers (max)
	Duration    float64 `json:"duration_s"`            // as configured
	Elapsed     float64 `json:"elapsed_s"`             // first send to last completion
	Sent        int     `json:"sent"`
	OK          int     `json:"ok"`
	Errors      int     `json:"errors"`
	// ErrorKinds counts failures by kind ("status 401", "transport", ...);
	// ErrorSamples keeps the first message of each kind.
	ErrorKinds   map[string]int    `json:"error_kinds,omitempty"`
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	RPS          float64           `json:"rps"` // successful requests per second of Elapsed
	// Latency is measured from the time a request was scheduled to be sent
	// (open loop) so that a stall in the target delays the clock of every
	// request queued behind it: no coordinated omission.
	Latency Dist `json:"latency_ms"`
	// Service is measured from the moment the request was actually sent.
	// It differs from Latency by the generator's timer slack (Go sleeps
	// wake on a ~1 ms tick here) and by any lag when the generator is
	// short of CPU; it is the cleaner figure for subtracting two targets.
	Service Dist `json:"service_ms"`
	// TTFT is the time to the first chunk carrying content (streams only).
	TTFT *Dist `json:"ttft_ms,omitempty"`
	// DispatchLag is how late the generator sent requests against its
	// schedule; a large value means the generator, not the target, was
	// short of CPU.
	DispatchLag *Dist `json:"dispatch_lag_ms,omitempty"`
}

// Dist summarises a set of durations, in milliseconds.
type Dist struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// Summarize computes the distribution of ds; it sorts ds in place.
func Summarize(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Dist{
		N:    len(ds),
		Mean: ms(sum / time.Duration(len(ds))),
		P50:  ms(Percentile(ds, 0.50)),
		P90:  ms(Percentile(ds, 0.90)),
		P99:  ms(Percentile(ds, 0.99)),
		P999: ms(Percentile(ds, 0.999)),
		Max:  ms(ds[len(ds)-1]),
	}
}

// Percentile returns the nearest-rank percentile p (0 < p <= 1) of sorted
// ds: the smallest value that at least p of the values do not exceed.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/1e3) / 1e3 // microsecond precision
}
