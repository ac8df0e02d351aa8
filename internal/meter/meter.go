// Package meter writes usage records off the hot path. Requests hand their
// record to a bounded channel; one goroutine writes them in batches.
//
// The ledger never stops for one record and never hangs the gateway:
//   - Record makes every string storable first (Storable).
//   - A batch the database refuses for good (a data or constraint error,
//     kind Invalid) is split until the records at fault are found; they go
//     to the dead letters with a log line and a metric, the rest is stored.
//   - When the database cannot be written (any other error), batches go to
//     a local Journal on disk, and a second goroutine replays it, with
//     backoff, until the database takes it again.
//   - Only when the journal cannot take them either are records held in
//     memory (up to the buffer's size; beyond it they are dropped and
//     counted): Full reports it, and the gateway refuses new calls.
//   - Close writes what it can to the database within its deadline,
//     journals the rest, and says how many records it could keep nowhere.
package meter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/outage"
)

// Store is where batches go. InsertUsage must not keep recs after it
// returns: the writer reuses the slice for the next batch. It must drop a
// record whose ID it holds already (replays repeat records), and report a
// record it refuses for good as an Invalid *llmservice.Error.
type Store interface {
	InsertUsage(ctx context.Context, recs []llmservice.UsageRecord) error
}

// Config tunes the writer.
type Config struct {
	Buffer    int           // channel capacity (default 4096)
	BatchSize int           // records per insert (default 512)
	Interval  time.Duration // longest a record waits before a flush (default 200ms)
	Logger    *slog.Logger
	// Journal keeps records while the database cannot be written; nil
	// holds them in memory only.
	Journal *Journal
	// Registry receives the writer's metrics (nil: none).
	Registry prometheus.Registerer
	// Outages, when set, counts the writer's database and journal
	// outages with the other components' (llmservice_dependency_*).
	Outages *outage.Metrics
}

// Backoff of the retries of a database or journal that failed.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
	// writeTimeout bounds one insert: past it the batch is journaled.
	writeTimeout = 10 * time.Second
)

var (
	errDatabaseDown = errors.New("meter: usage is journaled until the database can be written")
	errFull         = errors.New("meter: usage can be written neither to the database nor to the journal")
	errReplaying    = errors.New("meter: the usage journal is being replayed")
)

// Writer batches usage records into a Store.
type Writer struct {
	store   Store
	journal *Journal
	ch      chan llmservice.UsageRecord
	cfg     Config
	log     *slog.Logger
	m       *metrics
	db, jrn *outage.Tracker

	// closing ends Records blocked on a full channel; closed, after
	// isClosed is set under mu, tells the run loop to drain and stop.
	closing, closed, done chan struct{}
	once                  sync.Once
	mu                    sync.RWMutex
	isClosed              bool
	closeCtx              context.Context
	flushReq              chan chan error

	// nudge wakes the run loop when a batch's worth of records waits in
	// ch (batchAt); otherwise it takes them at its tick. A receive per
	// record would wake its goroutine, often on the other core, for every
	// call: at a thousand calls a second that cost more than the insert.
	nudge   chan struct{}
	batchAt int

	// kick wakes the replayer; replayMu makes replays one at a time.
	kick         chan struct{}
	replayMu     sync.Mutex
	replayCtx    context.Context
	replayCancel context.CancelFunc

	dbDown, full   atomic.Bool
	accepted, kept atomic.Int64
	held           []llmservice.UsageRecord // run loop only
	heldRetry      time.Time
	heldBackoff    time.Duration
	stragglers     sync.Mutex
}

// New starts a writer; call Close to stop it. Records an earlier run left
// in the journal are replayed at once.
func New(store Store, cfg Config) *Writer {
	if cfg.Buffer <= 0 {
		// Two seconds of records at 2000 rps: enough to ride out a slow
		// write. A deeper buffer only costs memory, because the ring
		// touches every slot (each about 300 bytes) over time.
		cfg.Buffer = 4096
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 512
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 200 * time.Millisecond
	}
	w := &Writer{store: store, journal: cfg.Journal, ch: make(chan llmservice.UsageRecord, cfg.Buffer), cfg: cfg,
		log: cfg.Logger, m: newMetrics(cfg.Registry), closing: make(chan struct{}), closed: make(chan struct{}),
		done: make(chan struct{}), flushReq: make(chan chan error), kick: make(chan struct{}, 1),
		heldBackoff: minBackoff, nudge: make(chan struct{}, 1), batchAt: min(cfg.BatchSize, max(1, cfg.Buffer/2))}
	if w.log == nil {
		w.log = slog.Default()
	}
	w.db = cfg.Outages.Tracker("meter", "database", w.log)
	w.jrn = cfg.Outages.Tracker("meter", "journal", w.log)
	w.replayCtx, w.replayCancel = context.WithCancel(context.Background())
	go w.run()
	if w.journal != nil {
		go w.replayLoop()
	}
	return w
}

