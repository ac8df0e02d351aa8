package main

import (
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmservice/llmservice/internal/config"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/telemetry"
)

// newTelemetry builds metrics on reg, the tracer when an OTLP endpoint is
// configured, and the access log: JSON lines on w, whatever
// LLMSERVICE_LOG_FORMAT says, so that log pipelines can parse them.
func newTelemetry(cfg config.Config, reg prometheus.Registerer, instances []gateway.Instance, w io.Writer) (*telemetry.Telemetry, error) {
	families := make(map[string]string, len(instances))
	for _, in := range instances {
		families[in.Name] = in.Family
	}
	tc := cfg.Telemetry
	var access *slog.Logger
	if tc.AccessLogOn() {
		access = slog.New(slog.NewJSONHandler(w, nil))
	}
	return telemetry.New(telemetry.Config{
		Registry:   reg,
		TeamLabels: tc.MetricsTeamLabels,
		AccessLog:  access,
		Families:   families,
		Version:    version,
		Trace: telemetry.TraceConfig{Endpoint: tc.TracesEndpoint, Headers: tc.TracesHeaders, ServiceName: tc.ServiceName,
			Sampler: tc.Sampler, SamplerArg: tc.SamplerRatio()},
	})
}
