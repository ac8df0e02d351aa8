package outage

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Two outages of 50 failed attempts each, from 4 goroutines at once: four
// log lines in all (down, back, down, back), every attempt counted.
func TestLogsOncePerStateChange(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &buf}, nil))
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	tr := m.Tracker("queue", "database", log)
	for outage := range 2 {
		var wg sync.WaitGroup
		began := make(chan bool, 200)
		for range 4 {
			wg.Go(func() {
				for range 50 {
					began <- tr.Fail(errors.New("connection refused"), "retrying every second")
				}
			})
		}
		wg.Wait()
		close(began)
		n := 0
		for b := range began {
			if b {
				n++
			}
		}
		if n != 1 || !tr.Down() {
			t.Errorf("outage %d: %d calls began it, Down() = %v; want 1, true", outage, n, tr.Down())
		}
		if got := testutil.ToFloat64(m.up.WithLabelValues("queue", "database")); got != 0 {
			t.Errorf("outage %d: up = %v; want 0", outage, got)
		}
		if !tr.OK() || tr.OK() || tr.Down() {
			t.Errorf("outage %d: the first OK must end the outage, the second find it over", outage)
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d log lines; want 4:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"queue: database unavailable; retrying every second", "queue: database answers again",
		"queue: database unavailable", "failed_attempts=200"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q; want it to contain %q", i, lines[i], want)
		}
	}
	if got := testutil.ToFloat64(m.failures.WithLabelValues("queue", "database")); got != 400 {
		t.Errorf("failures_total = %v; want 400", got)
	}
	if got := testutil.ToFloat64(m.outages.WithLabelValues("queue", "database")); got != 2 {
		t.Errorf("outages_total = %v; want 2", got)
	}
	if got := testutil.ToFloat64(m.up.WithLabelValues("queue", "database")); got != 1 {
		t.Errorf("up = %v; want 1", got)
	}
}

// A nil tracker (a component built without one) does nothing.
func TestNilTracker(t *testing.T) {
	var tr *Tracker
	if tr.Fail(errors.New("x"), "y") || tr.OK() || tr.Down() {
		t.Error("a nil tracker reported a change")
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
