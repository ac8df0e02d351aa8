package postgres

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/meter"
)

// PostgreSQL refuses some records for good: a text with a NUL byte
// (22021), a rollup sum past bigint (22003). The store says so (Invalid),
// so that the meter sets the record aside instead of retrying its batch
// for ever while every other tenant's usage waits behind it.
func TestRefusedRecordIsInvalid(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	now := time.Now().UTC()
	err := db.InsertUsage(ctx, []llmservice.UsageRecord{{ID: "nul", Time: now, TeamID: "t", RequestedModel: "mock/a\x00b"}})
	if llmservice.ErrorKind(err) != llmservice.Invalid {
		t.Errorf("InsertUsage(NUL in model) = %v (kind %v); want Invalid", err, llmservice.ErrorKind(err))
	}
}

// Through the meter: the record at fault goes to the dead letters, its
// batch-mates of other tenants are stored.
func TestMeterSetsAsideWhatPostgreSQLRefuses(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	hour := time.Now().UTC().Truncate(time.Hour)
	// A first record brings team evil's rollups (and the all-teams ones of
	// its day) to the largest bigint; adding any cost to them is SQLSTATE
	// 22003. The other teams' records fall on another day.
	evilHour := hour.Add(-48 * time.Hour)
	if err := db.InsertUsage(ctx, []llmservice.UsageRecord{{ID: "evil-0", Time: evilHour, TeamID: "evil", Cost: math.MaxInt64}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w := meter.New(db, meter.Config{BatchSize: 100, Interval: time.Hour, Journal: meter.NewJournal(dir, 1<<20),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer w.Close(ctx)
	for i := range 50 {
		if i == 20 {
			w.Record(llmservice.UsageRecord{ID: "evil-1", Time: evilHour, TeamID: "evil", Cost: 1})
		}
		w.Record(llmservice.UsageRecord{ID: fmt.Sprint("ok-", i), Time: hour, TeamID: fmt.Sprint("team-", i%3), Cost: 1, Status: 200})
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := w.Flush(fctx); err != nil {
		t.Fatalf("Flush() = %v", err)
	}
	var n int64
	for i := range 3 {
		got, err := db.SumUsage(ctx, llmservice.UsageFilter{TeamID: fmt.Sprint("team-", i)})
		if err != nil {
			t.Fatal(err)
		}
		n += got[0].Requests
	}
	if n != 50 {
		t.Errorf("other tenants' records stored: %d; want 50", n)
	}
	recs, _, err := db.FindUsageRecords(ctx, llmservice.RecordFilter{TeamID: "evil"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Errorf("team evil has %d records; want only the first (the second is a dead letter)", len(recs))
	}
}
