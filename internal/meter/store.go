package meter

import (
	"context"
	"time"

	"github.com/llmservice/llmservice"
)

// This file is the writer's side of the database: inserts with dead
// letters, and the replay of the journal.

// write inserts recs. A refusal for good (Invalid) splits the batch until
// the records at fault are found; they go to the dead letters. It returns
// the records not written because of another error, with that error.
func (w *Writer) write(ctx context.Context, recs []llmservice.UsageRecord) ([]llmservice.UsageRecord, error) {
	err := w.store.InsertUsage(ctx, recs)
	if err == nil {
		return nil, nil
	}
	if llmservice.ErrorKind(err) != llmservice.Invalid {
		return recs, err
	}
	if len(recs) == 1 {
		w.deadLetter(recs[0], err)
		return nil, nil
	}
	mid := len(recs) / 2
	if rest, err := w.write(ctx, recs[:mid]); err != nil {
		return recs[mid-len(rest):], err
	}
	return w.write(ctx, recs[mid:])
}

// deadLetter sets aside a record the database refused for good.
func (w *Writer) deadLetter(rec llmservice.UsageRecord, err error) {
	w.m.deadLetters.Inc()
	where := "log"
	if w.journal != nil {
		if jerr := w.journal.DeadLetter(rec, err.Error()); jerr == nil {
			where = w.journal.Dir()
		} else {
			w.log.Error("usage dead letter not written to the journal directory", "id", rec.ID, "err", jerr)
		}
	}
	attrs := []any{"id", rec.ID, "team", rec.TeamID, "key", rec.KeyID, "status", rec.Status,
		"cost_nanos", int64(rec.Cost), "kept_in", where, "err", err}
	if where == "log" {
		attrs = append(attrs, "record", rec)
	}
	w.log.Error("usage record refused by the database: set aside as a dead letter", attrs...)
}

func (w *Writer) dbFailed(err error) {
	if !w.dbDown.Swap(true) {
		w.db.Fail(err, "journaling usage records until it can be written")
	}
}

// dbUp notes that the database took records, and has the replayer move
// what the journal holds.
func (w *Writer) dbUp() {
	if w.dbDown.Swap(false) {
		w.db.OK()
		if w.journal != nil && w.journal.Size() > 0 {
			select {
			case w.kick <- struct{}{}:
			default:
			}
		}
	}
}

// replayLoop replays the journal when kicked (records were journaled) and,
// while it fails, again with backoff.
func (w *Writer) replayLoop() {
	backoff := minBackoff
	t := time.NewTimer(0) // what an earlier run left, at once
	defer t.Stop()
	for {
		select {
		case <-w.replayCtx.Done():
			return
		case <-w.kick:
		case <-t.C:
		}
		w.replayMu.Lock()
		err := w.replayLocked(w.replayCtx)
		w.replayMu.Unlock()
		if err == nil {
			backoff = minBackoff
			continue
		}
		backoff = min(2*backoff, maxBackoff)
		t.Reset(backoff)
	}
}

// replayLocked moves the journal into the database.
func (w *Writer) replayLocked(ctx context.Context) error {
	if w.journal.Size() == 0 {
		w.dbUp()
		return nil
	}
	n, bad, err := w.journal.Replay(ctx, w.cfg.BatchSize, func(recs []llmservice.UsageRecord) error {
		dctx, cancel := context.WithTimeout(ctx, writeTimeout)
		defer cancel()
		_, err := w.write(dctx, recs)
		return err
	})
	w.m.replayed.Add(float64(n))
	w.m.journalBytes.Set(float64(w.journal.Size()))
	if bad > 0 {
		w.log.Warn("usage journal: skipped lines that do not decode (a write cut short)", "lines", bad)
	}
	if err != nil {
		if ctx.Err() == nil {
			w.dbFailed(err)
		}
		return err
	}
	if n > 0 {
		w.log.Info("usage journal replayed into the database", "records", n)
	}
	w.dbUp()
	return nil
}
