// Package outage tracks whether a dependency (the database, the
// invalidation bus) is answering, so that a loop that polls it logs an
// outage once when it begins and once when it ends, instead of once per
// failed attempt. Attempts are counted in metrics, where a rate is useful,
// rather than in the log, where 284 identical lines hide everything else.
package outage

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the series every Tracker made from one Metrics feeds,
// labelled by component and dependency.
type Metrics struct {
	up       *prometheus.GaugeVec
	failures *prometheus.CounterVec
	outages  *prometheus.CounterVec
}

// NewMetrics registers the outage series on reg:
// llmservice_dependency_up (1 answering, 0 down),
// llmservice_dependency_failures_total (every failed attempt) and
// llmservice_dependency_outages_total (every change from up to down).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	labels := []string{"component", "dependency"}
	m := &Metrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "llmservice_dependency_up",
			Help: "1 while the component's last attempt to use the dependency succeeded, 0 during an outage.",
		}, labels),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmservice_dependency_failures_total",
			Help: "Failed attempts of a component to use a dependency (only the first of an outage is logged).",
		}, labels),
		outages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmservice_dependency_outages_total",
			Help: "Outages a component saw: changes of the dependency from answering to failing.",
		}, labels),
	}
	if reg != nil {
		reg.MustRegister(m.up, m.failures, m.outages)
	}
	return m
}

// Tracker follows one component's view of one dependency. It is safe for
// concurrent use: several workers of a component may share it, and the
// outage is still logged once.
type Tracker struct {
	component, dependency string
	log                   *slog.Logger
	now                   func() time.Time
	up                    prometheus.Gauge
	failures, outages     prometheus.Counter

	isDown   atomic.Bool // read without the lock: OK and Down are on hot paths
	mu       sync.Mutex
	down     bool
	since    time.Time // start of the current outage
	attempts int       // failed attempts in the current outage
}

// Tracker returns a tracker for component's use of dependency (both short
// words: "queue", "database"). A nil *Metrics gives a tracker that only
// logs; a nil log logs to slog.Default().
func (m *Metrics) Tracker(component, dependency string, log *slog.Logger) *Tracker {
	if log == nil {
		log = slog.Default()
	}
	t := &Tracker{component: component, dependency: dependency, log: log, now: time.Now}
	if m != nil {
		t.up = m.up.WithLabelValues(component, dependency)
		t.failures = m.failures.WithLabelValues(component, dependency)
		t.outages = m.outages.WithLabelValues(component, dependency)
		t.up.Set(1)
	}
	return t
}

// New returns a tracker without metrics.
func New(component, dependency string, log *slog.Logger) *Tracker {
	return (*Metrics)(nil).Tracker(component, dependency, log)
}

// Fail records a failed attempt. The first failure of an outage is logged
// at warning level with err and what the component does meanwhile
// (meanwhile, e.g. "retrying every second"); later ones are only counted.
// It reports whether this call began an outage.
func (t *Tracker) Fail(err error, meanwhile string) bool {
	if t == nil {
		return false
	}
	if t.failures != nil {
		t.failures.Inc()
	}
	t.mu.Lock()
	t.attempts++
	if t.down {
		t.mu.Unlock()
		return false
	}
	t.down, t.since, t.attempts = true, t.now(), 1
	t.isDown.Store(true)
	t.mu.Unlock()
	if t.up != nil {
		t.up.Set(0)
		t.outages.Inc()
	}
	t.log.Warn(t.component+": "+t.dependency+" unavailable; "+meanwhile+" (logged once until it answers)", "err", err)
	return true
}

// OK records a successful attempt. The first one after an outage is logged
// with how long the outage lasted and how many attempts failed. It
// reports whether this call ended an outage.
func (t *Tracker) OK() bool {
	if t == nil || !t.isDown.Load() {
		return false
	}
	t.mu.Lock()
	if !t.down {
		t.mu.Unlock()
		return false
	}
	t.down = false
	t.isDown.Store(false)
	lasted, attempts := t.now().Sub(t.since), t.attempts
	t.mu.Unlock()
	if t.up != nil {
		t.up.Set(1)
	}
	t.log.Info(t.component+": "+t.dependency+" answers again", "outage", lasted.Round(time.Millisecond), "failed_attempts", attempts)
	return true
}

// Down reports whether the last attempt failed.
func (t *Tracker) Down() bool {
	return t != nil && t.isDown.Load()
}
