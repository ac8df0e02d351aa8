package telemetry

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/hostpick"
)

// TraceConfig is the OpenTelemetry setup, read by internal/config from the
// standard OTEL_* variables.
type TraceConfig struct {
	// Endpoint is the full URL of the OTLP/HTTP traces endpoint; empty
	// turns tracing off.
	Endpoint    string
	Headers     map[string]string
	ServiceName string
	// Sampler is an OTEL_TRACES_SAMPLER value; SamplerArg the ratio of the
	// traceidratio samplers.
	Sampler    string
	SamplerArg float64
}

// tracer starts spans and exports them in batches over OTLP/HTTP.
type tracer struct {
	tp   *sdktrace.TracerProvider
	tr   trace.Tracer
	prop propagation.TextMapPropagator
}

func newTracer(cfg TraceConfig, version string) *tracer {
	exp := newExporter(cfg.Endpoint, cfg.Headers)
	name := cfg.ServiceName
	if name == "" {
		name = "llmservice"
	}
	res := resource.NewSchemaless(attribute.String("service.name", name), attribute.String("service.version", version))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res), sdktrace.WithSampler(sampler(cfg)))
	return &tracer{tp: tp, tr: tp.Tracer("github.com/llmservice/llmservice"),
		prop: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
}

// sampler maps OTEL_TRACES_SAMPLER (validated by internal/config).
func sampler(cfg TraceConfig) sdktrace.Sampler {
	ratio := sdktrace.TraceIDRatioBased(cfg.SamplerArg)
	switch cfg.Sampler {
	case "always_on":
		return sdktrace.AlwaysSample()
	case "always_off":
		return sdktrace.NeverSample()
	case "traceidratio":
		return ratio
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample())
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(ratio)
	}
	return sdktrace.ParentBased(sdktrace.AlwaysSample())
}

// genAIProvider maps our provider families to gen_ai.provider.name values
// of the GenAI semantic conventions.
var genAIProvider = map[string]string{
	"openai": "openai", "openai-compatible": "openai", "anthropic": "anthropic",
	"gemini": "gcp.gemini", "ollama": "ollama", "mock": "mock",
}

// operation maps a call's endpoint to gen_ai.operation.name.
func operation(endpoint string) string {
	switch endpoint {
	case "embeddings":
		return "embeddings"
	case "completions", "qcompletions":
		return "text_completion"
	}
	return "chat"
}

// startAttempt starts the client span of one upstream attempt.
func (t *tracer) startAttempt(ctx context.Context, d *hostpick.Deployment, n int, family string) context.Context {
	ctx, _ = t.tr.Start(ctx, "chat "+d.Model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("gen_ai.provider.name", genAIProvider[family]),
		attribute.String("gen_ai.request.model", d.Model),
		attribute.String("llmservice.provider", d.Instance),
		attribute.String("llmservice.deployment", d.ID),
		attribute.Int("llmservice.attempt", n),
	))
	return ctx
}

// endAttempt ends the span startAttempt put in ctx.
func endAttempt(ctx context.Context, err error) {
	span := trace.SpanFromContext(ctx)
	if err != nil {
		kind := llmservice.ErrorKind(err).String()
		span.SetAttributes(attribute.String("error.type", kind))
		span.SetStatus(codes.Error, kind)
	}
	span.End()
}

// transport passes the current span's traceparent upstream.
type transport struct {
	next http.RoundTripper
	prop propagation.TextMapPropagator
}

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if trace.SpanContextFromContext(r.Context()).IsValid() {
		r = r.Clone(r.Context())
		t.prop.Inject(r.Context(), propagation.HeaderCarrier(r.Header))
	}
	return t.next.RoundTrip(r)
}
