package telemetry

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/llm"
)

// Token kinds of llmservice_tokens_total. prompt includes cache_read and
// cache_write (they are parts of the prompt); completion includes
// reasoning.
var tokenKinds = [...]string{"prompt", "completion", "cache_read", "cache_write", "reasoning"}

// Metrics are the request, token, cost and attempt series. Recording looks
// the label tuple up once in a map of resolved series, so the hot path
// neither hashes label values through WithLabelValues nor allocates.
type Metrics struct {
	teamLabels bool

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	ttft     *prometheus.HistogramVec
	tokens   *prometheus.CounterVec
	cost     *prometheus.CounterVec
	attempts *prometheus.CounterVec
	refusals *prometheus.CounterVec
	inFlight prometheus.Gauge

	series        resolved[seriesKey, *series]
	attemptSeries resolved[attemptKey, prometheus.Counter]
}

type seriesKey struct{ api, model, provider, team, key string }

// series are one label tuple's resolved metrics.
type series struct {
	duration, ttft prometheus.Observer
	tokens         [len(tokenKinds)]prometheus.Counter
	cost           prometheus.Counter
	statuses       resolved[int, prometheus.Counter]
	labels         []string // api, model, provider[, team, key], for new statuses
}

// attemptKey names a deployment by ID, not pointer: each catalog reload
// builds new deployments with the same IDs.
type attemptKey struct {
	id      string
	failed  bool
	outcome llmservice.Kind // when failed
}

// NewMetrics registers the series on reg. teamLabels adds team and key
// labels to the request, latency, token and cost series: one series per
// key, so only for gateways with few keys.
func NewMetrics(reg prometheus.Registerer, teamLabels bool) *Metrics {
	with := func(l ...string) []string {
		if teamLabels {
			l = append(l, "team", "key")
		}
		return l
	}
	m := &Metrics{
		teamLabels: teamLabels,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmservice_requests_total",
			Help: "Calls through the gateway by API, public model, provider instance and HTTP status.",
		}, with("api", "model", "provider", "status")),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "llmservice_request_duration_seconds",
			Help:    "Time from a call's admission to its last byte (retries and fallbacks included).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300},
		}, with("api", "model", "provider")),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "llmservice_time_to_first_token_seconds",
			Help:    "Time from a streamed call's admission to its first chunk.",
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 2, 5, 10, 30},
		}, with("api", "model", "provider")),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmservice_tokens_total",
			Help: "Tokens by kind: prompt (cache_read and cache_write are parts of it), completion (reasoning is part of it).",
		}, with("kind", "model", "provider")),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmservice_cost_usd_total",
			Help: "What calls cost, in US dollars, as the ledger prices them.",
		}, with("model", "provider")),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmservice_upstream_attempts_total",
			Help: "Upstream attempts by provider instance, deployment and outcome (ok or the error kind).",
		}, []string{"provider", "deployment", "outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "llmservice_refusals_total",
			Help: "Calls refused before any upstream attempt, by reason: rate_limit, budget or credits.",
		}, []string{"reason"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "llmservice_requests_in_flight",
			Help: "Calls admitted and not yet settled (streams until their end).",
		}),
	}
	for _, r := range []string{"rate_limit", "budget", "credits"} {
		m.refusals.WithLabelValues(r) // present at 0 from the start
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.ttft, m.tokens, m.cost, m.attempts, m.refusals, m.inFlight)
	}
	return m
}

// Begin counts a call in flight.
func (m *Metrics) Begin() { m.inFlight.Inc() }

