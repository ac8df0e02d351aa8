// Package config reads llmservice's configuration: defaults, then an
// optional YAML file, then environment variables, then flags; each later
// source overrides the earlier ones.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Provider types (wire protocols).
const (
	TypeOpenAI           = "openai"
	TypeOpenAICompatible = "openai-compatible"
	TypeAnthropic        = "anthropic"
	TypeGemini           = "gemini"
	TypeOllama           = "ollama"
	TypeMock             = "mock"
)

// Provider is one provider instance.
type Provider struct {
	Name       string            `yaml:"name"`
	Type       string            `yaml:"type"`
	BaseURL    string            `yaml:"base_url"`
	APIKey     string            `yaml:"api_key"`
	APIVersion string            `yaml:"api_version"` // anthropic-version
	Headers    map[string]string `yaml:"headers"`
	// Hosts lists several base URLs of one in-house provider; requests are
	// spread over them and skip a host that does not answer.
	Hosts []string `yaml:"hosts"`
	// Models are advertised in /v1/models as "<name>/<model>".
	Models []string `yaml:"models"`
}

// Config is the whole configuration.
type Config struct {
	Addr        string `yaml:"addr"`
	DatabaseURL string `yaml:"database_url"`
	AdminKey    string `yaml:"admin_key"`
	BodyLimit   int64  `yaml:"body_limit"`
	// BodyBytesInFlight bounds the request body bytes held by all requests
	// at once (default 256 MiB); a request beyond it is answered 503 with
	// Retry-After rather than let memory grow.
	BodyBytesInFlight int64 `yaml:"body_bytes_in_flight"`
	// ReadTimeout cuts a request whose body has not arrived whole within
	// it; WriteTimeout cuts a client that has taken nothing of the answer
	// for that long (each default 60s; a stream the client reads is never
	// cut, as every write extends the deadline).
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// UpstreamBodyLimit caps a non-streaming upstream answer (default
	// 64 MiB); a larger one ends in 502.
	UpstreamBodyLimit int64 `yaml:"upstream_body_limit"`
	// UpstreamHTTP1 sends plain-http upstream requests through the
	// gateway's own HTTP/1.1 client (internal/h1), which costs less CPU per
	// request than net/http's; false sends everything through net/http
	// (default true).
	UpstreamHTTP1 bool `yaml:"upstream_http1"`
	// MaxConnections caps open client connections and MaxRequestsInFlight
	// the requests served at once (503 beyond); 0 = no cap.
	MaxConnections      int           `yaml:"max_connections"`
	MaxRequestsInFlight int           `yaml:"max_requests_in_flight"`
	RequestTimeout      time.Duration `yaml:"request_timeout"`
	ShutdownTimeout     time.Duration `yaml:"shutdown_timeout"`
	LogLevel            string        `yaml:"log_level"`
	LogFormat           string        `yaml:"log_format"` // text or json
	// RedisURL shares rate limits, budgets and cache invalidations between
	// replicas (redis://host:6379/0).
	RedisURL string `yaml:"redis_url"`
	// CacheRefresh bounds how long a replica trusts its cached keys, teams
	// and catalog without word from the others (default 30s): the safety net
	// behind the invalidation bus.
	CacheRefresh time.Duration `yaml:"cache_refresh"`
	// ResponseCacheBytes bounds the in-memory response cache (keys and
	// answers) used when Redis is not configured (default 64 MiB).
	ResponseCacheBytes int64 `yaml:"response_cache_bytes"`
	// StaleKeyGrace is how long past its refresh a cached key (with its
	// team) keeps working while the database is unavailable (default 15m;
	// 0 turns it off, so that a key whose refresh fails is refused with
	// 503). The catalog keeps its last good copy for the whole outage.
	StaleKeyGrace time.Duration `yaml:"stale_key_grace"`
	// UsageRetention deletes raw usage records older than this (0: keep
	// them). Hourly and daily rollups are kept, so statistics stay whole.
	UsageRetention time.Duration `yaml:"usage_retention"`
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed; empty means
	// the connection's address is the client's.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// WebhookAllowCIDRs are address ranges batch webhooks may reach even
	// though they are loopback, link-local, private or unspecified, which
	// are refused by default (127.0.0.0/8 for a receiver on this host).
	WebhookAllowCIDRs []string `yaml:"webhook_allow_cidrs"`
	// AuthFailuresPerMinute is how many failed authentications (wrong
	// keys, secrets, passwords, admin keys) one client address may make in
	// a minute before it gets 429 (default 20; a Django username gets
	// half as many, at least 1). 0 keeps the default; -1 turns it off.
	AuthFailuresPerMinute int `yaml:"auth_failures_per_minute"`
	// Limits are the default limits of teams and keys that set none.
	Limits struct {
		TeamRPM int64 `yaml:"team_rpm"`
		TeamTPM int64 `yaml:"team_tpm"`
		KeyRPM  int64 `yaml:"key_rpm"`
		KeyTPM  int64 `yaml:"key_tpm"`
	} `yaml:"limits"`
	// Routing tunes retries, fallbacks and circuit breaking.
	Routing struct {
		MaxAttempts          int           `yaml:"max_attempts"`
		RetriesPerDeployment int           `yaml:"retries_per_deployment"`
		Cooldown             time.Duration `yaml:"cooldown"`
		FailuresToOpen       int           `yaml:"failures_to_open"`
		// HealthCheckInterval enables active health checks of in-house
		// hosts (Ollama /api/tags, OpenAI-compatible /v1/models); 0 = off.
		HealthCheckInterval time.Duration `yaml:"health_check_interval"`
	} `yaml:"routing"`
	// LogBodies is the default for teams that set no log_bodies: "off"
	// (default), "full" or "redacted".
	LogBodies string `yaml:"log_bodies"`
	// Ledger tunes the usage ledger's writer and journal.
	Ledger Ledger `yaml:"ledger"`
	// Telemetry configures metrics, traces and the access log.
	Telemetry Telemetry `yaml:"telemetry"`
	// DisableMock removes the built-in mock provider.
	DisableMock bool       `yaml:"disable_mock"`
	Providers   []Provider `yaml:"providers"`
	// JWT configures the Django API's tokens (/api/token/...).
	JWT struct {
		// Secret signs them (HS256); empty: one is generated on first start
		// and kept in the database's settings.
		Secret     string        `yaml:"secret"`
		AccessTTL  time.Duration `yaml:"access_ttl"`  // default 5m
		RefreshTTL time.Duration `yaml:"refresh_ttl"` // default 24h
	} `yaml:"jwt"`
	// EncryptionKey seals teams' provider keys (base64 of 32 bytes). Empty
	// on SQLite: one is generated beside the database file; PostgreSQL
	// needs it set, the same on every replica.
	EncryptionKey string `yaml:"encryption_key"`
	// Queue tunes the durable queue (environment only: docs/batches.md).
	Queue Queue `yaml:"-"`
	// ConfigFile is where the YAML came from, if anywhere.
	ConfigFile string `yaml:"-"`
}

