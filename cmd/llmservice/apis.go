package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/llmservice/llmservice/internal/apidoc"
	"github.com/llmservice/llmservice/internal/authguard"
	"github.com/llmservice/llmservice/internal/batches"
	"github.com/llmservice/llmservice/internal/config"
	"github.com/llmservice/llmservice/internal/dialect/athena"
	"github.com/llmservice/llmservice/internal/dialect/django"
	"github.com/llmservice/llmservice/internal/dialect/jobs"
	"github.com/llmservice/llmservice/internal/dialect/llmendpoint"
	"github.com/llmservice/llmservice/internal/dialect/stackfordevs"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/queue"
	"github.com/llmservice/llmservice/internal/server"
)

// apis are the seed services' APIs, mounted beside the core surface that
// internal/server builds itself (OpenAI, Anthropic, Responses and Gemini
// ingress, admin API, dashboard: see server/routes.go), with the
// background work they need.
type apis struct {
	// mounts are registered on the mux in this order.
	mounts []server.Registrar
	// batches cancels batches for the dashboard.
	batches server.BatchCanceller
	// background runs until shutdown (queue workers, the batch sweep); it
	// stops, finishing what it holds, before the meter's last flush.
	background []func(ctx context.Context)
}

// buildAPIs is the composition root of the seed services' APIs: every API
// the process mounts is listed here, built with what it needs. Adding an
// API is adding it here and to its own package.
func buildAPIs(ctx context.Context, cfg config.Config, parts *gatewayParts, db store, userGuard *authguard.Guard, log *slog.Logger) (*apis, error) {
	gw, flush := parts.gw, parts.meter.Flush

	// The Django LLM Service API (/, /api/signup/, /api/token/...). Its JWT
	// settings are config.Config.JWT; with no secret set, one is generated
	// once and kept in the database's settings.
	secret, err := djangoSecret(ctx, cfg, db)
	if err != nil {
		return nil, err
	}
	djangoAPI := &django.Handler{
		GW: gw, Users: db, Keys: db,
		Tokens:    &django.Tokens{Secret: secret, AccessTTL: cfg.JWT.AccessTTL, RefreshTTL: cfg.JWT.RefreshTTL, Now: clockOf(ctx)},
		Providers: django.MapProviders(djangoInstances(cfg, gw)),
		Log:       log, BodyLimit: cfg.BodyLimit, Throttle: userGuard, Now: clockOf(ctx),
	}

	// The durable queue and the APIs that run on it: OpenAI files and
	// batches, StackForDevs batches, LlmEndpoint queued completions. One
	// runner serves them all.
	qs := cfg.QueueSettings()
	runner := queue.New(db, queue.Config{Workers: qs.Workers, Lease: qs.Lease, Poll: qs.Poll, Logger: log, Outages: parts.outages})
	batchesAPI := &batches.Handler{GW: gw, Store: db, Queue: runner, Flush: flush, Log: log, BodyLimit: cfg.BodyLimit,
		Webhooks: batches.WebhookConfig{Retries: qs.WebhookRetries, Allow: webhookAllow(cfg)}, Outages: parts.outages}
	batchesAPI.Tasks(runner)
	queuedAPI := llmendpoint.NewQueued(llmendpoint.QueuedConfig{GW: gw, Store: db, Notify: runner.Notify,
		Flush: flush, Log: log, BodyLimit: cfg.BodyLimit})
	queuedAPI.Tasks(runner)

	return &apis{
		mounts: []server.Registrar{
			// Athena: /api/v1/chat/completions, /api/v1/conversations...,
			// /api/v1/models, /api/v1/usage, and GraphQL on /graphql (POST)
			// with its playground (GET). Usage reports read the ledger after
			// writing what the meter still buffers.
			&athena.Handler{GW: gw, Store: db, Usage: db, Flush: flush, Log: log, BodyLimit: cfg.BodyLimit},
			djangoAPI,
			// The jobs API (/api/jobs/...): jobs, their LLM calls and credits.
			&jobs.Handler{GW: gw, Jobs: db, Log: log, BodyLimit: cfg.BodyLimit},
			// LlmEndpoint's synchronous completions; its queued ones are
			// queuedAPI.
			&llmendpoint.Handler{GW: gw, Credits: db, Log: log, BodyLimit: cfg.BodyLimit},
			batchesAPI,
			queuedAPI,
			// StackForDevs, which manages the teams' own provider keys the
			// gateway calls with (the same byok.Providers).
			&stackfordevs.Handler{GW: gw, Credentials: parts.teamProviders, Usage: db, Flush: flush, Log: log, BodyLimit: cfg.BodyLimit},
			// The OpenAPI document of every API above and of the core
			// surface (GET /openapi.json), and the reference that renders
			// it (GET /docs).
			apidoc.Handler{},
		},
		batches: batchesAPI,
		background: []func(context.Context){
			runner.Run,
			func(ctx context.Context) { batchesAPI.Sweep(ctx, qs.BatchSweep) },
		},
	}, nil
}

