package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
)

// TestLedgerStatementsOutliveTheConnection: the ledger's statements,
// prepared once on the writer, still serve when its connection was
// replaced (database/sql prepares them again on the new one).
func TestLedgerStatementsOutliveTheConnection(t *testing.T) {
	db := openMigrated(t, filepath.Join(t.TempDir(), "db.db"))
	db.writer.SetMaxIdleConns(0) // every use of the writer gets a new connection
	ctx := context.Background()
	now := time.Now()
	for b := range 3 {
		recs := make([]llmservice.UsageRecord, 40) // 32 + 8 rows
		for i := range recs {
			recs[i] = llmservice.UsageRecord{ID: fmt.Sprintf("r%d-%d", b, i), TeamID: "t", Time: now, PromptTokens: 1}
		}
		if err := db.InsertUsage(ctx, recs); err != nil {
			t.Fatalf("batch %d: %v", b, err)
		}
	}
	var n int
	if err := db.writer.QueryRowContext(ctx, "SELECT count(*) FROM usage").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 120 {
		t.Errorf("%d usage rows, want 120", n)
	}
}
