// Package meter writes usage records off the hot path. Requests hand their
// record to a bounded channel; one goroutine writes them in batches. When the
// database is slow the channel fills and Record blocks: backpressure, never
// loss. Close flushes everything still buffered.
package meter

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/llmservice/llmservice"
)

// Store is where batches go. InsertUsage must not keep recs after it
// returns: the writer reuses the slice for the next batch.
type Store interface {
	InsertUsage(ctx context.Context, recs []llmservice.UsageRecord) error
}

// Config tunes the writer.
type Config struct {
	Buffer    int           // channel capacity (default 4096)
	BatchSize int           // records per insert (default 512)
	Interval  time.Duration // longest a record waits before a flush (default 200ms)
	Logger    *slog.Logger
}

// Writer batches usage records into a Store.
type Writer struct {
	store  Store
	ch     chan llmservice.UsageRecord
	cfg    Config
	log    *slog.Logger
	done   chan struct{}
	closed chan struct{}
	once   sync.Once
	// mu orders Record against Close: Close takes it exclusively, so no
	// record can slip into the channel after the final drain.
	mu       sync.RWMutex
	isClosed bool
	// flushReq lets tests and Flush force a write of what is buffered.
	flushReq chan chan struct{}
}

// New starts a writer; call Close to stop it.
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
	w := &Writer{store: store, ch: make(chan llmservice.UsageRecord, cfg.Buffer), cfg: cfg, log: cfg.Logger,
		done: make(chan struct{}), closed: make(chan struct{}), flushReq: make(chan chan struct{})}
	if w.log == nil {
		w.log = slog.Default()
	}
	go w.run()
	return w
}

// Record queues rec. It blocks only when the buffer is full.
func (w *Writer) Record(rec llmservice.UsageRecord) {
	w.mu.RLock()
	if !w.isClosed {
		w.ch <- rec
		w.mu.RUnlock()
		return
	}
	w.mu.RUnlock()
	// After Close a straggling request writes its record directly, so that
	// it still lands in the ledger.
	w.write([]llmservice.UsageRecord{rec})
}

// Flush writes everything queued so far and returns when it is stored.
func (w *Writer) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case w.flushReq <- ack:
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting records, writes what is buffered and returns when it
// is stored or ctx ends.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() {
		w.mu.Lock()
		w.isClosed = true
		w.mu.Unlock()
		close(w.closed)
	})
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return errors.New("meter: shutdown deadline passed before all usage was written")
	}
}

func (w *Writer) run() {
	defer close(w.done)
	batch := make([]llmservice.UsageRecord, 0, w.cfg.BatchSize)
	tick := time.NewTicker(w.cfg.Interval)
	defer tick.Stop()
	flush := func() {
		if len(batch) > 0 {
			w.write(batch)
			batch = batch[:0]
		}
	}
	drain := func() {
		for {
			select {
			case rec := <-w.ch:
				batch = append(batch, rec)
				if len(batch) >= w.cfg.BatchSize {
					flush()
				}
			default:
				flush()
				return
			}
		}
	}
	for {
		select {
		case rec := <-w.ch:
			batch = append(batch, rec)
			if len(batch) >= w.cfg.BatchSize {
				flush()
			}
		case <-tick.C:
			flush()
		case ack := <-w.flushReq:
			drain()
			close(ack)
		case <-w.closed:
			drain()
			return
		}
	}
}

// write inserts a batch, retrying with backoff until it is stored: a usage
// record is money, so a database hiccup must delay it, not drop it. Inserts
// are idempotent by record ID, so a retry after an ambiguous failure cannot
// count a record twice.
func (w *Writer) write(batch []llmservice.UsageRecord) {
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := w.store.InsertUsage(ctx, batch)
		cancel()
		if err == nil {
			return
		}
		w.log.Error("usage batch write failed; retrying", "records", len(batch), "attempt", attempt, "err", err)
		time.Sleep(backoff)
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}