// webhookAllow parses the ranges batch webhooks may reach although private.
func webhookAllow(cfg config.Config) []netip.Prefix {
	var allow []netip.Prefix
	for _, c := range cfg.WebhookAllowCIDRs {
		allow = append(allow, netip.MustParsePrefix(c)) // checked by config.Validate
	}
	return allow
}

// defaultAuthFailures is LLMSERVICE_AUTH_FAILURES_PER_MINUTE's default.
const defaultAuthFailures = 20

// authGuards returns the throttles of failed authentications: per client
// address (the setting; the HTTP server's) and per Django username (half of
// it, at least 1; the Django API's). -1 turns both off.
func authGuards(cfg config.Config) (perAddress, perUser *authguard.Guard) {
	n := cfg.AuthFailuresPerMinute
	switch {
	case n < 0:
		return nil, nil
	case n == 0:
		n = defaultAuthFailures
	}
	return authguard.New(n, nil), authguard.New(max(1, n/2), nil)
}

// djangoTokens lets the Django API's access tokens authenticate on every
// dialect (gateway.Config.Tokens). The secret is read on first use, from
// the same place the Django API reads it, so that the gateway can be built
// first and a failed read is retried rather than fatal.
func djangoTokens(cfg config.Config, db store, now func() time.Time) gateway.TokenVerifier {
	return &django.LazyVerifier{Load: func(ctx context.Context) ([]byte, error) { return djangoSecret(ctx, cfg, db) }, Now: now}
}

// jwtSecretSetting names the generated secret in the settings table. It is
// stored as is (there is no key to encrypt it with), so the database file
// must be protected like the secret itself; it is never logged.
const jwtSecretSetting = "jwt_secret"

// djangoSecret returns the configured secret, or the one generated on first
// start (two processes starting at once agree on the first one written).
func djangoSecret(ctx context.Context, cfg config.Config, db store) ([]byte, error) {
	if s := cfg.JWT.Secret; s != "" {
		return []byte(s), nil
	}
	s, err := db.SetSettingIfAbsent(ctx, jwtSecretSetting, rand.Text()+rand.Text())
	if err != nil {
		return nil, fmt.Errorf("jwt secret: %w", err)
	}
	return []byte(s), nil
}

// djangoInstances lists the gateway's instances in configuration order
// (which decides what "inhouse" means when several could be), then those
// the configuration does not declare (the built-in mock).
func djangoInstances(cfg config.Config, gw *gateway.Gateway) []django.Instance {
	var out []django.Instance
	var names []string
	for _, p := range cfg.Providers {
		if _, ok := gw.Instance(p.Name); ok {
			out = append(out, django.Instance{Name: p.Name, Family: p.Type})
			names = append(names, p.Name)
		}
	}
	for _, n := range gw.InstanceNames() {
		if !slices.Contains(names, n) {
			in, _ := gw.Instance(n)
			out = append(out, django.Instance{Name: n, Family: in.Family})
		}
	}
	return out
}
