package telemetry

import (
	"errors"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/llm"
)

var okRec = llmservice.UsageRecord{Endpoint: "chat", Provider: "openai", TeamID: "t1", KeyID: "k1", Status: 200,
	LatencyMS: 1500, TTFTMS: 200, Stream: true, Cost: 2_500_000, Attempts: 1}

func TestSettled(t *testing.T) {
	tests := []struct {
		name       string
		teamLabels bool
		rec        llmservice.UsageRecord
		u          llm.Usage
		kind       llmservice.Kind
		want       map[string]float64 // series -> value
		refusal    string
	}{{
		name: "stream with cache and reasoning tokens",
		rec:  okRec,
		u:    llm.Usage{PromptTokens: 100, CompletionTokens: 40, CachedTokens: 60, CacheWriteTokens: 10, CacheWrite1hTokens: 5, ReasoningTokens: 30},
		want: map[string]float64{"prompt": 100, "completion": 40, "cache_read": 60, "cache_write": 15, "reasoning": 30,
			"requests": 1, "cost": 0.0025},
	}, {
		name:       "team labels",
		teamLabels: true,
		rec:        okRec,
		u:          llm.Usage{PromptTokens: 1},
		want:       map[string]float64{"prompt": 1, "requests": 1, "cost": 0.0025},
	}, {
		name:    "rate limited before any attempt",
		rec:     llmservice.UsageRecord{Endpoint: "chat", Status: 429},
		kind:    llmservice.RateLimited,
		want:    map[string]float64{"requests": 1},
		refusal: "rate_limit",
	}, {
		name:    "budget",
		rec:     llmservice.UsageRecord{Endpoint: "chat", Status: 429},
		kind:    llmservice.BudgetExceeded,
		want:    map[string]float64{"requests": 1},
		refusal: "budget",
	}, {
		name: "upstream 429 after an attempt is no refusal",
		rec:  llmservice.UsageRecord{Endpoint: "chat", Status: 429, Attempts: 2},
		kind: llmservice.RateLimited,
		want: map[string]float64{"requests": 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m := NewMetrics(reg, tt.teamLabels)
			m.Begin()
			m.Settled(&tt.rec, tt.u, "gpt-4o", tt.kind)
			prov := tt.rec.Provider
			if prov == "" {
				prov = "none"
			}
			tail := []string{"gpt-4o", prov}
			if tt.teamLabels {
				tail = append(tail, "t1", "k1")
			}
			for _, kind := range tokenKinds {
				if got := testutil.ToFloat64(m.tokens.WithLabelValues(append([]string{kind}, tail...)...)); got != tt.want[kind] {
					t.Errorf("tokens{kind=%s} = %v; want %v", kind, got, tt.want[kind])
				}
			}
			req := append([]string{"chat", "gpt-4o", prov, strconv.Itoa(tt.rec.Status)}, tail[2:]...)
			if got := testutil.ToFloat64(m.requests.WithLabelValues(req...)); got != tt.want["requests"] {
				t.Errorf("requests%v = %v; want %v", req, got, tt.want["requests"])
			}
			if got := testutil.ToFloat64(m.cost.WithLabelValues(tail...)); got != tt.want["cost"] {
				t.Errorf("cost = %v; want %v", got, tt.want["cost"])
			}
			for _, r := range []string{"rate_limit", "budget", "credits"} {
				want := 0.0
				if r == tt.refusal {
					want = 1
				}
				if got := testutil.ToFloat64(m.refusals.WithLabelValues(r)); got != want {
					t.Errorf("refusals{%s} = %v; want %v", r, got, want)
				}
			}
			if got := testutil.ToFloat64(m.inFlight); got != 0 {
				t.Errorf("in flight = %v; want 0", got)
			}
			if _, err := reg.Gather(); err != nil {
				t.Errorf("gather: %v", err)
			}
		})
	}
}

func TestAttempt(t *testing.T) {
	m := NewMetrics(nil, false)
	d := &hostpick.Deployment{ID: "openai#2", Instance: "openai"}
	m.Attempt(d, nil)
	m.Attempt(&hostpick.Deployment{ID: "openai#2", Instance: "openai"}, nil) // a reload's copy
	m.Attempt(d, &llmservice.Error{Kind: llmservice.UpstreamTimeout})
	m.Attempt(d, errors.New("plain"))
	for _, tt := range []struct {
		outcome string
		want    float64
	}{{"ok", 2}, {"upstream_timeout", 1}, {"internal", 1}} {
		if got := testutil.ToFloat64(m.attempts.WithLabelValues("openai", "openai#2", tt.outcome)); got != tt.want {
			t.Errorf("attempts{outcome=%s} = %v; want %v", tt.outcome, got, tt.want)
		}
	}
}

// BenchmarkSettled is the metrics' cost per call on the hot path: every
// series of a settled stream (request, latency, TTFT, five token kinds,
// cost) through the cached label tuple.
func BenchmarkSettled(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry(), false)
	u := llm.Usage{PromptTokens: 100, CompletionTokens: 40, CachedTokens: 60, CacheWriteTokens: 10, ReasoningTokens: 30}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		rec := okRec
		for pb.Next() {
			m.Begin()
			m.Settled(&rec, u, "gpt-4o", 0)
		}
	})
}

// BenchmarkSettledSerial is BenchmarkSettled on one goroutine: the cost
// without cache-line contention between cores.
func BenchmarkSettledSerial(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry(), false)
	u := llm.Usage{PromptTokens: 100, CompletionTokens: 40, CachedTokens: 60, CacheWriteTokens: 10, ReasoningTokens: 30}
	rec := okRec
	b.ReportAllocs()
	for b.Loop() {
		m.Begin()
		m.Settled(&rec, u, "gpt-4o", 0)
	}
}

// BenchmarkSettledWithLabelValues is the same recording resolving labels
// per call, as a baseline for the cache.
func BenchmarkSettledWithLabelValues(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry(), false)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.requests.WithLabelValues("chat", "gpt-4o", "openai", "200").Inc()
			m.duration.WithLabelValues("chat", "gpt-4o", "openai").Observe(1.5)
			m.ttft.WithLabelValues("chat", "gpt-4o", "openai").Observe(.2)
			for _, k := range tokenKinds {
				m.tokens.WithLabelValues(k, "gpt-4o", "openai").Add(10)
			}
			m.cost.WithLabelValues("gpt-4o", "openai").Add(.0025)
		}
	})
}

// BenchmarkAttempt is the cost of counting one upstream attempt.
func BenchmarkAttempt(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry(), false)
	d := &hostpick.Deployment{ID: "openai", Instance: "openai"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Attempt(d, nil)
		}
	})
}
