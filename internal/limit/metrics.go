package limit

import (
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics tell operators whether limits are shared (Redis) or per replica.
type metrics struct {
	fallbacks prometheus.Counter
	backend   *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) metrics {
	m := metrics{
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "llmservice_ratelimit_fallbacks_total",
			Help: "Times the rate limiter switched from Redis to local limits because Redis failed.",
		}),
		backend: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "llmservice_ratelimit_backend",
			Help: "1 for the backend keeping rate limits now (redis or local), 0 for the other.",
		}, []string{"backend"}),
	}
	if reg != nil {
		m.fallbacks = register(reg, m.fallbacks, log)
		m.backend = register(reg, m.backend, log)
	}
	return m
}

// register registers c, or returns the collector already registered under
// its name (a second limiter on the same registry then shares the series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C, log *slog.Logger) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	log.Warn("rate limiter: metrics not registered", "err", err)
	return c
}

func (m metrics) setBackend(name string) {
	for _, b := range []string{BackendRedis, BackendLocal} {
		v := 0.0
		if b == name {
			v = 1
		}
		m.backend.WithLabelValues(b).Set(v)
	}
}
