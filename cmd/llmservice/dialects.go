package main

import (
	"github.com/llmservice/llmservice/internal/authguard"
	"log/slog"
	"net/http"

	"github.com/llmservice/llmservice/internal/config"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/meter"
	"github.com/llmservice/llmservice/internal/outage"
)

// deps is what a seed service's API needs to be built.
type deps struct {
	Config  config.Config
	Gateway *gateway.Gateway
	DB      store
	Meter   *meter.Writer
	Logger  *slog.Logger
	// Background runs goroutines (queue workers, webhook senders) that must
	// stop, and finish what they hold, before the process exits.
	Background *background
	// Outages receives the metrics of dependency outages (internal/outage).
	Outages *outage.Metrics
	// UserGuard throttles failed logins per username.
	UserGuard *authguard.Guard
}

// registrar mounts one API on the mux.
type registrar interface {
	Register(mux *http.ServeMux)
}

// dialectBuilders lists the seed services' APIs. Each wire_<name>.go file in
// this package adds its builder from init, so that adding an API touches one
// file here and its own package.
var dialectBuilders []func(d *deps) (registrar, error)

// buildDialects builds every registered API.
func buildDialects(d *deps) ([]registrar, error) {
	var out []registrar
	for _, b := range dialectBuilders {
		r, err := b(d)
		if err != nil {
			return nil, err
		}
		if r != nil {
			out = append(out, r)
		}
	}
	return out, nil
}