// Record queues rec. It blocks only while the buffer is full and the
// writer is still placing records (in the database or the journal); it
// never blocks once Close has begun.
func (w *Writer) Record(rec llmservice.UsageRecord) {
	rec = Storable(rec)
	w.mu.RLock()
	if !w.isClosed {
		select {
		case w.ch <- rec:
			// Counted under the lock: Close's tally sees every record
			// that reached the buffer.
			w.accepted.Add(1)
			w.mu.RUnlock()
			if len(w.ch) >= w.batchAt {
				select {
				case w.nudge <- struct{}{}:
				default: // the run loop is nudged already
				}
			}
			return
		case <-w.closing:
		}
	}
	w.mu.RUnlock()
	// After Close a straggling request places its record itself, so that
	// it still lands in the ledger or the journal.
	w.stragglers.Lock()
	defer w.stragglers.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if lost := w.place(ctx, []llmservice.UsageRecord{rec}, false); len(lost) > 0 {
		w.m.lost.Inc()
		w.log.Error("usage record lost: neither the database nor the journal could take it", "id", rec.ID, "team", rec.TeamID)
	}
}

// Full reports whether records can currently be written neither to the
// database nor to the journal. The gateway refuses new calls meanwhile.
func (w *Writer) Full() bool { return w.full.Load() }

// Flush writes everything queued so far, and what the journal holds, and
// returns nil when it is all in the database. It returns an error when
// records wait in the journal or in memory for the database.
func (w *Writer) Flush(ctx context.Context) error {
	ack := make(chan error, 1)
	select {
	case w.flushReq <- ack:
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-ack:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	if w.journal == nil || w.journal.Size() == 0 {
		return nil
	}
	if w.dbDown.Load() {
		return errDatabaseDown
	}
	if !w.replayMu.TryLock() {
		return errReplaying
	}
	defer w.replayMu.Unlock()
	return w.replayLocked(ctx)
}

// Close stops accepting records, writes what is buffered and returns when
// it is placed or ctx ends. Records go to the database while ctx leaves
// time for it, else to the journal. It returns an error saying how many
// records it could keep nowhere, if any.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() {
		close(w.closing)
		w.mu.Lock()
		w.isClosed = true
		w.mu.Unlock()
		w.closeCtx = ctx
		w.replayCancel() // the journal is replayed at the next start
		close(w.closed)
	})
	finished := true
	select {
	case <-w.done:
	case <-ctx.Done():
		finished = false
	}
	// Past this point nothing more reaches the journal, so the count below
	// is final even if the writer goroutine is still trying.
	if w.journal != nil {
		w.journal.Close()
	}
	if lost := w.accepted.Load() - w.kept.Load(); lost > 0 {
		return fmt.Errorf("meter: %d usage records could be written neither to the database nor to the journal and are lost", lost)
	}
	if !finished {
		return errors.New("meter: shutdown deadline passed before all usage was written")
	}
	return nil
}

func (w *Writer) run() {
	defer close(w.done)
	batch := make([]llmservice.UsageRecord, 0, w.cfg.BatchSize)
	tick := time.NewTicker(w.cfg.Interval)
	defer tick.Stop()
	flush := func(ctx context.Context) {
		if len(batch) > 0 {
			w.keep(ctx, batch)
			batch = batch[:0]
		}
	}
	drain := func(ctx context.Context) {
		for {
			select {
			case rec := <-w.ch:
				batch = append(batch, rec)
				if len(batch) >= w.cfg.BatchSize {
					flush(ctx)
				}
			default:
				flush(ctx)
				return
			}
		}
	}
	// take moves what waits now, and no more, into batches and writes the
	// full ones; under a load the database cannot keep up with, an
	// unbounded drain would never come back to the flush requests, the
	// held records and Close.
	take := func(ctx context.Context) {
		for n := len(w.ch); n > 0; n-- { // the only receiver: never blocks
			batch = append(batch, <-w.ch)
			if len(batch) >= w.cfg.BatchSize {
				flush(ctx)
			}
		}
	}
	for {
		select {
		case <-w.nudge:
			take(context.Background())
		case <-tick.C:
			take(context.Background())
			flush(context.Background())
			if len(w.held) > 0 && !time.Now().Before(w.heldRetry) {
				w.retryHeld(context.Background())
			}
		case ack := <-w.flushReq:
			drain(context.Background())
			if len(w.held) > 0 {
				w.retryHeld(context.Background())
			}
			switch {
			case len(w.held) > 0:
				ack <- errFull
			case w.dbDown.Load():
				ack <- errDatabaseDown
			default:
				ack <- nil
			}
		case <-w.closed:
			w.final(w.closeCtx, drain)
			return
		}
	}
}

