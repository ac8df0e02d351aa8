package sqlite_test

import (
	"testing"

	"github.com/llmservice/llmservice/internal/storetest"
)

func TestDjangoStore(t *testing.T) {
	storetest.RunDjango(t, func(t *testing.T) storetest.DjangoStores {
		db := MustOpenDB(t)
		return storetest.DjangoStores{Users: db, Teams: db, Keys: db}
	})
}
