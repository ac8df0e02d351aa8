package budget

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmservice/llmservice/internal/redisfallback"
)

// metrics tell operators whether budgets are shared (Redis) or per replica,
// and what an outage cost in settles Redis never got.
type metrics struct {
	fallbacks prometheus.Counter
	dropped   prometheus.Counter
	backend   *prometheus.GaugeVec
}

func newMetrics(sw *redisfallback.Switch, reg prometheus.Registerer, log *slog.Logger) metrics {
	m := metrics{
		fallbacks: sw.Fallbacks(),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "llmservice_budget_dropped_settles_total",
			Help: "Settles not booked to Redis because too many waited for it during an outage.",
		}),
		backend: sw.BackendGauge(),
	}
	if reg != nil {
		m.dropped = redisfallback.Register(reg, m.dropped, log, "budgets")
	}
	return m
}