// final drains the buffer at Close, then tries the held records again,
// with backoff, until they are placed or ctx ends.
func (w *Writer) final(ctx context.Context, drain func(context.Context)) {
	drain(ctx)
	for len(w.held) > 0 {
		w.retryHeld(ctx)
		if len(w.held) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(w.heldRetry)):
		}
	}
}

// keep places batch: in the database, else the journal, else in memory.
func (w *Writer) keep(ctx context.Context, batch []llmservice.UsageRecord) {
	if len(w.held) > 0 {
		// Older records wait already: keep the order, and let the
		// next retry try them all.
		w.hold(batch)
		return
	}
	rest := w.place(ctx, batch, false)
	w.kept.Add(int64(len(batch) - len(rest)))
	if len(rest) > 0 {
		w.hold(rest)
	}
}

// place writes recs to the database, or to the journal what the database
// did not take, and returns the records neither took. While the database
// is down (the replayer has not found it back) records go straight to the
// journal, unless probe asks to try the database all the same. Under a
// context with a deadline (shutdown) the database gets part of the time
// left, so that the journal still has some.
func (w *Writer) place(ctx context.Context, recs []llmservice.UsageRecord, probe bool) []llmservice.UsageRecord {
	if (probe || !w.dbDown.Load()) && ctx.Err() == nil {
		dctx, cancel := w.dbContext(ctx)
		rest, err := w.write(dctx, recs)
		cancel()
		if err == nil {
			w.dbUp()
			return nil
		}
		w.dbFailed(err)
		recs = rest
	}
	if w.journal == nil {
		return recs
	}
	if err := w.journal.Append(recs); err != nil {
		w.jrn.Fail(err, "holding usage records in memory and refusing new calls when they fill the buffer")
		return recs
	}
	w.jrn.OK()
	w.m.journaled.Add(float64(len(recs)))
	w.m.journalBytes.Set(float64(w.journal.Size()))
	select {
	case w.kick <- struct{}{}:
	default:
	}
	return nil
}

// dbContext bounds one database write: writeTimeout, and under a deadline
// at most three quarters of the time left.
func (w *Writer) dbContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d := writeTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl)*3/4)
	}
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

// hold keeps recs in memory, up to the buffer's size, and drops the rest.
func (w *Writer) hold(recs []llmservice.UsageRecord) {
	if room := w.cfg.Buffer - len(w.held); len(recs) > room {
		n := len(recs) - room
		w.m.lost.Add(float64(n))
		w.log.Error("usage records lost: the database, the journal and the buffer are all full", "records", n)
		recs = recs[:room]
	}
	w.held = append(w.held, recs...)
	if len(w.held) > 0 && !w.full.Swap(true) {
		w.m.full.Set(1)
		w.log.Error("usage ledger full: new calls are refused with 503 until the database or the journal takes records again",
			"held", len(w.held))
	}
}

// retryHeld tries the held records again: the database, then the journal.
func (w *Writer) retryHeld(ctx context.Context) {
	rest := w.place(ctx, w.held, true)
	w.kept.Add(int64(len(w.held) - len(rest)))
	w.held = append(w.held[:0], rest...)
	if len(w.held) > 0 {
		w.heldBackoff = min(2*w.heldBackoff, maxBackoff)
		w.heldRetry = time.Now().Add(w.heldBackoff)
		return
	}
	w.heldBackoff = minBackoff
	if w.full.Swap(false) {
		w.m.full.Set(0)
		w.log.Info("usage ledger takes records again: new calls are admitted")
	}
}
