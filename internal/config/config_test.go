package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice/internal/config"
)

// env returns a getenv over a fixed map, so tests never read the real
// environment.
func env(kv ...string) func(string) string {
	m := make(map[string]string)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// writeFile writes a YAML file in a temporary directory and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "llmservice.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	got, err := config.Load(nil, env())
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if diff := cmp.Diff(config.Defaults(), got); diff != "" {
		t.Errorf("Load() with nothing set mismatch (-want +got):\n%s", diff)
	}
	want := config.Config{Addr: ":8080", DatabaseURL: "./data/llmservice.db", BodyLimit: 16 << 20,
		RequestTimeout: 10 * time.Minute, ShutdownTimeout: 30 * time.Second, LogLevel: "info", LogFormat: "text",
		StaleKeyGrace: 15 * time.Minute, ResponseCacheBytes: 64 << 20, BodyBytesInFlight: 256 << 20, ReadTimeout: time.Minute, WriteTimeout: time.Minute,
		UpstreamBodyLimit: 64 << 20, UpstreamHTTP1: true,
	}
	want.JWT.AccessTTL, want.JWT.RefreshTTL = 5*time.Minute, 24*time.Hour
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults mismatch (-want +got):\n%s", diff)
	}
}

const fileYAML = `
addr: ":7000"
database_url: /var/lib/llmservice/db.sqlite
admin_key: ${ADMIN_KEY}
body_limit: 1048576
write_timeout: 2m
max_requests_in_flight: 500
upstream_http1: false
request_timeout: 90s
shutdown_timeout: 5s
log_level: debug
log_format: json
disable_mock: true
providers:
  - name: openai
    type: openai
    api_key: ${OPENAI_KEY}
    models: [gpt-4o-mini, gpt-4o]
  - name: vllm
    type: openai-compatible
    base_url: http://${VLLM_HOST}:8000/v1
    headers:
      X-Org: team-a
  - name: local
    type: ollama
    hosts: [http://a:11434, http://b:11434]
`

func TestYAMLFileWithEnvExpansion(t *testing.T) {
	path := writeFile(t, fileYAML)
	got, err := config.Load([]string{"-config", path}, env("ADMIN_KEY", "adm-1", "OPENAI_KEY", "sk-1", "VLLM_HOST", "gpu1"))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	want := config.Config{
		Addr: ":7000", DatabaseURL: "/var/lib/llmservice/db.sqlite", AdminKey: "adm-1", BodyLimit: 1 << 20,
		RequestTimeout: 90 * time.Second, ShutdownTimeout: 5 * time.Second, LogLevel: "debug", LogFormat: "json",
		DisableMock: true, ConfigFile: path,
		StaleKeyGrace: 15 * time.Minute, ResponseCacheBytes: 64 << 20, BodyBytesInFlight: 256 << 20, ReadTimeout: time.Minute,
		WriteTimeout: 2 * time.Minute, UpstreamBodyLimit: 64 << 20, MaxRequestsInFlight: 500,
		Providers: []config.Provider{
			{Name: "openai", Type: config.TypeOpenAI, APIKey: "sk-1", Models: []string{"gpt-4o-mini", "gpt-4o"}},
			{Name: "vllm", Type: config.TypeOpenAICompatible, BaseURL: "http://gpu1:8000/v1", Headers: map[string]string{"X-Org": "team-a"}},
			{Name: "local", Type: config.TypeOllama, Hosts: []string{"http://a:11434", "http://b:11434"}},
		},
	}
	want.JWT.AccessTTL, want.JWT.RefreshTTL = 5*time.Minute, 24*time.Hour
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load() mismatch (-want +got):\n%s", diff)
	}
}

// LLMSERVICE_CONFIG names the file when no flag does.
func TestConfigFileFromEnv(t *testing.T) {
	path := writeFile(t, "addr: \":7001\"\n")
	got, err := config.Load(nil, env("LLMSERVICE_CONFIG", path))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if got.Addr != ":7001" || got.ConfigFile != path {
		t.Errorf("Addr, ConfigFile = %q, %q; want :7001, %q", got.Addr, got.ConfigFile, path)
	}
	flagPath := writeFile(t, "addr: \":7002\"\n")
	got, err = config.Load([]string{"--config=" + flagPath}, env("LLMSERVICE_CONFIG", path))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if got.Addr != ":7002" {
		t.Errorf("Addr = %q; want the -config flag's :7002", got.Addr)
	}
}