// DefaultBodyLimit is LLMSERVICE_BODY_LIMIT's default; a handler built
// without a limit (in a test) uses it too.
const DefaultBodyLimit = 16 << 20

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	c := Config{
		Addr:              ":8080",
		DatabaseURL:       "./data/llmservice.db",
		BodyLimit:         DefaultBodyLimit,
		BodyBytesInFlight: 256 << 20,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		UpstreamBodyLimit: 64 << 20,
		UpstreamHTTP1:     true,
		RequestTimeout:    10 * time.Minute,
		ShutdownTimeout:   30 * time.Second,
		LogLevel:          "info",
		LogFormat:         "text",
		StaleKeyGrace:     15 * time.Minute,

		ResponseCacheBytes: 64 << 20,
	}
	c.JWT.AccessTTL = 5 * time.Minute
	c.JWT.RefreshTTL = 24 * time.Hour
	return c
}

// Load builds the configuration from args (without the program name and
// subcommand) and getenv.
func Load(args []string, getenv func(string) string) (Config, error) {
	c := Defaults()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configFile := fs.String("config", getenv("LLMSERVICE_CONFIG"), "YAML configuration file (env LLMSERVICE_CONFIG)")
	addr := fs.String("addr", "", "listen address (env LLMSERVICE_ADDR, default :8080)")
	dbURL := fs.String("database-url", "", "SQLite file path or sqlite:// URL (env LLMSERVICE_DATABASE_URL)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (env LLMSERVICE_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *configFile != "" {
		b, err := os.ReadFile(*configFile)
		if err != nil {
			return c, fmt.Errorf("read config: %w", err)
		}
		expanded := os.Expand(string(b), getenv)
		if err := yaml.Unmarshal([]byte(expanded), &c); err != nil {
			return c, fmt.Errorf("parse config %s: %w", *configFile, err)
		}
		c.ConfigFile = *configFile
	}
	if err := c.applyEnv(getenv); err != nil {
		return c, err
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.Addr, *addr)
	set(&c.DatabaseURL, *dbURL)
	set(&c.LogLevel, *logLevel)
	return c, c.Validate()
}

