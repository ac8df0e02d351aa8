package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Telemetry configures metrics, traces and the access log.
type Telemetry struct {
	// MetricsToken, when set, is the bearer token /metrics requires
	// (LLMSERVICE_METRICS_TOKEN).
	MetricsToken string `yaml:"metrics_token"`
	// MetricsTeamLabels adds team and key labels to the call series
	// (LLMSERVICE_METRICS_TEAM_LABELS): one series per key, so off by
	// default.
	MetricsTeamLabels bool `yaml:"metrics_team_labels"`
	// AccessLog is "on" (the default when empty) or "off"
	// (LLMSERVICE_ACCESS_LOG).
	AccessLog string `yaml:"access_log"`
	// TracesEndpoint is the OTLP/HTTP URL spans are posted to: from
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, or
	// OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces". Empty: no tracing.
	TracesEndpoint string `yaml:"traces_endpoint"`
	// TracesHeaders are sent with every export (OTEL_EXPORTER_OTLP_HEADERS
	// and OTEL_EXPORTER_OTLP_TRACES_HEADERS, "k=v,k2=v2").
	TracesHeaders map[string]string `yaml:"traces_headers"`
	// ServiceName is service.name (OTEL_SERVICE_NAME, default llmservice).
	ServiceName string `yaml:"service_name"`
	// Sampler and SamplerArg are OTEL_TRACES_SAMPLER and
	// OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on; ratio 1).
	Sampler    string   `yaml:"traces_sampler"`
	SamplerArg *float64 `yaml:"traces_sampler_arg"`
}

// SamplerRatio is SamplerArg or, unset, the specification's default 1.
func (t Telemetry) SamplerRatio() float64 {
	if t.SamplerArg == nil {
		return 1
	}
	return *t.SamplerArg
}

// AccessLogOn reports whether the access log is written.
func (t Telemetry) AccessLogOn() bool { return t.AccessLog != "off" }

// samplers are the OTEL_TRACES_SAMPLER values llmservice implements.
var samplers = []string{"always_on", "always_off", "traceidratio",
	"parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"}

func (t *Telemetry) applyEnv(getenv func(string) string) error {
	if v := getenv("LLMSERVICE_METRICS_TOKEN"); v != "" {
		t.MetricsToken = v
	}
	if v := getenv("LLMSERVICE_METRICS_TEAM_LABELS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("LLMSERVICE_METRICS_TEAM_LABELS=%q: want true or false", v)
		}
		t.MetricsTeamLabels = b
	}
	if v := getenv("LLMSERVICE_ACCESS_LOG"); v != "" {
		t.AccessLog = strings.ToLower(v)
	}
	if v := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v != "" {
		t.TracesEndpoint = v
	} else if v := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); v != "" {
		t.TracesEndpoint = strings.TrimRight(v, "/") + "/v1/traces"
	}
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		t.TracesEndpoint = ""
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		if v := getenv(name); v != "" {
			h, err := parseHeaders(v)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if t.TracesHeaders == nil {
				t.TracesHeaders = map[string]string{}
			}
			for k, v := range h {
				t.TracesHeaders[k] = v
			}
		}
	}
	if v := getenv("OTEL_SERVICE_NAME"); v != "" {
		t.ServiceName = v
	}
	if v := getenv("OTEL_TRACES_SAMPLER"); v != "" {
		t.Sampler = strings.ToLower(v)
	}
	if v := getenv("OTEL_TRACES_SAMPLER_ARG"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q: want a ratio from 0 to 1", v)
		}
		t.SamplerArg = &f
	}
	return nil
}

// validate checks the settings applyEnv and YAML set.
func (t *Telemetry) validate() error {
	switch t.AccessLog {
	case "", "on", "off":
	default:
		return fmt.Errorf("access_log (LLMSERVICE_ACCESS_LOG): %q; expected on or off", t.AccessLog)
	}
	if t.Sampler != "" && !contains(samplers, t.Sampler) {
		return fmt.Errorf("OTEL_TRACES_SAMPLER: %q; expected one of %s", t.Sampler, strings.Join(samplers, ", "))
	}
	if r := t.SamplerRatio(); r < 0 || r > 1 {
		return fmt.Errorf("OTEL_TRACES_SAMPLER_ARG: %v; expected a ratio from 0 to 1", r)
	}
	if t.TracesEndpoint != "" {
		u, err := url.Parse(t.TracesEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("OTLP traces endpoint %q: want an http:// or https:// URL", t.TracesEndpoint)
		}
	}
	return nil
}

// parseHeaders reads the OTLP "k=v,k2=v2" header list (values URL-encoded).
func parseHeaders(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range splitList(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%q is not key=value", kv)
		}
		if dv, err := url.QueryUnescape(strings.TrimSpace(v)); err == nil {
			v = dv
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
