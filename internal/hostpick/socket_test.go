package hostpick

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/openai"
	"github.com/llmservice/llmservice/internal/provider/providertest"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

// These tests use real sockets and the real OpenAI adapter; only the
// router's clock and sleep are fake.

// deadAddr returns an address nothing listens on: listen, take it, close.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// serveAt starts h on addr, skipping the test if the port was taken in the
// meantime.
func serveAt(t *testing.T, addr string, h http.Handler) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen again on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
}

func openAIDeployment(id, baseURL string, hc *http.Client) *Deployment {
	p := openai.New(openai.Config{BaseURL: baseURL + "/v1", APIKey: "sk-test"}, hc)
	return &Deployment{ID: id, Instance: id, Model: "gpt-4o-mini", Provider: p}
}

func realChat(ctx context.Context, d *Deployment) error {
	_, err := d.Provider.Chat(ctx, &llm.ChatRequest{Model: d.Model, Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi")}})
	return err
}

// TestDeadHostSkippedAndProbedBack: a closed port refuses at once, so the
// router opens its circuit after one attempt and moves on without a wait;
// later calls skip it; once it listens again and the cooldown has passed,
// one real request probes it back to life.
func TestDeadHostSkippedAndProbedBack(t *testing.T) {
	hc := upstream.NewClient(0)
	addr := deadAddr(t)
	dead := openAIDeployment("dead", "http://"+addr, hc)
	backupUp := providertest.NewOpenAI(t)
	backup := openAIDeployment("backup", backupUp.URL, hc)
	backup.Priority = 1
	plan := [][]*Deployment{{dead, backup}}
	h := newHarness(Policy{Cooldown: 30 * time.Second}, nil)

	out, err := h.Do(context.Background(), plan, Weighted, realChat)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if diff := cmp.Diff([]string{"dead:upstream", "backup:ok"}, trace(out.Attempts)); diff != "" {
		t.Errorf("first call (-want +got):\n%s", diff)
	}
	if got := h.sleeps.Got(); len(got) != 0 {
		t.Errorf("router waited %v before leaving a refused host; want no wait", got)
	}
	if s := stateOf(t, h.Router, dead); s.Status != StatusCoolingDown {
		t.Fatalf("dead host status %q; want cooling_down", s.Status)
	}

	out, _ = h.Do(context.Background(), plan, Weighted, realChat)
	if diff := cmp.Diff([]string{"backup:ok"}, trace(out.Attempts)); diff != "" {
		t.Errorf("second call (-want +got):\n%s", diff)
	}

	revived := providertest.NewOpenAI(t)
	serveAt(t, addr, revived.Config.Handler)
	h.clk.Advance(30 * time.Second)
	out, err = h.Do(context.Background(), plan, Weighted, realChat)
	if err != nil || cmp.Diff([]string{"dead:ok"}, trace(out.Attempts)) != "" {
		t.Errorf("after cooldown: %v, %v; want dead:ok", trace(out.Attempts), err)
	}
	if n := len(revived.Requests()); n != 1 {
		t.Errorf("revived host got %d requests; want 1 (the probe)", n)
	}
	if s := stateOf(t, h.Router, dead); s.Status != StatusHealthy {
		t.Errorf("revived host status %q; want healthy", s.Status)
	}
}

// TestDeadHostHealthCheckPath: the same dead host found and brought back by
// the background checker (the adapter's Health lists /v1/models), so that no
// user request pays for either.
func TestDeadHostHealthCheckPath(t *testing.T) {
	hc := upstream.NewClient(0)
	addr := deadAddr(t)
	dead := openAIDeployment("dead", "http://"+addr, hc)
	ds := []*Deployment{dead}
	h := newHarness(Policy{Cooldown: 30 * time.Second}, nil)

	h.checkOnce(context.Background(), ds, time.Second)
	if s := stateOf(t, h.Router, dead); s.Status != StatusCoolingDown {
		t.Fatalf("after a refused probe: %q; want cooling_down", s.Status)
	}

	revived := providertest.NewOpenAI(t)
	serveAt(t, addr, revived.Config.Handler)
	h.checkOnce(context.Background(), ds, time.Second)
	if n := len(revived.Requests()); n != 0 {
		t.Errorf("checker probed a host still cooling down (%d requests)", n)
	}

	h.clk.Advance(30 * time.Second)
	h.checkOnce(context.Background(), ds, time.Second)
	if s := stateOf(t, h.Router, dead); s.Status != StatusHealthy {
		t.Errorf("after a good probe: %q; want healthy", s.Status)
	}
	reqs := revived.Requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/v1/models" {
		t.Errorf("revived host got %+v; want one GET /v1/models", reqs)
	}
}