func (c *Config) applyEnv(getenv func(string) string) error {
	set := func(dst *string, name string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set(&c.Addr, "LLMSERVICE_ADDR")
	set(&c.DatabaseURL, "LLMSERVICE_DATABASE_URL")
	set(&c.AdminKey, "LLMSERVICE_ADMIN_KEY")
	set(&c.LogLevel, "LLMSERVICE_LOG_LEVEL")
	set(&c.LogFormat, "LLMSERVICE_LOG_FORMAT")
	set(&c.RedisURL, "LLMSERVICE_REDIS_URL")
	set(&c.LogBodies, "LLMSERVICE_LOG_BODIES")
	set(&c.JWT.Secret, "LLMSERVICE_JWT_SECRET")
	set(&c.EncryptionKey, "LLMSERVICE_ENCRYPTION_KEY")
	if v := getenv("LLMSERVICE_TRUSTED_PROXIES"); v != "" {
		c.TrustedProxies = splitList(v)
	}
	if v := getenv("LLMSERVICE_WEBHOOK_ALLOW_CIDRS"); v != "" {
		c.WebhookAllowCIDRs = splitList(v)
	}
	if v := getenv("LLMSERVICE_AUTH_FAILURES_PER_MINUTE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1 {
			return fmt.Errorf("LLMSERVICE_AUTH_FAILURES_PER_MINUTE=%q: want a number of failures, or -1 for no throttle", v)
		}
		c.AuthFailuresPerMinute = n
	}
	for name, dst := range map[string]*int64{
		"LLMSERVICE_TEAM_RPM": &c.Limits.TeamRPM, "LLMSERVICE_TEAM_TPM": &c.Limits.TeamTPM,
		"LLMSERVICE_KEY_RPM": &c.Limits.KeyRPM, "LLMSERVICE_KEY_TPM": &c.Limits.KeyTPM,
	} {
		if v := getenv(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("%s: want a non-negative integer, got %q", name, v)
			}
			*dst = n
		}
	}
	if v := getenv("LLMSERVICE_HEALTH_CHECK_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("LLMSERVICE_HEALTH_CHECK_INTERVAL: %w", err)
		}
		c.Routing.HealthCheckInterval = d
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"LLMSERVICE_CACHE_REFRESH", &c.CacheRefresh}, {"LLMSERVICE_USAGE_RETENTION", &c.UsageRetention}} {
		if v := getenv(d.name); v != "" {
			t, err := ParseDays(v)
			if err != nil || t < 0 {
				return fmt.Errorf("%s=%q: want a duration such as 30s, 12h or 90d", d.name, v)
			}
			*d.dst = t
		}
	}
	if v := getenv("LLMSERVICE_STALE_KEY_GRACE"); v != "" {
		t, err := ParseDays(v)
		if err != nil || t < 0 {
			return fmt.Errorf("LLMSERVICE_STALE_KEY_GRACE=%q: want a duration such as 15m, or 0 to refuse keys whose refresh fails", v)
		}
		c.StaleKeyGrace = t
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"LLMSERVICE_JWT_ACCESS_TTL", &c.JWT.AccessTTL}, {"LLMSERVICE_JWT_REFRESH_TTL", &c.JWT.RefreshTTL}} {
		if v := getenv(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t <= 0 {
				return fmt.Errorf("%s: want a positive duration such as 5m or 24h, got %q", d.name, v)
			}
			*d.dst = t
		}
	}
	if v := getenv("LLMSERVICE_REQUEST_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("LLMSERVICE_REQUEST_TIMEOUT: %w", err)
		}
		c.RequestTimeout = d
	}
	if err := c.applyLimitsEnv(getenv); err != nil {
		return err
	}
	if v := getenv("LLMSERVICE_RESPONSE_CACHE_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("LLMSERVICE_RESPONSE_CACHE_BYTES=%q: want a positive number of bytes", v)
		}
		c.ResponseCacheBytes = n
	}
	if err := c.applyLedgerEnv(getenv); err != nil {
		return err
	}
	if err := c.applyQueueEnv(getenv); err != nil {
		return err
	}
	if v := getenv("LLMSERVICE_UPSTREAM_HTTP1"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("LLMSERVICE_UPSTREAM_HTTP1=%q: want true or false", v)
		}
		c.UpstreamHTTP1 = b
	}
	if v := getenv("LLMSERVICE_DISABLE_MOCK"); v != "" {
		c.DisableMock = v == "1" || strings.EqualFold(v, "true")
	}
	env := func(p Provider) {
		for i := range c.Providers {
			if c.Providers[i].Name == p.Name {
				// The environment overrides what YAML says of the same instance.
				q := &c.Providers[i]
				if p.APIKey != "" {
					q.APIKey = p.APIKey
				}
				if p.BaseURL != "" {
					q.BaseURL = p.BaseURL
				}
				if len(p.Hosts) > 0 {
					q.Hosts = p.Hosts
				}
				return
			}
		}
		c.Providers = append(c.Providers, p)
	}
	if err := c.Telemetry.applyEnv(getenv); err != nil {
		return err
	}
	if k, u := getenv("OPENAI_API_KEY"), getenv("OPENAI_BASE_URL"); k != "" || u != "" {
		env(Provider{Name: "openai", Type: TypeOpenAI, APIKey: k, BaseURL: u})
	}
	if k, u := getenv("ANTHROPIC_API_KEY"), getenv("ANTHROPIC_BASE_URL"); k != "" || u != "" {
		env(Provider{Name: "anthropic", Type: TypeAnthropic, APIKey: k, BaseURL: u})
	}
	if k, u := getenv("GEMINI_API_KEY"), getenv("GEMINI_BASE_URL"); k != "" || u != "" {
		env(Provider{Name: "gemini", Type: TypeGemini, APIKey: k, BaseURL: u})
	}
	if u := getenv("OLLAMA_BASE_URL"); u != "" {
		env(Provider{Name: "ollama", Type: TypeOllama, Hosts: splitList(u)})
	}
	return nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Validate checks provider declarations.
