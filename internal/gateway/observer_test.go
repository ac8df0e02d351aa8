package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/hostpick"
	"github.com/llmservice/llmservice/internal/llm"
)

// fakeObserver writes down what the gateway reports, as lines.
type fakeObserver struct {
	mu     sync.Mutex
	events []string
}

func (o *fakeObserver) note(format string, args ...any) {
	o.mu.Lock()
	o.events = append(o.events, fmt.Sprintf(format, args...))
	o.mu.Unlock()
}

func (o *fakeObserver) Begin(_ context.Context, rec *llmservice.UsageRecord) {
	o.note("begin %s stream=%v", rec.RequestedModel, rec.Stream)
}

func (o *fakeObserver) Settled(rec *llmservice.UsageRecord, u llm.Usage, model string, kind llmservice.Kind) {
	o.note("settled %d label=%s tokens=%d kind=%s", rec.Status, model, u.Total(), kind)
}

func (o *fakeObserver) StartAttempt(ctx context.Context, d *hostpick.Deployment, n int) context.Context {
	o.note("attempt %d on %s", n, d.ID)
	return ctx
}

func (o *fakeObserver) EndAttempt(_ context.Context, d *hostpick.Deployment, err error) {
	o.note("end %s err=%v", d.ID, err != nil)
}

func (o *fakeObserver) FinishReason(_ context.Context, reason string) { o.note("finish %s", reason) }

func (o *fakeObserver) Events() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.events...)
}

// The observer sees each call begin, each attempt, the finish reason and
// the settlement, in order, for plain calls, streams and refusals.
func TestObserverSeesCalls(t *testing.T) {
	tests := []struct {
		name   string
		run    func(h *harness) error
		policy hostpick.Policy
		want   []string
	}{
		{"a call that retried", func(h *harness) error {
			_, err := h.g.Chat(context.Background(), h.call("mock/echo"), userSays("hi"))
			return err
		}, routePolicy(4), []string{
			"begin mock/echo stream=false",
			"attempt 1 on mock", "end mock err=true",
			"attempt 2 on mock", "end mock err=false",
			"finish stop",
			"settled 200 label=other tokens=17 kind=internal",
		}},
		{"a stream", func(h *harness) error {
			s, err := h.g.ChatStream(context.Background(), h.call("mock/echo"), userSays("hi"))
			if err != nil {
				return err
			}
			_, err = drain(t, s)
			s.Close()
			return err
		}, routePolicy(4), []string{
			"begin mock/echo stream=true",
			"attempt 1 on mock", "end mock err=false",
			"finish stop", // chunks without a finish reason report none
			"settled 200 label=other tokens=7 kind=internal",
		}},
		{"a refusal before any attempt", func(h *harness) error {
			_, err := h.g.Chat(context.Background(), h.call("nowhere/x"), userSays("hi"))
			return err
		}, routePolicy(4), []string{
			"begin nowhere/x stream=false",
			"settled 404 label=other tokens=0 kind=not_found",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := &fakeObserver{}
			pv := &fakeProvider{
				chat:   failFirst(1, errUpstream503, answer("fine", &llm.Usage{PromptTokens: 10, CompletionTokens: 7})),
				stream: streamOf(&fakeStream{chunks: helloChunks(&llm.Usage{PromptTokens: 5, CompletionTokens: 2})}),
			}
			h := newHarness(t, env{instances: []Instance{one("mock", "mock", pv)}, policy: tt.policy,
				cfg: func(c *Config) { c.Observer = obs }})
			tt.run(h)
			got := obs.Events()
			// A call that succeeded reports kind 0 (Internal's value) with a
			// 200: the status says it did not fail.
			if !slices.Equal(got, tt.want) {
				t.Errorf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// Another replica's messages reach this one: a key, a team, the catalog,
// and "*" (resync) each do what they say; anything else is ignored.
func TestApplyInvalidation(t *testing.T) {
	models := []*llmservice.Model{{Name: "house", Provider: "mock", UpstreamModel: "v1"}}
	h := newHarness(t, env{instances: []Instance{one("mock", "mock", &fakeProvider{})}, models: models})
	models[0] = &llmservice.Model{Name: "house", Provider: "mock", UpstreamModel: "v2"}
	for _, msg := range []string{"", "bogus", "key:", "team:"} {
		h.g.ApplyInvalidation(msg)
	}
	if p, _ := h.g.Resolve("house"); p.tiers[0][0].Model != "v1" {
		t.Errorf("after unrelated messages: upstream %q; want v1", p.tiers[0][0].Model)
	}
	h.g.ApplyInvalidation("catalog")
	if p, _ := h.g.Resolve("house"); p.tiers[0][0].Model != "v2" {
		t.Errorf("after catalog: upstream %q; want v2", p.tiers[0][0].Model)
	}
	before := h.g.resyncs.Load()
	h.g.ApplyInvalidation("*")
	if h.g.resyncs.Load() != before+1 {
		t.Error("* did not resync the cached keys")
	}
}
