// Package redisfallback keeps a component whose state lives in Redis up
// while Redis is down: it switches the component to a local, per-replica
// backend once per outage, and pings Redis until it answers to switch back.
package redisfallback

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Backends reported by Backend and labelling the backend gauge.
const (
	Redis = "redis"
	Local = "local"
)

// DefaultProbeInterval replaces a zero Options.ProbeInterval.
const DefaultProbeInterval = time.Second

// Options configures a Switch.
type Options struct {
	// Name starts every log line ("rate limiter", "budgets"), so that an
	// operator can tell which component switched.
	Name string
	// FailMessage and BackMessage are logged, after Name, when the switch
	// goes local and when it returns to Redis.
	FailMessage, BackMessage string
	// Metric starts the names of the counter of fallbacks
	// (Metric+"_fallbacks_total") and of the gauge of the backend in use
	// (Metric+"_backend", labelled backend="redis" or "local").
	Metric                     string
	FallbacksHelp, BackendHelp string
	// Registry receives the metrics; nil registers none.
	Registry prometheus.Registerer
	// Logger receives the switches (slog.Default() if nil).
	Logger *slog.Logger
	// ProbeInterval is how often Ping runs while Redis is down.
	ProbeInterval time.Duration
	// Ping answers nil once Redis is usable again (Pinger makes the usual
	// one). It runs with no lock held.
	Ping func() error
	// Locker orders the switches, the start of the probe and Close. A
	// caller whose own state must change with the backend passes the lock
	// guarding that state; nil uses a private one.
	Locker sync.Locker
	// OnFail, if set, runs holding Locker as the switch goes local, so
	// that no call sees the local backend before it is ready.
	OnFail func()
	// Recover, if set, runs after each answered Ping, holding no lock, to
	// bring Redis up to date before it is used again. It switches by calling
	// back while holding Locker: state kept for Redis can then be found
	// empty and the switch made with nothing slipping in between. If it
	// returns without calling back, probing goes on. Without Recover the
	// switch is made as soon as Ping answers.
	Recover func(back func())
}

// Switch tells whether a component should use Redis or its local backend,
// and moves it between the two.
type Switch struct {
	name, failMsg, backMsg string
	log                    *slog.Logger
	interval               time.Duration
	ping                   func() error
	onFail                 func()
	catchUp                func(back func())
	fallbacks              prometheus.Counter
	backend                *prometheus.GaugeVec

	onLocal atomic.Bool
	mu      sync.Locker
	closed  bool // guarded by mu
	stop    chan struct{}
	wg      sync.WaitGroup
}

// New returns a Switch on Redis. Call Close to stop its probe.
func New(o Options) *Switch {
	s := &Switch{
		name:     o.Name,
		failMsg:  o.FailMessage,
		backMsg:  o.BackMessage,
		log:      o.Logger,
		interval: o.ProbeInterval,
		ping:     o.Ping,
		onFail:   o.OnFail,
		catchUp:  o.Recover,
		mu:       o.Locker,
		stop:     make(chan struct{}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: o.Metric + "_fallbacks_total",
			Help: o.FallbacksHelp,
		}),
		backend: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: o.Metric + "_backend",
			Help: o.BackendHelp,
		}, []string{"backend"}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.interval <= 0 {
		s.interval = DefaultProbeInterval
	}
	if s.mu == nil {
		s.mu = new(sync.Mutex)
	}
	if o.Registry != nil {
		s.fallbacks = Register(o.Registry, s.fallbacks, s.log, s.name)
		s.backend = Register(o.Registry, s.backend, s.log, s.name)
	}
	s.setBackend(Redis)
	return s
}

// Register registers c, or returns the collector already registered under
// its name, so that two components on one registry share the series rather
// than fail. name starts the warning logged on any other error.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C, log *slog.Logger, name string) C {
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
	log.Warn(name+": metrics not registered", "err", err)
	return c
}

// Fallbacks counts the switches to local.
func (s *Switch) Fallbacks() prometheus.Counter { return s.fallbacks }

// BackendGauge is 1 for the backend in use and 0 for the other.
func (s *Switch) BackendGauge() *prometheus.GaugeVec { return s.backend }

// OnLocal reports whether the local backend is to be used.
func (s *Switch) OnLocal() bool { return s.onLocal.Load() }

// Backend returns Redis or Local.
func (s *Switch) Backend() string {
	if s.onLocal.Load() {
		return Local
	}
	return Redis
}

// Fail switches to local after Redis failed with err. Only the first failure
// of an outage switches, counts and logs; later ones find it local already.
func (s *Switch) Fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.onLocal.Load() {
		return
	}
	if s.onFail != nil {
		s.onFail()
	}
	s.onLocal.Store(true)
	s.fallbacks.Inc()
	s.setBackend(Local)
	s.log.Warn(s.name+": "+s.failMsg, "err", err)
	if !s.closed {
		s.wg.Add(1)
		go s.probe()
	}
}

// Close stops the probe and waits for it to end. After Close, a failure
// still switches to local, for good.
func (s *Switch) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.stop)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Switch) probe() {
	defer s.wg.Done()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if err := s.ping(); err != nil {
			continue
		}
		if !s.switchBack() {
			continue
		}
		s.log.Info(s.name + ": " + s.backMsg)
		return
	}
}

// switchBack runs Recover and reports whether it switched.
func (s *Switch) switchBack() bool {
	switched := false
	back := func() {
		s.onLocal.Store(false)
		s.setBackend(Redis)
		switched = true
	}
	if s.catchUp == nil {
		s.mu.Lock()
		back()
		s.mu.Unlock()
		return true
	}
	s.catchUp(back)
	return switched
}

// Connect loads scripts into rdb within timeout, so that requests find them
// cached, and goes local if Redis does not answer: a component starts even
// while Redis is down.
func (s *Switch) Connect(rdb redis.UniversalClient, timeout time.Duration, scripts ...*redis.Script) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := loadScripts(ctx, rdb, scripts...); err != nil {
		s.Fail(err)
	}
}

func loadScripts(ctx context.Context, rdb redis.UniversalClient, scripts ...*redis.Script) error {
	for _, s := range scripts {
		if err := s.Load(ctx, rdb).Err(); err != nil {
			return err
		}
	}
	return nil
}

// Pinger returns a Ping that checks rdb within timeout and reloads scripts,
// which a restarted Redis has forgotten (Script.Run would fall back to EVAL,
// but one EVALSHA miss is cheaper in the probe than on a request).
func Pinger(rdb redis.UniversalClient, timeout time.Duration, scripts ...*redis.Script) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := rdb.Ping(ctx).Err(); err != nil {
			return err
		}
		return loadScripts(ctx, rdb, scripts...)
	}
}

func (s *Switch) setBackend(name string) {
	for _, b := range []string{Redis, Local} {
		v := 0.0
		if b == name {
			v = 1
		}
		s.backend.WithLabelValues(b).Set(v)
	}
}
