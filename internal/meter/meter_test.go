package meter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/meter"
)

// store is a fake meter.Store. It copies each batch (the writer reuses its
// buffer), can fail its first inserts, can hold inserts until released, and
// reports each stored batch on inserted so tests wait for events, not time.
type store struct {
	mu       sync.Mutex
	batches  [][]string // record IDs per stored batch
	attempts [][]string // every InsertUsage call, failed ones included
	failures int
	gate     chan struct{}
	entered  chan struct{} // receives once per insert held at the gate
	inserted chan int
}

func newStore() *store { return &store{inserted: make(chan int, 1<<16)} }

func (s *store) InsertUsage(ctx context.Context, recs []llmservice.UsageRecord) error {
	if s.gate != nil {
		if s.entered != nil {
			s.entered <- struct{}{}
		}
		<-s.gate
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts = append(s.attempts, ids)
	if s.failures > 0 {
		s.failures--
		return errors.New("database is locked")
	}
	s.batches = append(s.batches, ids)
	s.inserted <- len(ids)
	return nil
}

// wait blocks until n more batches are stored. A writer that never writes
// hangs here until the test binary's -timeout reports where it stuck.
func (s *store) wait(n int) {
	for range n {
		<-s.inserted
	}
}

func (s *store) sizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for _, b := range s.batches {
		out = append(out, len(b))
	}
	return out
}

func (s *store) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, b := range s.batches {
		out = append(out, b...)
	}
	return out
}

func rec(i int) llmservice.UsageRecord {
	return llmservice.UsageRecord{ID: strconv.Itoa(i), Endpoint: "chat", PromptTokens: i}
}

