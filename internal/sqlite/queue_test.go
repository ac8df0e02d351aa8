package sqlite_test

import (
	"testing"

	"github.com/llmservice/llmservice/internal/sqlite"
	"github.com/llmservice/llmservice/internal/storetest"
)

func queueStores(db *sqlite.DB) storetest.QueueStores {
	return storetest.QueueStores{Tasks: db, Batches: db, Files: db, Webhooks: db, Teams: db, Credits: db, Usage: db}
}

func TestQueueStore(t *testing.T) {
	storetest.RunQueue(t, func(t *testing.T) storetest.QueueStores { return queueStores(MustOpenDB(t)) })
}

func TestQueueStoreInMemory(t *testing.T) {
	storetest.RunQueue(t, func(t *testing.T) storetest.QueueStores { return queueStores(mustOpenPath(t, ":memory:")) })
}