func (c *Config) Validate() error {
	seen := map[string]bool{}
	var errs []error
	for i, p := range c.Providers {
		switch {
		case p.Name == "":
			errs = append(errs, fmt.Errorf("providers[%d]: name is required", i))
		case strings.ContainsAny(p.Name, "/ "):
			errs = append(errs, fmt.Errorf("providers[%d]: name %q must not contain '/' or spaces", i, p.Name))
		case seen[p.Name]:
			errs = append(errs, fmt.Errorf("providers[%d]: duplicate name %q", i, p.Name))
		}
		seen[p.Name] = true
		switch p.Type {
		case TypeOpenAI, TypeAnthropic, TypeGemini, TypeOllama, TypeMock:
		case TypeOpenAICompatible:
			if p.BaseURL == "" && len(p.Hosts) == 0 {
				errs = append(errs, fmt.Errorf("providers[%d] (%s): openai-compatible needs base_url", i, p.Name))
			}
		default:
			errs = append(errs, fmt.Errorf("providers[%d] (%s): unknown type %q; expected openai, openai-compatible, anthropic, gemini, ollama or mock", i, p.Name, p.Type))
		}
	}
	for i, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				errs = append(errs, fmt.Errorf("trusted_proxies[%d]: %q is not a CIDR or an address", i, p))
			}
		}
	}
	for i, p := range c.WebhookAllowCIDRs {
		if _, err := netip.ParsePrefix(p); err != nil {
			errs = append(errs, fmt.Errorf("webhook_allow_cidrs[%d]: %q is not a CIDR such as 127.0.0.0/8", i, p))
		}
	}
	if c.AuthFailuresPerMinute < -1 {
		errs = append(errs, fmt.Errorf("auth_failures_per_minute: %d; want a number of failures, or -1 for no throttle", c.AuthFailuresPerMinute))
	}
	switch c.LogBodies {
	case "", "off", "full", "redacted":
	default:
		errs = append(errs, fmt.Errorf("log_bodies: %q; expected off, full or redacted", c.LogBodies))
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level: %q; expected debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log_format: %q; expected text or json", c.LogFormat))
	}
	if c.JWT.AccessTTL <= 0 || c.JWT.RefreshTTL <= 0 {
		errs = append(errs, errors.New("jwt: access_ttl and refresh_ttl must be positive"))
	}
	if c.BodyLimit <= 0 {
		errs = append(errs, errors.New("body_limit must be positive"))
	}
	if c.BodyLimit > 0 && c.BodyBytesInFlight < c.BodyLimit {
		errs = append(errs, fmt.Errorf("body_bytes_in_flight (%d) must be at least body_limit (%d), or no request of the largest size could ever be served", c.BodyBytesInFlight, c.BodyLimit))
	}
	if c.UpstreamBodyLimit <= 0 {
		errs = append(errs, errors.New("upstream_body_limit must be positive"))
	}
	if c.ReadTimeout <= 0 || c.WriteTimeout <= 0 {
		errs = append(errs, errors.New("read_timeout and write_timeout must be positive"))
	}
	if c.MaxConnections < 0 || c.MaxRequestsInFlight < 0 {
		errs = append(errs, errors.New("max_connections and max_requests_in_flight must not be negative (0 = no cap)"))
	}
	if err := c.Telemetry.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ParseDays parses a Go duration, or a whole number of days written "90d"
