package meter_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/meter"
)

// ledger is a fake store that behaves as the real ones do where these
// tests look: it drops a record whose ID it holds already, refuses a batch
// holding a "bad" record for good (Invalid), and fails as Unavailable while
// down. hang makes every insert wait until its context ends.
type ledger struct {
	mu    sync.Mutex
	ids   map[string]int // times each ID was inserted (1 at most)
	order []string
	down  bool
	hang  bool
	calls int
}

func newLedger() *ledger { return &ledger{ids: map[string]int{}} }

func (l *ledger) InsertUsage(ctx context.Context, recs []llmservice.UsageRecord) error {
	l.mu.Lock()
	l.calls++
	hang, down := l.hang, l.down
	l.mu.Unlock()
	if hang {
		<-ctx.Done()
		return &llmservice.Error{Kind: llmservice.Unavailable, Message: "database unavailable", Err: ctx.Err()}
	}
	if down {
		return &llmservice.Error{Kind: llmservice.Unavailable, Message: "database unavailable"}
	}
	for _, r := range recs {
		if strings.HasPrefix(r.ID, "bad") {
			return &llmservice.Error{Kind: llmservice.Invalid, Message: "invalid byte sequence (22021)"}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		if l.ids[r.ID] == 0 {
			l.order = append(l.order, r.ID)
		}
		l.ids[r.ID]++
	}
	return nil
}

func (l *ledger) set(down, hang bool) {
	l.mu.Lock()
	l.down, l.hang = down, hang
	l.mu.Unlock()
}

// stored returns the IDs stored, sorted.
func (l *ledger) stored() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.order)
	slices.Sort(out)
	return out
}

func sortedRange(from, to int) []string {
	out := idRange(from, to)
	slices.Sort(out)
	return out
}

