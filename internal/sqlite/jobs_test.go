package sqlite_test

import (
	"testing"

	"github.com/llmservice/llmservice/internal/storetest"
)

func TestJobStore(t *testing.T) {
	storetest.RunJobs(t, func(t *testing.T) storetest.CreditJobStores {
		db := MustOpenDB(t)
		return storetest.CreditJobStores{Teams: db, Credits: db, Jobs: db}
	})
}

// The in-memory database runs every transaction on one connection; the
// job suite's concurrent completions must still charge once.
func TestJobStoreInMemory(t *testing.T) {
	storetest.RunJobs(t, func(t *testing.T) storetest.CreditJobStores {
		db := mustOpenPath(t, ":memory:")
		return storetest.CreditJobStores{Teams: db, Credits: db, Jobs: db}
	})
}
