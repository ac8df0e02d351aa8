package meter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/llmservice/llmservice"
)

// ErrJournalFull is Append's error when the records would take the journal
// past its size bound.
var ErrJournalFull = errors.New("usage journal is full")

// segmentBytes is the size past which the journal starts a new segment, so
// that a replay removes what it stored in pieces rather than all at the end.
const segmentBytes = 4 << 20

// deadLetterFile holds the records the database refused for good.
const deadLetterFile = "usage-dead-letters.jsonl"

// Journal keeps usage records on local disk while the database cannot be
// written, until Replay stores them. Records are JSON lines in segment
// files (usage-<time>-<n>.jsonl) of one directory; the segment being
// written is locked, so that two processes sharing the directory never
// replay what the other is still writing. A replay that stops half way
// (the database failed again, the process died) repeats some records next
// time; the stores drop a record whose ID they already hold, so each record
// counts once. It is safe for concurrent use.
type Journal struct {
	dir string
	max int64

	mu      sync.Mutex
	cur     *os.File // segment being appended to (nil: none open)
	curSize int64
	size    int64 // bytes in the segments not replayed yet, cur included
	seq     int
	known   bool // size counts the segments found at start
	dead    int64
	shut    bool // closed: writes fail without touching the disk
}

// NewJournal returns a journal in dir holding at most maxBytes of records
// (segments not replayed yet). Nothing touches the disk until it is used,
// so a directory that cannot be written shows as errors of Append.
func NewJournal(dir string, maxBytes int64) *Journal {
	return &Journal{dir: dir, max: maxBytes}
}

// Dir is the journal's directory.
func (j *Journal) Dir() string { return j.dir }

// Size returns the bytes of records waiting for a replay.
func (j *Journal) Size() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.scanLocked()
	return j.size
}

// scanLocked counts the segments left by an earlier run, once.
func (j *Journal) scanLocked() {
	if j.known {
		return
	}
	j.known = true
	for _, s := range j.segments() {
		if fi, err := os.Stat(s); err == nil {
			j.size += fi.Size()
		}
	}
}

// segments lists the segment files, oldest first.
func (j *Journal) segments() []string {
	names, _ := filepath.Glob(filepath.Join(j.dir, "usage-*-*.jsonl"))
	names = slices.DeleteFunc(names, func(n string) bool { return strings.HasSuffix(n, deadLetterFile) })
	slices.Sort(names)
	return names
}

// Append writes recs to the journal and syncs it to disk. On any error
// none of recs is kept: a partly written batch is cut off again.
func (j *Journal) Append(recs []llmservice.UsageRecord) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			return fmt.Errorf("usage journal: encode %s: %w", recs[i].ID, err)
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.shut {
		return errJournalClosed
	}
	j.scanLocked()
	if j.size+int64(buf.Len()) > j.max {
		return ErrJournalFull
	}
	if j.cur == nil {
		if err := j.openLocked(); err != nil {
			return fmt.Errorf("usage journal: %w", err)
		}
	}
	n, err := j.cur.Write(buf.Bytes())
	if err == nil {
		err = j.cur.Sync()
	}
	if err != nil {
		if n > 0 {
			_ = j.cur.Truncate(j.curSize)
		}
		// A segment that failed once is not trusted again.
		j.closeLocked()
		return fmt.Errorf("usage journal: %w", err)
	}
	j.curSize += int64(n)
	j.size += int64(n)
	if j.curSize >= segmentBytes {
		j.closeLocked()
	}
	return nil
}

func (j *Journal) openLocked() error {
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return err
	}
	j.seq++
	name := filepath.Join(j.dir, fmt.Sprintf("usage-%020d-%d-%d.jsonl", time.Now().UnixNano(), os.Getpid(), j.seq))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		_ = os.Remove(name)
		return err
	}
	j.cur, j.curSize = f, 0
	return nil
}

func (j *Journal) closeLocked() {
	if j.cur != nil {
		_ = j.cur.Close() // releases the lock: the segment may be replayed
		j.cur = nil
		j.curSize = 0
	}
}

// Replay hands every journaled record to store, at most batch at a time,
// oldest first, and removes each segment once all its records are stored.
// It stops at store's first error and returns how many records it stored.
// Lines that do not decode (a write cut short by a crash) are skipped and
// counted in bad.
func (j *Journal) Replay(ctx context.Context, batch int, store func([]llmservice.UsageRecord) error) (stored, bad int, err error) {
	j.mu.Lock()
	j.scanLocked()
	j.closeLocked()
	j.mu.Unlock()
	for _, name := range j.segments() {
		if err := ctx.Err(); err != nil {
			return stored, bad, err
		}
		n, b, err := j.replaySegment(name, batch, store)
		stored, bad = stored+n, bad+b
		if err != nil {
			return stored, bad, err
		}
	}
	return stored, bad, nil
}

// replaySegment replays one segment; a segment another process still
// writes is left alone.
func (j *Journal) replaySegment(name string, batch int, store func([]llmservice.UsageRecord) error) (stored, bad int, err error) {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, 0, nil // another process replayed it
		}
		return 0, 0, fmt.Errorf("usage journal: %w", err)
	}
	defer f.Close()
	if lockFile(f) != nil {
		return 0, 0, nil
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("usage journal: %w", err)
	}
	recs := make([]llmservice.UsageRecord, 0, batch)
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		if err := store(recs); err != nil {
			return err
		}
		stored += len(recs)
		recs = recs[:0]
		return nil
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4*MaxBodyBytes+64<<10)
	for sc.Scan() {
		var r llmservice.UsageRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.ID == "" {
			bad++
			continue
		}
		recs = append(recs, r)
		if len(recs) == batch {
			if err := flush(); err != nil {
				return stored, bad, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return stored, bad, fmt.Errorf("usage journal: read %s: %w", name, err)
	}
	if err := flush(); err != nil {
		return stored, bad, err
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return stored, bad, fmt.Errorf("usage journal: %w", err)
	}
	j.mu.Lock()
	j.size = max(0, j.size-fi.Size())
	j.mu.Unlock()
	return stored, bad, nil
}

// DeadLetter keeps a record the database refused for good, with the
// reason, in the journal directory's usage-dead-letters.jsonl, which is
// never replayed. It holds at most the journal's size bound.
func (j *Journal) DeadLetter(rec llmservice.UsageRecord, reason string) error {
	b, err := json.Marshal(struct {
		Time   time.Time              `json:"time"`
		Error  string                 `json:"error"`
		Record llmservice.UsageRecord `json:"record"`
	}{time.Now().UTC(), reason, rec})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.shut {
		return errJournalClosed
	}
	name := filepath.Join(j.dir, deadLetterFile)
	if j.dead == 0 {
		if fi, err := os.Stat(name); err == nil {
			j.dead = fi.Size()
		}
	}
	if j.dead+int64(len(b)) > j.max {
		return errors.New("usage dead-letter file is full")
	}
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		j.dead += int64(len(b))
	}
	return err
}

// errJournalClosed refuses writes after Close: the meter has already
// reported what it kept, and a write past its deadline must not touch a
// directory its owner may be removing.
var errJournalClosed = errors.New("usage journal: closed")

// Close closes the segment being written; later writes fail.
func (j *Journal) Close() {
	j.mu.Lock()
	j.closeLocked()
	j.shut = true
	j.mu.Unlock()
}
