package sqlite_test

import (
	"testing"

	"github.com/llmservice/llmservice/internal/storetest"
)

func TestStackForDevsStores(t *testing.T) {
	storetest.RunStackForDevs(t, func(t *testing.T) storetest.StackForDevsStores {
		db := MustOpenDB(t)
		return storetest.StackForDevsStores{Teams: db, Credentials: db, Usage: db}
	})
}
