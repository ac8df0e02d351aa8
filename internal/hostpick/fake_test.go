package hostpick

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

// fakeProvider is an llm.Provider that fails on demand: each call takes the
// next scripted error (nil succeeds); when the script runs out, calls
// succeed.
type fakeProvider struct {
	mu     sync.Mutex
	script []error
	calls  int
}

func (f *fakeProvider) next() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.script) == 0 {
		return nil
	}
	err := f.script[0]
	f.script = f.script[1:]
	return err
}

func (f *fakeProvider) failNext(errs ...error) {
	f.mu.Lock()
	f.script = append(f.script, errs...)
	f.mu.Unlock()
}

func (f *fakeProvider) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeProvider) Chat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	if err := f.next(); err != nil {
		return nil, err
	}
	return &llm.ChatResponse{Model: req.Model}, nil
}

func (f *fakeProvider) ChatStream(ctx context.Context, req *llm.ChatRequest) (llm.Stream, error) {
	return nil, errors.New("fakeProvider: streams are not faked")
}

// healthProvider adds a Health method whose answer the test sets; every
// probe is announced on probed when it is non-nil.
type healthProvider struct {
	fakeProvider
	hmu    sync.Mutex
	health error
	probes int
	probed chan struct{}
}

func (h *healthProvider) setHealth(err error) {
	h.hmu.Lock()
	h.health = err
	h.hmu.Unlock()
}

func (h *healthProvider) Probes() int {
	h.hmu.Lock()
	defer h.hmu.Unlock()
	return h.probes
}

func (h *healthProvider) Health(ctx context.Context) error {
	h.hmu.Lock()
	h.probes++
	err := h.health
	h.hmu.Unlock()
	if h.probed != nil {
		h.probed <- struct{}{}
	}
	return err
}

// chat is the fn every test hands to Do: one chat call to the deployment.
func chat(ctx context.Context, d *Deployment) error {
	_, err := d.Provider.Chat(ctx, &llm.ChatRequest{Model: d.Model})
	return err
}

// Upstream failures as the adapters report them.
func statusErr(status int, retryAfter string) error {
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return upstream.StatusError(status, h, []byte(`{"error":{"message":"fake failure"}}`))
}

var (
	err400 = statusErr(400, "")
	err500 = statusErr(500, "")
	err503 = statusErr(503, "")
	// errRefused is what upstream.Do returns when nothing listens.
	errRefused = upstream.TransportError(context.Background(), &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
	errTimeout = &llmservice.Error{Kind: llmservice.UpstreamTimeout, Message: "upstream timed out"}
)

func err429(retryAfter string) error { return statusErr(429, retryAfter) }

// clock is a fake clock; tests move it by hand or through fakeSleep.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sleeps records every wait the router asks for and advances the clock by
// it instead of waiting.
type sleeps struct {
	mu  sync.Mutex
	clk *clock
	got []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.got = append(s.got, d)
	s.mu.Unlock()
	s.clk.Advance(d)
	return ctx.Err()
}

func (s *sleeps) Got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.got...)
}

// maxSource makes every draw the largest possible, so that jittered waits
// are deterministic: Int64N(n) returns n-1.
type maxSource struct{}

func (maxSource) Uint64() uint64 { return ^uint64(0) }

// harness is a router with a fake clock and sleep.
type harness struct {
	*Router
	clk    *clock
	sleeps *sleeps
}

func newHarness(p Policy, src rand.Source) *harness {
	clk := newClock()
	s := &sleeps{clk: clk}
	if src == nil {
		src = maxSource{}
	}
	return &harness{Router: New(p, WithClock(clk.Now), WithSleep(s.sleep), WithRand(src)), clk: clk, sleeps: s}
}

// dep builds a deployment served by a fake with the given script.
func dep(id string, script ...error) *Deployment {
	return &Deployment{ID: id, Instance: id, Model: "m", Provider: &fakeProvider{script: script}}
}

// trace renders attempts as "id:ok" or "id:<error kind>" for comparison.
func trace(as []Attempt) []string {
	out := make([]string, len(as))
	for i, a := range as {
		s := "ok"
		if a.Err != nil {
			s = llmservice.ErrorKind(a.Err).String()
			var e *llmservice.Error
			if errors.As(a.Err, &e) && e.Status != 0 {
				s = fmt.Sprint(e.Status)
			}
		}
		out[i] = a.DeploymentID + ":" + s
	}
	return out
}

func stateOf(t *testing.T, r *Router, d *Deployment) State {
	t.Helper()
	return r.States([]*Deployment{d})[0]
}