// segments lists the journal's segment files.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "usage-*-*-*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// Close once waited for a lock that a Record blocked on the full buffer
// held: shutdown hung for ever. Now Close returns within its deadline and
// says how many records it could keep nowhere, and blocked Records return.
func TestCloseWithFullBufferAndHungStoreReturns(t *testing.T) {
	l := newLedger()
	l.set(false, true)
	w := meter.New(l, meter.Config{Buffer: 1, BatchSize: 1, Interval: never, Logger: quiet})
	const n = 6
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Record(rec(i)) // all but the first two block on the full buffer
		}()
	}
	// Let the writer take one record into the hung store and fill the
	// buffer behind it, so that Records are blocked when Close comes.
	for {
		l.mu.Lock()
		c := l.calls
		l.mu.Unlock()
		if c > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- w.Close(ctx) }()
	select {
	case err := <-errc:
		if err == nil || !regexp.MustCompile(`\d+ usage records could be written neither`).MatchString(err.Error()) {
			t.Errorf("Close() = %v; want the number of records lost", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Close did not return: deadlocked with Records blocked on the full buffer")
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Records still blocked after Close")
	}
}

// A record the database refuses for good is set aside; its batch-mates
// and everything after it are stored.
func TestPermanentRefusalIsolatesTheRecord(t *testing.T) {
	l := newLedger()
	dir := t.TempDir()
	w := newWriter(t, l, meter.Config{BatchSize: 64, Interval: never, Journal: meter.NewJournal(dir, 1<<20)})
	for i := range 100 {
		if i == 37 {
			w.Record(llmservice.UsageRecord{ID: "bad-37", TeamID: "evil"})
		}
		w.Record(rec(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush() = %v; a refused record must not hold the ledger", err)
	}
	if diff := cmp.Diff(sortedRange(0, 100), l.stored()); diff != "" {
		t.Errorf("stored records mismatch (-want +got):\n%s", diff)
	}
	b, err := os.ReadFile(filepath.Join(dir, "usage-dead-letters.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), "\n"); got != 1 || !strings.Contains(string(b), `"ID":"bad-37"`) {
		t.Errorf("dead letters = %q; want the one refused record", b)
	}
	if got := segments(t, dir); len(got) != 0 {
		t.Errorf("journal segments %v; want none (the database was up)", got)
	}
}

// While the database cannot be written, records go to the journal; the
// next start replays them, once each, and empties the journal.
func TestJournalKeepsRecordsUntilTheDatabaseReturns(t *testing.T) {
	dir := t.TempDir()
	down := newLedger()
	down.set(true, false)
	w := meter.New(down, meter.Config{BatchSize: 16, Interval: never, Logger: quiet, Journal: meter.NewJournal(dir, 1<<20)})
	for i := range 100 {
		w.Record(rec(i))
	}
	if err := w.Flush(context.Background()); err == nil {
		t.Error("Flush() with the database down = nil; want an error (records wait in the journal)")
	}
	if w.Full() {
		t.Error("Full() = true while the journal takes records")
	}
	for i := 100; i < 130; i++ {
		w.Record(rec(i))
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatalf("Close() = %v; want nil (everything journaled)", err)
	}
	if got := segments(t, dir); len(got) == 0 {
		t.Fatal("no journal segment written")
	}

	// Restart: the first 40 records made it into the database before the
	// crash in some other way (a write whose success was not seen); the
	// replay must not count them twice.
	up := newLedger()
	for i := range 40 {
		_ = up.InsertUsage(context.Background(), []llmservice.UsageRecord{rec(i)})
	}
	w2 := newWriter(t, up, meter.Config{BatchSize: 16, Interval: never, Journal: meter.NewJournal(dir, 1<<20)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for w2.Flush(ctx) != nil {
		if ctx.Err() != nil {
			t.Fatal("journal never replayed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if diff := cmp.Diff(sortedRange(0, 130), up.stored()); diff != "" {
		t.Errorf("stored records mismatch (-want +got):\n%s", diff)
	}
	for id, n := range up.ids {
		if n != 1 && !(n == 2 && mustAtoi(t, id) < 40) {
			t.Errorf("record %s inserted %d times", id, n)
		}
	}
	if got := segments(t, dir); len(got) != 0 {
		t.Errorf("journal segments after replay %v; want none", got)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The database comes back while the process runs: the journal drains into
// it without a restart.
func TestJournalReplaysWhenTheDatabaseReturns(t *testing.T) {
	dir := t.TempDir()
	l := newLedger()
	l.set(true, false)
	w := newWriter(t, l, meter.Config{BatchSize: 8, Interval: time.Millisecond, Journal: meter.NewJournal(dir, 1<<20)})
	for i := range 50 {
		w.Record(rec(i))
	}
	_ = w.Flush(context.Background())
	l.set(false, false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(l.stored()) < 50 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if diff := cmp.Diff(sortedRange(0, 50), l.stored()); diff != "" {
		t.Errorf("stored records mismatch (-want +got):\n%s", diff)
	}
}

// With the database and the journal both failing, the writer says it is
// full (the gateway refuses calls), and Close, at its deadline, says how
// many records it lost.
func TestUnwritableJournalMakesTheLedgerFull(t *testing.T) {
	for _, tc := range []struct {
		name    string
		journal func(t *testing.T) *meter.Journal
	}{
		{"no journal", func(*testing.T) *meter.Journal { return nil }},
		{"directory cannot be created", func(t *testing.T) *meter.Journal {
			file := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return meter.NewJournal(filepath.Join(file, "journal"), 1<<20)
		}},
		{"journal full", func(t *testing.T) *meter.Journal { return meter.NewJournal(t.TempDir(), 10) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger()
			l.set(true, false)
			w := meter.New(l, meter.Config{BatchSize: 4, Interval: never, Logger: quiet, Journal: tc.journal(t)})
			for i := range 10 {
				w.Record(rec(i))
			}
			if err := w.Flush(context.Background()); err == nil {
				t.Error("Flush() = nil; want an error")
			}
			if !w.Full() {
				t.Error("Full() = false with the database and the journal failing")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			err := w.Close(ctx)
			if err == nil || !strings.Contains(err.Error(), "10 usage records") {
				t.Errorf("Close() = %v; want it to say 10 usage records are lost", err)
			}
		})
	}
}

// The ledger recovers from full once the database takes records again.
func TestFullLedgerRecovers(t *testing.T) {
	l := newLedger()
	l.set(true, false)
	w := newWriter(t, l, meter.Config{BatchSize: 4, Interval: time.Millisecond})
	for i := range 10 {
		w.Record(rec(i))
	}
	_ = w.Flush(context.Background())
	if !w.Full() {
		t.Fatal("Full() = false with the database failing and no journal")
	}
	l.set(false, false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for w.Flush(ctx) != nil && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if w.Full() {
		t.Error("Full() = true after the database returned")
	}
	if diff := cmp.Diff(sortedRange(0, 10), l.stored()); diff != "" {
		t.Errorf("stored records mismatch (-want +got):\n%s", diff)
	}
}

// A line cut short by a crash is skipped; the records around it replay.
func TestJournalSkipsATornLine(t *testing.T) {
	dir := t.TempDir()
	j := meter.NewJournal(dir, 1<<20)
	if err := j.Append([]llmservice.UsageRecord{rec(1), rec(2)}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	seg := segments(t, dir)
	if len(seg) != 1 {
		t.Fatalf("segments %v; want 1", seg)
	}
	f, err := os.OpenFile(seg[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"ID":"3","Endp`)
	f.Close()
	var got []string
	stored, bad, err := meter.NewJournal(dir, 1<<20).Replay(context.Background(), 10, func(recs []llmservice.UsageRecord) error {
		for _, r := range recs {
			got = append(got, r.ID)
		}
		return nil
	})
	if err != nil || stored != 2 || bad != 1 {
		t.Errorf("Replay() = %d, %d, %v; want 2 stored, 1 bad", stored, bad, err)
	}
	if diff := cmp.Diff([]string{"1", "2"}, got); diff != "" {
		t.Errorf("replayed records mismatch (-want +got):\n%s", diff)
	}
}
