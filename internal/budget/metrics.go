package budget

import (
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics tell operators whether budgets are shared (Redis) or per replica.
type metrics struct {
	fallbacks prometheus.Counter
	dropped   prometheus.Counter
	backend   *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) metrics {
	m := metrics{
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "llmservice_budget_fallbacks_total",
			Help: "Times budgets switched from Redis to local figures per replica because Redis failed.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "llmservice_budget_dropped_settles_total",
			Help: "Settles not booked to Redis because too many waited for it during an outage.",
		}),
		backend: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "llmservice_budget_backend",
			Help: "1 for the backend keeping budgets now (redis or local), 0 for the other.",
		}, []string{"backend"}),
	}
	if reg != nil {
		m.fallbacks = register(reg, m.fallbacks, log)
		m.dropped = register(reg, m.dropped, log)
		m.backend = register(reg, m.backend, log)
	}
	return m
}

// register registers c, or returns the collector already registered under
// its name (a second accountant on the same registry then shares the series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C, log *slog.Logger) C {
	var are prometheus.AlreadyRegisteredError
	err := reg.Register(c)
	if err == nil {
		return c
	}
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	log.Warn("budgets: metrics not registered", "err", err)
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