// Settled records a finished call: rec as the ledger has it, u with its
// cache and reasoning tokens, model its bounded label and kind its error
// kind (ignored when rec.Status is 200).
func (m *Metrics) Settled(rec *llmservice.UsageRecord, u llm.Usage, model string, kind llmservice.Kind) {
	m.inFlight.Dec()
	provider := rec.Provider
	if provider == "" {
		provider = "none"
	}
	k := seriesKey{api: rec.Endpoint, model: model, provider: provider}
	if m.teamLabels {
		k.team, k.key = rec.TeamID, rec.KeyID
	}
	s := m.seriesOf(k)
	s.status(m, rec.Status).Inc()
	s.duration.Observe(float64(rec.LatencyMS) / 1e3)
	// A stream with a provider got its first chunk (a failure before it
	// names none); its TTFT may round to 0 ms.
	if rec.Stream && rec.Provider != "" {
		s.ttft.Observe(float64(rec.TTFTMS) / 1e3)
	}
	for i, n := range [len(tokenKinds)]int{u.PromptTokens, u.CompletionTokens, u.CachedTokens,
		u.CacheWriteTokens + u.CacheWrite1hTokens, u.ReasoningTokens} {
		if n > 0 {
			s.tokens[i].Add(float64(n))
		}
	}
	if rec.Cost > 0 {
		s.cost.Add(rec.Cost.Dollars())
	}
	if rec.Status != 200 && rec.Attempts == 0 {
		switch kind {
		case llmservice.RateLimited:
			m.refusals.WithLabelValues("rate_limit").Inc()
		case llmservice.BudgetExceeded:
			m.refusals.WithLabelValues("budget").Inc()
		case llmservice.PaymentRequired:
			m.refusals.WithLabelValues("credits").Inc()
		}
	}
}

// Attempt counts one upstream attempt of d; err nil is a success.
func (m *Metrics) Attempt(d *hostpick.Deployment, err error) {
	k := attemptKey{id: d.ID}
	if err != nil {
		k.failed, k.outcome = true, llmservice.ErrorKind(err)
	}
	if c, ok := m.attemptSeries.load(k); ok {
		c.Inc()
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = k.outcome.String()
	}
	m.attemptSeries.loadOrStore(k, func() prometheus.Counter { return m.attempts.WithLabelValues(d.Instance, d.ID, outcome) }).Inc()
}

func (m *Metrics) seriesOf(k seriesKey) *series {
	if s, ok := m.series.load(k); ok {
		return s
	}
	return m.series.loadOrStore(k, func() *series { return m.newSeries(k) })
}

func (m *Metrics) newSeries(k seriesKey) *series {
	l := []string{k.api, k.model, k.provider}
	tail := []string{k.model, k.provider}
	if m.teamLabels {
		l = append(l, k.team, k.key)
		tail = append(tail, k.team, k.key)
	}
	s := &series{
		duration: m.duration.WithLabelValues(l...),
		ttft:     m.ttft.WithLabelValues(l...),
		cost:     m.cost.WithLabelValues(tail...),
		labels:   l,
	}
	for i, kind := range tokenKinds {
		s.tokens[i] = m.tokens.WithLabelValues(append([]string{kind}, tail...)...)
	}
	return s
}

func (s *series) status(m *Metrics, status int) prometheus.Counter {
	if c, ok := s.statuses.load(status); ok {
		return c
	}
	return s.statuses.loadOrStore(status, func() prometheus.Counter {
		l := append(append([]string(nil), s.labels[:3]...), strconv.Itoa(status))
		l = append(l, s.labels[3:]...)
		return m.requests.WithLabelValues(l...)
	})
}

// DeploymentStates exports the router's view of every deployment at
// scrape time: llmservice_deployment_state{provider,deployment,state} is 1
// for the current state (healthy, cooling_down, half_open) and 0 for the
// others; llmservice_deployment_in_flight counts calls in progress.
type DeploymentStates struct {
	Router *hostpick.Router
	Hosts  func() []*hostpick.Deployment
}

var (
	stateDesc = prometheus.NewDesc("llmservice_deployment_state",
		"1 for the deployment's current routing state, 0 for the others.", []string{"provider", "deployment", "state"}, nil)
	deplInFlightDesc = prometheus.NewDesc("llmservice_deployment_in_flight",
		"Calls in progress on the deployment.", []string{"provider", "deployment"}, nil)
	routeStates = []string{hostpick.StatusHealthy, hostpick.StatusCoolingDown, hostpick.StatusHalfOpen}
)

// Describe implements prometheus.Collector.
func (c DeploymentStates) Describe(ch chan<- *prometheus.Desc) {
	ch <- stateDesc
	ch <- deplInFlightDesc
}

// Collect implements prometheus.Collector.
func (c DeploymentStates) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.Router.States(c.Hosts()) {
		for _, st := range routeStates {
			v := 0.0
			if s.Status == st {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(stateDesc, prometheus.GaugeValue, v, s.Instance, s.ID, st)
		}
		ch <- prometheus.MustNewConstMetric(deplInFlightDesc, prometheus.GaugeValue, float64(s.InFlight), s.Instance, s.ID)
	}
}
