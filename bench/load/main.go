// Command load is the benchmark load generator. With -rate it is open loop:
// requests leave on a fixed schedule and latency counts from the schedule,
// so a slow target cannot slow the generator down and hide its own stalls
// (coordinated omission). With -rate 0 it is closed loop: -c workers send
// back to back, which finds the throughput ceiling.
//
// It prints one JSON report.Result on stdout and a one-line summary on
// stderr.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/llmservice/llmservice/bench/internal/report"
)

func main() {
	var (
		url         = flag.String("url", "", "full URL, e.g. http://127.0.0.1:8080/v1/chat/completions")
		label       = flag.String("label", "", "target name for the report")
		rate        = flag.Float64("rate", 0, "requests per second (open loop); 0 runs closed loop at max throughput")
		workers     = flag.Int("c", 64, "workers in closed-loop mode")
		d           = flag.Duration("d", 10*time.Second, "how long to send")
		stream      = flag.Bool("stream", false, "ask for an SSE stream and measure time to first content chunk")
		model       = flag.String("model", "gpt-4o-mini", "model in the request body")
		key         = flag.String("key", "", "bearer token")
		body        = flag.String("body", "", "request body (JSON); replaces the default chat request")
		timeout     = flag.Duration("timeout", 30*time.Second, "per-request timeout")
		maxInFlight = flag.Int("max-in-flight", 20000, "open loop: requests in flight beyond which new ones fail as overload")
	)
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "load: -url is required")
		os.Exit(2)
	}
	q := &requester{hc: newClient(), url: *url, stream: *stream, timeout: *timeout, body: []byte(*body)}
	if *body == "" {
		q.body = chatBody(*model, *stream)
	}
	if *key != "" {
		q.auth = []string{"Bearer " + *key}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	res := report.Result{Target: *label, URL: *url, Stream: *stream, Duration: d.Seconds()}
	var (
		samples []sample
		elapsed time.Duration
	)
	if *rate > 0 {
		var lags []time.Duration
		samples, lags, elapsed = openLoop(ctx, *rate, *d, *maxInFlight, q.do).wait()
		res.Mode, res.Rate = "open", *rate
		lag := report.Summarize(lags)
		res.DispatchLag = &lag
	} else {
		samples, elapsed = closedLoop(ctx, *workers, *d, q.do)
		res.Mode, res.Concurrency = "max", *workers
	}
	summarize(&res, samples, elapsed)

	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "%s %s: %d ok %d errors, %.0f rps, p50 %.2f p99 %.2f max %.2f ms\n",
		res.Target, res.Mode, res.OK, res.Errors, res.RPS, res.Latency.P50, res.Latency.P99, res.Latency.Max)
}

// chatBody is the request every target gets, byte for byte. Streams ask for
// usage, as llmservice itself does upstream, so all three paths carry the
// same frames.
func chatBody(model string, stream bool) []byte {
	m := map[string]any{
		"model":      model,
		"messages":   []map[string]string{{"role": "user", "content": "Say hello to the benchmark."}},
		"max_tokens": 16,
	}
	if stream {
		m["stream"] = true
		m["stream_options"] = map[string]bool{"include_usage": true}
	}
	b, _ := json.Marshal(m)
	return b
}

// summarize fills res from the samples of one run.
func summarize(res *report.Result, samples []sample, elapsed time.Duration) {
	lat := make([]time.Duration, 0, len(samples))
	svc := make([]time.Duration, 0, len(samples))
	var ttft []time.Duration
	for _, s := range samples {
		if s.kind != "" {
			if res.ErrorKinds == nil {
				res.ErrorKinds, res.ErrorSamples = map[string]int{}, map[string]string{}
			}
			if res.ErrorKinds[s.kind]++; res.ErrorKinds[s.kind] == 1 {
				res.ErrorSamples[s.kind] = s.msg
			}
			continue
		}
		lat = append(lat, s.lat)
		svc = append(svc, s.svc)
		if res.Stream {
			ttft = append(ttft, s.ttft)
		}
	}
	res.Sent, res.OK, res.Errors = len(samples), len(lat), len(samples)-len(lat)
	res.Elapsed = elapsed.Seconds()
	if elapsed > 0 {
		res.RPS = float64(res.OK) / elapsed.Seconds()
	}
	res.Latency = report.Summarize(lat)
	res.Service = report.Summarize(svc)
	if res.Stream {
		t := report.Summarize(ttft)
		res.TTFT = &t
	}
}
