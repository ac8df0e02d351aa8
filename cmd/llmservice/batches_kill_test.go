package main

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/llmservice/llmservice"
)

// TestBatchSurvivesSIGKILL runs a batch of 1,000 requests on the real
// binary, kills it with SIGKILL midway, restarts it on the same database
// and expects every request answered once by custom_id, and the ledger to
// hold exactly one successful usage record per request: none lost, none
// billed twice.
func TestBatchSurvivesSIGKILL(t *testing.T) {
	bin := buildBinary(t)
	const n = 1000
	db := testDatabaseURL(t, "db.sqlite")
	env := []string{"LLMSERVICE_DATABASE_URL=" + db, "LLMSERVICE_ADMIN_KEY=" + testAdminKey, "LLMSERVICE_LOG_LEVEL=warn",
		"LLMSERVICE_QUEUE_WORKERS=4", "LLMSERVICE_QUEUE_LEASE=2s", "LLMSERVICE_QUEUE_POLL=50ms", "LLMSERVICE_BATCH_SWEEP=200ms"}
	cmd, base, _ := startProcess(t, bin, env)
	_, key, _ := newKey(t, base, "bulk", nil)
	c := client(base, key)
	ctx := context.Background()

	b := newEchoBatch(t, c, n)
	var err error
	var atKill int64
	batchWait(t, "a third of the batch", func() bool {
		got, err := c.Batches.Get(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		atKill = got.RequestCounts.Completed
		return atKill >= n/3
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if atKill >= n {
		t.Fatalf("the batch finished before the kill (%d done); nothing was tested", atKill)
	}
	t.Logf("killed with %d of %d requests done", atKill, n)

	cmd2, base2, _ := startProcess(t, bin, env)
	c = client(base2, key)
	deadline := time.Now().Add(3 * time.Minute)
	for b.Status != openai.BatchStatusCompleted {
		if time.Now().After(deadline) {
			t.Fatalf("batch not completed 3 minutes after the restart: %s %+v", b.Status, b.RequestCounts)
		}
		time.Sleep(50 * time.Millisecond)
		if b, err = c.Batches.Get(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	if b.RequestCounts.Completed != n || b.RequestCounts.Failed != 0 || b.ErrorFileID != "" {
		t.Errorf("request counts = %+v, error file %q; want %d completed", b.RequestCounts, b.ErrorFileID, n)
	}
	out := batchOutput(t, c, b.OutputFileID)
	if len(out) != n {
		t.Errorf("output holds %d custom_ids; want %d", len(out), n)
	}
	for i := range n {
		id := fmt.Sprintf("item-%04d", i)
		resp, _ := out[id]["response"].(map[string]any)
		body, _ := resp["body"].(map[string]any)
		choices, _ := body["choices"].([]any)
		if len(choices) != 1 {
			t.Errorf("%s: no answer in %v", id, out[id])
			continue
		}
		if got := choices[0].(map[string]any)["message"].(map[string]any)["content"]; got != fmt.Sprintf("mock reply: question %d", i) {
			t.Errorf("%s answered %q", id, got)
		}
	}

	// The ledger, read from the database once the server has stopped.
	_ = cmd2.Process.Signal(syscall.SIGTERM)
	_ = cmd2.Wait()
	store := openTestStore(t, db)
	billed := map[string]int{}
	unbilled := 0
	for cursor := ""; ; {
		recs, next, err := store.FindUsageRecords(ctx, llmservice.RecordFilter{TeamID: "bulk", Limit: 500, Before: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			switch {
			case r.Endpoint != "batch.chat":
			case r.Status == 200:
				billed[r.Purpose]++
			default:
				unbilled++
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(billed) != n {
		t.Errorf("successful usage records cover %d requests; want %d", len(billed), n)
	}
	for task, times := range billed {
		if times != 1 {
			t.Errorf("request %s billed %d times", task, times)
		}
	}
	tasks, err := store.FindTasks(ctx, llmservice.TaskFilter{TeamID: "bulk", Group: b.ID, AfterSeq: -1})
	if err != nil {
		t.Fatal(err)
	}
	rerun := 0
	for _, tk := range tasks {
		if tk.Attempts > 1 {
			rerun++
		}
	}
	t.Logf("%d requests billed once each; %d failed attempts recorded unbilled; %d requests ran more than once", len(billed), unbilled, rerun)
}

// newEchoBatch uploads n chat requests to mock/echo ("item-0000": "question
// 0", ...) and starts a batch of them.
func newEchoBatch(t *testing.T, c openai.Client, n int) *openai.Batch {
	t.Helper()
	ctx := context.Background()
	var lines [][3]string
	for i := range n {
		lines = append(lines, [3]string{fmt.Sprintf("item-%04d", i), "mock/echo", fmt.Sprintf("question %d", i)})
	}
	f, err := c.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(batchJSONL(lines...)), "bulk.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
