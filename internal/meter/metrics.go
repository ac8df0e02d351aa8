package meter

import "github.com/prometheus/client_golang/prometheus"

// metrics are the writer's series. A nil Registerer leaves them
// unregistered (tests).
type metrics struct {
	journaled, replayed, deadLetters, lost prometheus.Counter
	journalBytes, full                     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		journaled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "llmservice_usage_journaled_total",
			Help: "Usage records written to the local journal because the database could not be written.",
		}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "llmservice_usage_replayed_total",
			Help: "Usage records replayed from the local journal into the database.",
		}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "llmservice_usage_dead_letters_total",
			Help: "Usage records the database refused for good (data or constraint errors), set aside as dead letters.",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "llmservice_usage_lost_total",
			Help: "Usage records neither the database nor the journal could take, and that were dropped.",
		}),
		journalBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "llmservice_usage_journal_bytes",
			Help: "Bytes of usage records waiting in the local journal for the database.",
		}),
		full: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "llmservice_usage_ledger_full",
			Help: "1 while neither the database nor the journal can take usage records (new calls get 503, /readyz fails).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.journaled, m.replayed, m.deadLetters, m.lost, m.journalBytes, m.full)
	}
	return m
}
