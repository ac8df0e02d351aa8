package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storetest"
)

func TestUsage(t *testing.T) {
	storetest.RunUsage(t, func(t *testing.T) storetest.Stores { return coreStores(openTest(t)) })
}

// Replicas flush batches that share rollup rows at the same time: sorted
// upserts lock them in one order, so no flush fails on a deadlock, and the
// rollups count every record exactly once.
func TestInsertUsageAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	replicas := openReplicas(t, 2) // queue_test.go
	hour := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	const writers, batches, size = 8, 10, 200
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				recs := make([]llmservice.UsageRecord, size)
				for i := range recs {
					// Writers walk the teams and keys in opposite orders.
					n := i
					if w%2 == 1 {
						n = size - 1 - i
					}
					recs[i] = llmservice.UsageRecord{ID: fmt.Sprintf("w%d-b%d-%d", w, b, i),
						Time: hour.Add(time.Duration(n) * time.Second), TeamID: fmt.Sprint("team-", n%5),
						KeyID: fmt.Sprint("key-", n%20), RequestedModel: "gpt", Cost: 3, LatencyMS: 10, Status: 200}
				}
				errs <- replicas[w%2].InsertUsage(ctx, recs)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("InsertUsage: %v", err)
		}
	}
	for _, f := range []llmservice.UsageFilter{{}, {From: hour, To: hour.Add(time.Hour)}} {
		got, err := replicas[0].SumUsage(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(writers * batches * size); got[0].Requests != want || got[0].Cost != llmservice.Nanos(3*want) {
			t.Errorf("SumUsage(%+v) = %d requests, cost %d; want %d, %d", f, got[0].Requests, got[0].Cost, want, 3*want)
		}
	}
}

// A purge deletes the bodies of the records it deletes, and only those.
func TestPurgeUsageDeletesBodies(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var recs []llmservice.UsageRecord
	for i := range 10 {
		recs = append(recs, llmservice.UsageRecord{ID: fmt.Sprint("r", i), TeamID: "a",
			Time: day.Add(time.Duration(i) * time.Hour), Prompt: "p", Response: "r"})
	}
	if err := db.InsertUsage(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if n, err := db.PurgeUsage(ctx, day.Add(4*time.Hour), 3); err != nil || n != 4 {
		t.Fatalf("PurgeUsage = %d, %v; want 4", n, err)
	}
	var bodies int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM usage_bodies`).Scan(&bodies); err != nil {
		t.Fatal(err)
	}
	if bodies != 6 {
		t.Errorf("%d bodies left; want 6", bodies)
	}
}

func BenchmarkInsertUsage(b *testing.B) {
	storetest.BenchInsertUsage(b, openTest(b))
}