func idRange(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// never is an interval long enough that the ticker plays no part in a test.
const never = time.Hour

func newWriter(t *testing.T, s meter.Store, cfg meter.Config) *meter.Writer {
	t.Helper()
	cfg.Logger = quiet
	w := meter.New(s, cfg)
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	return w
}

func TestBatchesBySize(t *testing.T) {
	s := newStore()
	w := newWriter(t, s, meter.Config{BatchSize: 3, Interval: never})
	for i := range 7 {
		w.Record(rec(i))
	}
	s.wait(2)
	if diff := cmp.Diff([]int{3, 3}, s.sizes()); diff != "" {
		t.Errorf("batch sizes before Flush mismatch (-want +got):\n%s", diff)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatalf("Flush() error = %v", err)
	}
	if diff := cmp.Diff([]int{3, 3, 1}, s.sizes()); diff != "" {
		t.Errorf("batch sizes after Flush mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(idRange(0, 7), s.ids()); diff != "" {
		t.Errorf("stored records mismatch (-want +got):\n%s", diff)
	}
}

func TestBatchesByInterval(t *testing.T) {
	s := newStore()
	w := newWriter(t, s, meter.Config{BatchSize: 100, Interval: time.Millisecond})
	w.Record(rec(1))
	w.Record(rec(2))
	// No Flush or Close: only the ticker can write a batch this small.
	got := 0
	for got < 2 {
		got += <-s.inserted
	}
	if diff := cmp.Diff([]string{"1", "2"}, s.ids()); diff != "" {
		t.Errorf("stored records mismatch (-want +got):\n%s", diff)
	}
}

func TestFlushWritesWhatIsQueued(t *testing.T) {
	s := newStore()
	w := newWriter(t, s, meter.Config{BatchSize: 100, Interval: never})
	if err := w.Flush(context.Background()); err != nil {
		t.Fatalf("Flush(nothing queued) error = %v", err)
	}
	if got := s.sizes(); len(got) != 0 {
		t.Errorf("Flush with nothing queued wrote batches %v", got)
	}
	for i := range 5 {
		w.Record(rec(i))
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatalf("Flush() error = %v", err)
	}
	if diff := cmp.Diff([]int{5}, s.sizes()); diff != "" {
		t.Errorf("batch sizes mismatch (-want +got):\n%s", diff)
	}
}

func TestCloseWritesEverythingBuffered(t *testing.T) {
	s := newStore()
	w := meter.New(s, meter.Config{BatchSize: 64, Interval: never, Logger: quiet})
	for i := range 1000 {
		w.Record(rec(i))
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	if diff := cmp.Diff(idRange(0, 1000), s.ids()); diff != "" {
		t.Errorf("stored records mismatch (-want +got):\n%s", diff)
	}
	for _, n := range s.sizes() {
		if n > 64 {
			t.Errorf("batch of %d records; want at most 64", n)
		}
	}
	// Closing twice is harmless, and so is a Flush after Close.
	if err := w.Close(context.Background()); err != nil {
		t.Errorf("second Close() error = %v", err)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Errorf("Flush() after Close error = %v", err)
	}
}

// A request that finishes after shutdown began still lands in the ledger.
func TestRecordAfterCloseLands(t *testing.T) {
	s := newStore()
	w := meter.New(s, meter.Config{Interval: never, Logger: quiet})
	w.Record(rec(1))
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Record(rec(2))
	w.Record(rec(3))
	if diff := cmp.Diff([]string{"1", "2", "3"}, s.ids()); diff != "" {
		t.Errorf("stored records mismatch (-want +got):\n%s", diff)
	}
}

// A usage record is money: a failing database delays it, never drops it.
func TestFailingStoreIsRetried(t *testing.T) {
	s := newStore()
	s.failures = 2
	w := meter.New(s, meter.Config{BatchSize: 10, Interval: never, Logger: quiet})
	for i := range 3 {
		w.Record(rec(i))
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(idRange(0, 3), s.ids()); diff != "" {
		t.Errorf("stored records mismatch (-want +got):\n%s", diff)
	}
	// Each retry sends the same batch again, so nothing is lost or mixed up.
	want := [][]string{idRange(0, 3), idRange(0, 3), idRange(0, 3)}
	if diff := cmp.Diff(want, s.attempts); diff != "" {
		t.Errorf("attempts mismatch (-want +got):\n%s", diff)
	}
}

func TestCloseAndFlushGiveUpAtTheirDeadline(t *testing.T) {
	s := newStore()
	s.gate = make(chan struct{})
	s.entered = make(chan struct{}, 1)
	w := meter.New(s, meter.Config{BatchSize: 1, Interval: never, Logger: quiet})
	released := false
	release := func() {
		if !released {
			released = true
			close(s.gate)
		}
	}
	t.Cleanup(release)
	w.Record(rec(1))
	<-s.entered // the writer now waits in the store for the gate

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush(cancelled) with a stuck store = %v; want context.Canceled", err)
	}
	if err := w.Close(ctx); err == nil {
		t.Error("Close(cancelled) with a stuck store = nil; want an error")
	}
	release()
	if err := w.Close(context.Background()); err != nil {
		t.Fatalf("Close() after the store recovered = %v", err)
	}
	if diff := cmp.Diff([]string{"1"}, s.ids()); diff != "" {
		t.Errorf("stored records mismatch (-want +got):\n%s", diff)
	}
}

// Requests keep finishing while the server shuts down: every record must
// land exactly once, whether it was queued before Close or written after.
func TestConcurrentRecordDuringClose(t *testing.T) {
	const workers, per = 8, 250
	s := newStore()
	// A small buffer makes Record block on backpressure while Close runs.
	w := meter.New(s, meter.Config{Buffer: 4, BatchSize: 16, Interval: time.Millisecond, Logger: quiet})
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				w.Record(llmservice.UsageRecord{ID: fmt.Sprintf("%d-%d", g, i)})
			}
		}()
	}
	s.wait(1) // the writer is busy: close in the middle of the traffic
	if err := w.Close(context.Background()); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	wg.Wait()

	seen := make(map[string]int)
	for _, id := range s.ids() {
		seen[id]++
	}
	for g := range workers {
		for i := range per {
			id := fmt.Sprintf("%d-%d", g, i)
			if seen[id] != 1 {
				t.Errorf("record %s stored %d times; want once", id, seen[id])
			}
		}
	}
	if len(seen) != workers*per {
		t.Errorf("stored %d distinct records; want %d", len(seen), workers*per)
	}
}

// TestRecordsWaitInTheBuffer: a record does not wake the run loop; it is
// taken at the tick or once a batch's worth waits (the loop used to
// receive, and so wake, for every record).
func TestRecordsWaitInTheBuffer(t *testing.T) {
	s := newStore()
	w := newWriter(t, s, meter.Config{BatchSize: 100, Interval: never})
	for i := range 10 {
		w.Record(rec(i))
	}
	time.Sleep(20 * time.Millisecond) // a run loop woken per record would have taken them
	if got := w.Buffered(); got != 10 {
		t.Errorf("Buffered() = %d, want 10: records below a batch wait for the tick", got)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatalf("Flush() error = %v", err)
	}
	if got := w.Buffered(); got != 0 || len(s.ids()) != 10 {
		t.Errorf("after Flush: Buffered() = %d, stored %d; want 0 and 10", got, len(s.ids()))
	}
}
