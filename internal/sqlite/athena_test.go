package sqlite_test

import (
	"testing"

	"github.com/llmservice/llmservice/internal/storetest"
)

func TestAthenaStore(t *testing.T) {
	storetest.RunAthena(t, func(t *testing.T) storetest.AthenaStores {
		db := MustOpenDB(t)
		return storetest.AthenaStores{Teams: db, Conversations: db}
	})
}

// The in-memory database shares one connection between reads and writes;
// the windowed history query must work on it too.
func TestAthenaStoreInMemory(t *testing.T) {
	storetest.RunAthena(t, func(t *testing.T) storetest.AthenaStores {
		db := mustOpenPath(t, ":memory:")
		return storetest.AthenaStores{Teams: db, Conversations: db}
	})
}
