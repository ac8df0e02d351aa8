package storesql

import (
	"fmt"
	"sort"
	"strings"
)

// The rollups keep, beside the sums, a histogram of latencies: how many
// calls of the row took up to each bound. Percentiles over any set of rows
// are then the percentiles of the summed histograms, estimated by linear
// interpolation within a bucket, so a dashboard's p50 and p95 read the same
// few thousand rows as its totals. Buckets are about 1.5x wide where LLM
// calls fall (100 ms to 20 s), so an estimate is off by at most a bucket's
// width and usually by far less.

// LatencyBuckets is the number of buckets of the latency histogram.
const LatencyBuckets = 20

// LatencyBounds are the inclusive upper bounds, in milliseconds, of every
// bucket but the last, which counts the calls slower than the last bound.
var LatencyBounds = [LatencyBuckets - 1]int{5, 10, 25, 50, 100, 150, 250, 400, 600, 800,
	1000, 1500, 2000, 3000, 5000, 8000, 13000, 20000, 40000}

// LatencyHistogram counts calls per latency bucket.
type LatencyHistogram [LatencyBuckets]int64

// LatencyBucket returns the bucket of a latency in milliseconds.
func LatencyBucket(ms int) int {
	return sort.SearchInts(LatencyBounds[:], ms)
}

// Add counts one call.
func (h *LatencyHistogram) Add(ms int) { h[LatencyBucket(ms)]++ }

// Merge adds o to h.
func (h *LatencyHistogram) Merge(o *LatencyHistogram) {
	for i := range h {
		h[i] += o[i]
	}
}

// Count is the number of calls counted.
func (h *LatencyHistogram) Count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile estimates the q-quantile (0 < q <= 1) in milliseconds: the
// bucket holding the call of rank q*count, and a linear interpolation
// within it. The last bucket has no upper bound: a quantile there is its
// lower bound. 0 when nothing was counted.
func (h *LatencyHistogram) Quantile(q float64) float64 {
	n := h.Count()
	if n == 0 {
		return 0
	}
	rank := q * float64(n)
	var cum float64
	for i, c := range h {
		if c == 0 || cum+float64(c) < rank {
			cum += float64(c)
			continue
		}
		lower := 0.0
		if i > 0 {
			lower = float64(LatencyBounds[i-1])
		}
		if i == LatencyBuckets-1 {
			return lower
		}
		upper := float64(LatencyBounds[i])
		return lower + (rank-cum)/float64(c)*(upper-lower)
	}
	return float64(LatencyBounds[LatencyBuckets-2])
}

// latencyColumn names bucket i's column in the rollups.
func latencyColumn(i int) string { return fmt.Sprintf("lat_%02d", i) }

// LatencyColumns are the histogram's columns in bucket order, comma-separated.
var LatencyColumns = func() string {
	cs := make([]string, LatencyBuckets)
	for i := range cs {
		cs[i] = latencyColumn(i)
	}
	return strings.Join(cs, ", ")
}()

// latencySums sums each histogram column: "sum(lat_00) AS lat_00, ...".
var latencySums = func() string {
	cs := make([]string, LatencyBuckets)
	for i := range cs {
		cs[i] = "sum(" + latencyColumn(i) + ") AS " + latencyColumn(i)
	}
	return strings.Join(cs, ", ")
}()

// latencyUpsert adds each histogram column of excluded to r's on conflict.
var latencyUpsert = func() string {
	cs := make([]string, LatencyBuckets)
	for i := range cs {
		c := latencyColumn(i)
		cs[i] = c + " = r." + c + " + excluded." + c
	}
	return strings.Join(cs, ",\n\t")
}()
