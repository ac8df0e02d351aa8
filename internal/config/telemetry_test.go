package config_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice/internal/config"
)

func ratio(f float64) *float64 { return &f }

func TestTelemetryEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config.Telemetry
		wantErr string
	}{{
		name: "defaults",
		want: config.Telemetry{},
	}, {
		name: "metrics and access log",
		env:  map[string]string{"LLMSERVICE_METRICS_TOKEN": "tok", "LLMSERVICE_METRICS_TEAM_LABELS": "true", "LLMSERVICE_ACCESS_LOG": "OFF"},
		want: config.Telemetry{MetricsToken: "tok", MetricsTeamLabels: true, AccessLog: "off"},
	}, {
		name: "generic endpoint gets /v1/traces",
		env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/", "OTEL_SERVICE_NAME": "gw",
			"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25", "OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%20b,x=y"},
		want: config.Telemetry{TracesEndpoint: "http://collector:4318/v1/traces", ServiceName: "gw", Sampler: "parentbased_traceidratio",
			SamplerArg: ratio(0.25), TracesHeaders: map[string]string{"api-key": "a b", "x": "y"}},
	}, {
		name: "traces endpoint wins as is",
		env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b/otlp/traces"},
		want: config.Telemetry{TracesEndpoint: "https://b/otlp/traces"},
	}, {
		name: "SDK disabled",
		env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "true"},
		want: config.Telemetry{},
	}, {
		name:    "unknown sampler",
		env:     map[string]string{"OTEL_TRACES_SAMPLER": "jaeger_remote"},
		wantErr: "OTEL_TRACES_SAMPLER",
	}, {
		name:    "ratio out of range",
		env:     map[string]string{"OTEL_TRACES_SAMPLER_ARG": "2"},
		wantErr: "OTEL_TRACES_SAMPLER_ARG",
	}, {
		name:    "bad endpoint",
		env:     map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "collector:4318"},
		wantErr: "want an http:// or https:// URL",
	}, {
		name:    "bad access log",
		env:     map[string]string{"LLMSERVICE_ACCESS_LOG": "maybe"},
		wantErr: "LLMSERVICE_ACCESS_LOG",
	}, {
		name:    "bad team labels",
		env:     map[string]string{"LLMSERVICE_METRICS_TEAM_LABELS": "yes please"},
		wantErr: "LLMSERVICE_METRICS_TEAM_LABELS",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(nil, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load error = %v; want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.Telemetry); diff != "" {
				t.Errorf("Telemetry mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
