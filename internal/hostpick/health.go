package hostpick

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/llmservice/llmservice"
)

// healthChecker is implemented by adapters that can check their upstream
// cheaply (GET /v1/models for OpenAI-compatible servers, /api/tags for Ollama).
type healthChecker interface {
	Health(ctx context.Context) error
}

// maxProbe bounds one health probe, so that a host that accepts connections
// and never answers cannot hold a check round for a long interval.
const maxProbe = 10 * time.Second

// StartHealthChecks runs RunHealthChecks in a new goroutine, which ends
// with ctx.
func (r *Router) StartHealthChecks(ctx context.Context, ds []*Deployment, interval time.Duration) {
	go r.RunHealthChecks(ctx, ds, interval)
}

// RunHealthChecks probes, every interval until ctx ends, each of ds whose
// Provider has a Health method: a healthy one whose probe fails is opened,
// and an open one whose cooldown has ended is closed on success or re-opened
// on failure. While it runs, user requests never serve as probes for these
// deployments, so that users do not pay for a probe of a host that may still
// be down; a half-open deployment waits for the next round instead. Others
// in ds are ignored (Do probes them with one real request).
func (r *Router) RunHealthChecks(ctx context.Context, ds []*Deployment, interval time.Duration) {
	hs := r.checkable(ds)
	if len(hs) == 0 || interval <= 0 {
		return
	}
	for _, d := range hs {
		r.state(d).checked.Add(1)
	}
	defer func() {
		for _, d := range hs {
			r.state(d).checked.Add(-1)
		}
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		r.checkOnce(ctx, hs, min(interval, maxProbe))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkable returns the deployments of ds with a Health method, one per ID.
func (r *Router) checkable(ds []*Deployment) []*Deployment {
	seen := make(map[string]bool, len(ds))
	var hs []*Deployment
	for _, d := range ds {
		if _, ok := d.Provider.(healthChecker); ok && !seen[d.ID] {
			seen[d.ID] = true
			hs = append(hs, d)
		}
	}
	return hs
}

// checkOnce runs one round of probes concurrently, each bounded by timeout,
// and returns when all are done. Deployments still cooling down are left
// alone.
func (r *Router) checkOnce(ctx context.Context, hs []*Deployment, timeout time.Duration) {
	var wg sync.WaitGroup
	for _, d := range hs {
		st := r.state(d)
		if until := st.openUntil.Load(); until != 0 && r.now().UnixNano() < until {
			continue
		}
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			err := d.Provider.(healthChecker).Health(pctx)
			if err != nil && ctx.Err() != nil {
				return // cut short by shutdown: the failure proves nothing
			}
			switch healthVerdict(pctx, err) {
			case vOK, vAlive:
				// An answer with a request-level error (a server without
				// /v1/models says 404) still shows the host is up.
				st.healthy()
			case vFail, vRefused:
				// A cheap request-independent probe failing is a strong
				// signal, unlike one failed user request: open at once.
				st.fails.Add(1)
				st.open(r.now(), r.p.Cooldown)
			}
		})
	}
	wg.Wait()
}

// healthVerdict is classify for probes, except that an error of unknown shape
// counts against the host: a probe has no request of its own to blame.
func healthVerdict(ctx context.Context, err error) verdict {
	var e *llmservice.Error
	if err != nil && !errors.As(err, &e) {
		return vFail
	}
	return classify(ctx, err)
}
