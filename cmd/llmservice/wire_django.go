package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"

	"github.com/llmservice/llmservice/internal/config"
	"github.com/llmservice/llmservice/internal/dialect/django"
	"github.com/llmservice/llmservice/internal/gateway"
)

// The Django LLM Service API (/, /api/signup/, /api/token/...). Its JWT
// settings are config.Config.JWT (LLMSERVICE_JWT_SECRET, _ACCESS_TTL,
// _REFRESH_TTL); with no secret set, one is generated once and kept in the
// database's settings.
func init() {
	dialectBuilders = append(dialectBuilders, func(d *deps) (registrar, error) {
		secret, err := djangoSecret(context.Background(), d.Config, d.DB)
		if err != nil {
			return nil, err
		}
		return &django.Handler{
			GW: d.Gateway, Users: d.DB, Keys: d.DB,
			Tokens:    &django.Tokens{Secret: secret, AccessTTL: d.Config.JWT.AccessTTL, RefreshTTL: d.Config.JWT.RefreshTTL, Now: clock},
			Providers: django.MapProviders(djangoInstances(d.Config, d.Gateway)),
			Log:       d.Logger, BodyLimit: d.Config.BodyLimit, Throttle: d.UserGuard, Now: clock,
		}, nil
	})
}

// djangoTokens lets the Django API's access tokens authenticate on every
// dialect (gateway.Config.Tokens). The secret is read on first use, from
// the same place the dialect reads it.
func djangoTokens(cfg config.Config, db store) gateway.TokenVerifier {
	return &django.LazyVerifier{Load: func(ctx context.Context) ([]byte, error) { return djangoSecret(ctx, cfg, db) }, Now: clock}
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
