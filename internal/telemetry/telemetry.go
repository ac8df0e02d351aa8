// Package telemetry is what operators watch llmservice with: Prometheus
// metrics of every call, OpenTelemetry traces (a span per request, a child
// span per upstream attempt) and the access log, one JSON line per request.
//
// The gateway reports to it through gateway.Observer at the points every
// call passes (its record starts, its attempts, its settlement); the HTTP
// side wraps the whole server with Handler. With no OTLP endpoint no tracer
// exists: the hot path pays one nil check.
package telemetry

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/llm"
)

// Config wires a Telemetry.
type Config struct {
	// Registry receives the metrics; nil registers nothing.
	Registry prometheus.Registerer
	// TeamLabels adds team and key labels to the call series.
	TeamLabels bool
	Trace      TraceConfig
	// AccessLog, when set, receives one line per HTTP request.
	AccessLog *slog.Logger
	// Families maps provider instance names to their family (openai,
	// anthropic, ...), for gen_ai.provider.name.
	Families map[string]string
	Version  string
}

// Telemetry records metrics, traces and the access log. It implements
// gateway.Observer.
type Telemetry struct {
	Metrics  *Metrics
	tracer   *tracer // nil: tracing off
	access   *slog.Logger
	families map[string]string
}

// New builds a Telemetry; tracing starts only when cfg.Trace.Endpoint is set.
func New(cfg Config) (*Telemetry, error) {
	t := &Telemetry{Metrics: NewMetrics(cfg.Registry, cfg.TeamLabels), access: cfg.AccessLog, families: cfg.Families}
	if cfg.Trace.Endpoint != "" {
		t.tracer = newTracer(cfg.Trace, cfg.Version)
	}
	return t, nil
}

// Tracing reports whether spans are exported.
func (t *Telemetry) Tracing() bool { return t.tracer != nil }

// Shutdown exports the spans still buffered.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t.tracer == nil {
		return nil
	}
	return t.tracer.tp.Shutdown(ctx)
}

// Transport wraps an upstream transport so that each upstream request
// carries the traceparent of its attempt span; without tracing it returns
// rt unchanged.
func (t *Telemetry) Transport(rt http.RoundTripper) http.RoundTripper {
	if t.tracer == nil {
		return rt
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	return transport{next: rt, prop: t.tracer.prop}
}

// Begin notes a call's new usage record: a call in flight, and the record
// the HTTP request's access line and span will describe.
func (t *Telemetry) Begin(ctx context.Context, rec *llmservice.UsageRecord) {
	t.Metrics.Begin()
	if r := requestFrom(ctx); r != nil {
		r.mu.Lock()
		r.recs = append(r.recs, rec)
		r.mu.Unlock()
	}
}

// Settled records a finished call (see Metrics.Settled).
func (t *Telemetry) Settled(rec *llmservice.UsageRecord, u llm.Usage, model string, kind llmservice.Kind) {
	t.Metrics.Settled(rec, u, model, kind)
}

// StartAttempt starts the span of upstream attempt n (from 1) of d.
func (t *Telemetry) StartAttempt(ctx context.Context, d *hostpick.Deployment, n int) context.Context {
	if t.tracer == nil {
		return ctx
	}
	return t.tracer.startAttempt(ctx, d, n, t.families[d.Instance])
}

// EndAttempt counts the attempt and ends its span.
func (t *Telemetry) EndAttempt(ctx context.Context, d *hostpick.Deployment, err error) {
	t.Metrics.Attempt(d, err)
	if t.tracer != nil {
		endAttempt(ctx, err)
	}
}

// FinishReason notes why the answer of the request in ctx ended.
func (t *Telemetry) FinishReason(ctx context.Context, reason string) {
	if r := requestFrom(ctx); r != nil && reason != "" {
		r.mu.Lock()
		r.finish = append(r.finish, reason)
		r.mu.Unlock()
	}
}

// request is what the gateway tells of one HTTP request's calls.
type request struct {
	mu     sync.Mutex
	recs   []*llmservice.UsageRecord
	finish []string
}

type requestKey struct{}

func requestFrom(ctx context.Context) *request {
	r, _ := ctx.Value(requestKey{}).(*request)
	return r
}