func TestPrecedence(t *testing.T) {
	path := writeFile(t, "addr: \":7000\"\ndatabase_url: yaml.db\nlog_level: warn\nlog_format: json\nadmin_key: yaml-key\n")
	tests := []struct {
		name string
		args []string
		env  []string
		want config.Config
	}{{
		name: "yaml over defaults",
		want: config.Config{Addr: ":7000", DatabaseURL: "yaml.db", LogLevel: "warn", LogFormat: "json", AdminKey: "yaml-key"},
	}, {
		name: "env over yaml",
		env:  []string{"LLMSERVICE_ADDR", ":8000", "LLMSERVICE_DATABASE_URL", "env.db", "LLMSERVICE_LOG_LEVEL", "error", "LLMSERVICE_LOG_FORMAT", "text", "LLMSERVICE_ADMIN_KEY", "env-key"},
		want: config.Config{Addr: ":8000", DatabaseURL: "env.db", LogLevel: "error", LogFormat: "text", AdminKey: "env-key"},
	}, {
		name: "flags over env",
		args: []string{"-addr", ":9000", "-database-url", "flag.db", "-log-level", "debug"},
		env:  []string{"LLMSERVICE_ADDR", ":8000", "LLMSERVICE_DATABASE_URL", "env.db", "LLMSERVICE_LOG_LEVEL", "error"},
		want: config.Config{Addr: ":9000", DatabaseURL: "flag.db", LogLevel: "debug", LogFormat: "json", AdminKey: "yaml-key"},
	}, {
		name: "empty env values change nothing",
		env:  []string{"LLMSERVICE_ADDR", "", "LLMSERVICE_LOG_LEVEL", ""},
		want: config.Config{Addr: ":7000", DatabaseURL: "yaml.db", LogLevel: "warn", LogFormat: "json", AdminKey: "yaml-key"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Load(append([]string{"-config", path}, tt.args...), env(tt.env...))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			sel := config.Config{Addr: got.Addr, DatabaseURL: got.DatabaseURL, LogLevel: got.LogLevel, LogFormat: got.LogFormat, AdminKey: got.AdminKey}
			if diff := cmp.Diff(tt.want, sel); diff != "" {
				t.Errorf("Load() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnvSettings(t *testing.T) {
	got, err := config.Load(nil, env("LLMSERVICE_REQUEST_TIMEOUT", "45s", "LLMSERVICE_BODY_LIMIT", "2048", "LLMSERVICE_DISABLE_MOCK", "TRUE"))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if got.RequestTimeout != 45*time.Second || got.BodyLimit != 2048 || !got.DisableMock {
		t.Errorf("got timeout %v, body limit %d, disable mock %v; want 45s, 2048, true", got.RequestTimeout, got.BodyLimit, got.DisableMock)
	}
	got, err = config.Load(nil, env("LLMSERVICE_BODY_BYTES_IN_FLIGHT", "1048576", "LLMSERVICE_BODY_LIMIT", "1024",
		"LLMSERVICE_UPSTREAM_BODY_LIMIT", "4096", "LLMSERVICE_READ_TIMEOUT", "5s", "LLMSERVICE_WRITE_TIMEOUT", "7s",
		"LLMSERVICE_MAX_CONNECTIONS", "100", "LLMSERVICE_MAX_REQUESTS_IN_FLIGHT", "50", "LLMSERVICE_UPSTREAM_HTTP1", "false"))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if got.BodyBytesInFlight != 1<<20 || got.UpstreamBodyLimit != 4096 || got.ReadTimeout != 5*time.Second ||
		got.WriteTimeout != 7*time.Second || got.MaxConnections != 100 || got.MaxRequestsInFlight != 50 || got.UpstreamHTTP1 {
		t.Errorf("memory and connection settings = %d, %d, %v, %v, %d, %d, %v; want 1048576, 4096, 5s, 7s, 100, 50, false",
			got.BodyBytesInFlight, got.UpstreamBodyLimit, got.ReadTimeout, got.WriteTimeout, got.MaxConnections, got.MaxRequestsInFlight, got.UpstreamHTTP1)
	}
	got, err = config.Load(nil, env("LLMSERVICE_USAGE_RETENTION", "90d", "LLMSERVICE_CACHE_REFRESH", "5s"))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if got.UsageRetention != 90*24*time.Hour || got.CacheRefresh != 5*time.Second {
		t.Errorf("got retention %v, cache refresh %v; want 2160h, 5s", got.UsageRetention, got.CacheRefresh)
	}
	for _, v := range []string{"1", "true", "True"} {
		got, _ := config.Load(nil, env("LLMSERVICE_DISABLE_MOCK", v))
		if !got.DisableMock {
			t.Errorf("LLMSERVICE_DISABLE_MOCK=%s did not disable the mock", v)
		}
	}
	// The environment can switch back on what the file switched off.
	path := writeFile(t, "disable_mock: true\n")
	got, err = config.Load([]string{"-config", path}, env("LLMSERVICE_DISABLE_MOCK", "0"))
	if err != nil || got.DisableMock {
		t.Errorf("LLMSERVICE_DISABLE_MOCK=0 over YAML true: DisableMock = %v, err %v; want false", got.DisableMock, err)
	}
}

func TestProvidersFromEnv(t *testing.T) {
	got, err := config.Load(nil, env(
		"OPENAI_API_KEY", "sk-o", "OPENAI_BASE_URL", "https://proxy/v1",
		"ANTHROPIC_API_KEY", "sk-a",
		"GEMINI_BASE_URL", "https://gemini.local",
		"OLLAMA_BASE_URL", " http://a:11434, http://b:11434 ,,http://c:11434,",
	))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	want := []config.Provider{
		{Name: "openai", Type: config.TypeOpenAI, APIKey: "sk-o", BaseURL: "https://proxy/v1"},
		{Name: "anthropic", Type: config.TypeAnthropic, APIKey: "sk-a"},
		{Name: "gemini", Type: config.TypeGemini, BaseURL: "https://gemini.local"},
		{Name: "ollama", Type: config.TypeOllama, Hosts: []string{"http://a:11434", "http://b:11434", "http://c:11434"}},
	}
	if diff := cmp.Diff(want, got.Providers); diff != "" {
		t.Errorf("providers mismatch (-want +got):\n%s", diff)
	}
}

// The environment completes or overrides the YAML declaration of the same
// instance instead of adding a second one.
func TestEnvOverridesYAMLProvider(t *testing.T) {
	path := writeFile(t, `
providers:
  - name: openai
    type: openai
    api_key: yaml-key
    base_url: https://yaml/v1
    models: [gpt-4o]
  - name: ollama
    type: ollama
    hosts: [http://yaml:11434]
    models: [llama3]
`)
	got, err := config.Load([]string{"-config", path}, env("OPENAI_API_KEY", "env-key", "OLLAMA_BASE_URL", "http://x:1,http://y:2"))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	want := []config.Provider{
		{Name: "openai", Type: config.TypeOpenAI, APIKey: "env-key", BaseURL: "https://yaml/v1", Models: []string{"gpt-4o"}},
		{Name: "ollama", Type: config.TypeOllama, Hosts: []string{"http://x:1", "http://y:2"}, Models: []string{"llama3"}},
	}
	if diff := cmp.Diff(want, got.Providers); diff != "" {
		t.Errorf("providers mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadErrors(t *testing.T) {
	bad := func(yaml string) []string { return []string{"-config", writeFile(t, yaml)} }
	tests := []struct {
		name string
		args []string
		env  []string
		want []string // substrings of the error
	}{
		{"unknown flag", []string{"-port", "1"}, nil, []string{"flag provided but not defined: -port"}},
		{"extra argument", []string{"serve"}, nil, []string{"unexpected arguments: [serve]"}},
		{"missing file", []string{"-config", filepath.Join(t.TempDir(), "nope.yaml")}, nil, []string{"read config"}},
		{"bad yaml", bad("addr: [\n"), nil, []string{"parse config"}},
		{"unknown yaml type", bad("body_limit: lots\n"), nil, []string{"parse config"}},
		{"bad timeout env", nil, []string{"LLMSERVICE_REQUEST_TIMEOUT", "10"}, []string{"LLMSERVICE_REQUEST_TIMEOUT"}},
		{"bad retention env", nil, []string{"LLMSERVICE_USAGE_RETENTION", "3 months"}, []string{"LLMSERVICE_USAGE_RETENTION"}},
		{"negative cache refresh", nil, []string{"LLMSERVICE_CACHE_REFRESH", "-1s"}, []string{"LLMSERVICE_CACHE_REFRESH"}},
		{"bad body limit env", nil, []string{"LLMSERVICE_BODY_LIMIT", "16MB"}, []string{"LLMSERVICE_BODY_LIMIT"}},
		{"zero body limit", nil, []string{"LLMSERVICE_BODY_LIMIT", "0"}, []string{"body_limit must be positive"}},
		{"body limit over the budget", nil, []string{"LLMSERVICE_BODY_LIMIT", "2048", "LLMSERVICE_BODY_BYTES_IN_FLIGHT", "1024"}, []string{"body_bytes_in_flight (1024) must be at least body_limit (2048)"}},
		{"bad upstream body limit", nil, []string{"LLMSERVICE_UPSTREAM_BODY_LIMIT", "64MiB"}, []string{"LLMSERVICE_UPSTREAM_BODY_LIMIT"}},
		{"zero upstream body limit", nil, []string{"LLMSERVICE_UPSTREAM_BODY_LIMIT", "0"}, []string{"upstream_body_limit must be positive"}},
		{"bad upstream http1", nil, []string{"LLMSERVICE_UPSTREAM_HTTP1", "off"}, []string{"LLMSERVICE_UPSTREAM_HTTP1"}},
		{"bad read timeout", nil, []string{"LLMSERVICE_READ_TIMEOUT", "60"}, []string{"LLMSERVICE_READ_TIMEOUT"}},
		{"zero write timeout", nil, []string{"LLMSERVICE_WRITE_TIMEOUT", "0s"}, []string{"LLMSERVICE_WRITE_TIMEOUT"}},
		{"negative connection cap", nil, []string{"LLMSERVICE_MAX_CONNECTIONS", "-1"}, []string{"LLMSERVICE_MAX_CONNECTIONS"}},
		{"bad request cap", nil, []string{"LLMSERVICE_MAX_REQUESTS_IN_FLIGHT", "many"}, []string{"LLMSERVICE_MAX_REQUESTS_IN_FLIGHT"}},
		{"bad log level", nil, []string{"LLMSERVICE_LOG_LEVEL", "verbose"}, []string{`log_level: "verbose"`}},
		{"bad log format", nil, []string{"LLMSERVICE_LOG_FORMAT", "xml"}, []string{`log_format: "xml"`}},
		{"bad jwt ttl", nil, []string{"LLMSERVICE_JWT_ACCESS_TTL", "5"}, []string{"LLMSERVICE_JWT_ACCESS_TTL"}},
		{"zero jwt ttl", nil, []string{"LLMSERVICE_JWT_REFRESH_TTL", "0s"}, []string{"LLMSERVICE_JWT_REFRESH_TTL"}},
		{"provider without name", bad("providers:\n  - type: openai\n"), nil, []string{"providers[0]: name is required"}},
		{"provider name with slash", bad("providers:\n  - name: a/b\n    type: openai\n"), nil, []string{`providers[0]: name "a/b" must not contain '/' or spaces`}},
		{"provider name with space", bad("providers:\n  - name: a b\n    type: openai\n"), nil, []string{`name "a b" must not contain`}},
		{"duplicate provider", bad("providers:\n  - {name: a, type: openai}\n  - {name: a, type: anthropic}\n"), nil, []string{`providers[1]: duplicate name "a"`}},
		{"unknown type", bad("providers:\n  - {name: a, type: cohere}\n"), nil, []string{`providers[0] (a): unknown type "cohere"`}},
		{"missing type", bad("providers:\n  - {name: a}\n"), nil, []string{`providers[0] (a): unknown type ""`}},
		{"compatible without base_url", bad("providers:\n  - {name: v, type: openai-compatible}\n"), nil, []string{"providers[0] (v): openai-compatible needs base_url"}},
		{"every problem reported at once", bad("providers:\n  - {type: x}\n  - {name: v, type: openai-compatible}\n"), []string{"LLMSERVICE_BODY_LIMIT", "-1"},
			[]string{"providers[0]: name is required", "unknown type \"x\"", "openai-compatible needs base_url", "body_limit must be positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(tt.args, env(tt.env...))
			if err == nil {
				t.Fatalf("Load(%q) = nil error; want one containing %q", tt.args, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load(%q) error = %q; want it to contain %q", tt.args, err, w)
				}
			}
		})
	}
}

func TestValidateAcceptsGoodProviders(t *testing.T) {
	c := config.Defaults()
	c.Providers = []config.Provider{
		{Name: "o", Type: config.TypeOpenAI},
		{Name: "c", Type: config.TypeOpenAICompatible, BaseURL: "http://x/v1"},
		{Name: "c2", Type: config.TypeOpenAICompatible, Hosts: []string{"http://a/v1"}},
		{Name: "a", Type: config.TypeAnthropic},
		{Name: "g", Type: config.TypeGemini},
		{Name: "l", Type: config.TypeOllama},
		{Name: "m", Type: config.TypeMock},
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v; want nil", err)
	}
}

func TestStaleKeyGrace(t *testing.T) {
	for _, tc := range []struct {
		env     string
		want    time.Duration
		wantErr bool
	}{
		{"", 15 * time.Minute, false},
		{"1h", time.Hour, false},
		{"1d", 24 * time.Hour, false},
		{"0", 0, false},
		{"-1m", 0, true},
		{"soon", 0, true},
	} {
		got, err := config.Load(nil, env("LLMSERVICE_STALE_KEY_GRACE", tc.env))
		if tc.wantErr {
			if err == nil || !strings.Contains(err.Error(), "LLMSERVICE_STALE_KEY_GRACE") {
				t.Errorf("LLMSERVICE_STALE_KEY_GRACE=%q: err = %v; want one naming the variable", tc.env, err)
			}
			continue
		}
		if err != nil || got.StaleKeyGrace != tc.want {
			t.Errorf("LLMSERVICE_STALE_KEY_GRACE=%q: %v, %v; want %v", tc.env, got.StaleKeyGrace, err, tc.want)
		}
	}
	got, err := config.Load([]string{"-config", writeFile(t, "stale_key_grace: 5m\n")}, env())
	if err != nil || got.StaleKeyGrace != 5*time.Minute {
		t.Errorf("stale_key_grace: 5m in YAML: %v, %v", got.StaleKeyGrace, err)
	}
}

func TestWebhookAndAuthSettings(t *testing.T) {
	got, err := config.Load(nil, env())
	if err != nil || len(got.WebhookAllowCIDRs) != 0 || got.AuthFailuresPerMinute != 0 {
		t.Fatalf("defaults: %v %v %v; want no CIDRs, 0 (the default throttle)", got.WebhookAllowCIDRs, got.AuthFailuresPerMinute, err)
	}
	got, err = config.Load(nil, env("LLMSERVICE_WEBHOOK_ALLOW_CIDRS", "127.0.0.0/8, 10.1.0.0/16", "LLMSERVICE_AUTH_FAILURES_PER_MINUTE", "5"))
	if err != nil || len(got.WebhookAllowCIDRs) != 2 || got.WebhookAllowCIDRs[1] != "10.1.0.0/16" || got.AuthFailuresPerMinute != 5 {
		t.Errorf("got %q, %d, %v; want two CIDRs and 5", got.WebhookAllowCIDRs, got.AuthFailuresPerMinute, err)
	}
	for _, e := range [][]string{
		{"LLMSERVICE_WEBHOOK_ALLOW_CIDRS", "127.0.0.1"},
		{"LLMSERVICE_AUTH_FAILURES_PER_MINUTE", "-2"},
		{"LLMSERVICE_AUTH_FAILURES_PER_MINUTE", "many"},
	} {
		if _, err := config.Load(nil, env(e...)); err == nil {
			t.Errorf("%s=%s accepted", e[0], e[1])
		}
	}
}