// (retention is naturally counted in days, which time.ParseDuration lacks).
func ParseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("bad number of days %q", v)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// applyLimitsEnv reads the settings that bound memory and connections.
func (c *Config) applyLimitsEnv(getenv func(string) string) error {
	for _, b := range []struct {
		name string
		dst  *int64
	}{
		{"LLMSERVICE_BODY_LIMIT", &c.BodyLimit},
		{"LLMSERVICE_BODY_BYTES_IN_FLIGHT", &c.BodyBytesInFlight},
		{"LLMSERVICE_UPSTREAM_BODY_LIMIT", &c.UpstreamBodyLimit},
	} {
		if v := getenv(b.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%s=%q: want a number of bytes", b.name, v)
			}
			*b.dst = n
		}
	}
	for _, n := range []struct {
		name string
		dst  *int
	}{{"LLMSERVICE_MAX_CONNECTIONS", &c.MaxConnections}, {"LLMSERVICE_MAX_REQUESTS_IN_FLIGHT", &c.MaxRequestsInFlight}} {
		if v := getenv(n.name); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil || i < 0 {
				return fmt.Errorf("%s=%q: want a non-negative integer (0 = no cap)", n.name, v)
			}
			*n.dst = i
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"LLMSERVICE_READ_TIMEOUT", &c.ReadTimeout}, {"LLMSERVICE_WRITE_TIMEOUT", &c.WriteTimeout}} {
		if v := getenv(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t <= 0 {
				return fmt.Errorf("%s=%q: want a positive duration such as 60s", d.name, v)
			}
			*d.dst = t
		}
	}
	return nil
}
