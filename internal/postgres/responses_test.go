package postgres

import (
	"testing"

	"github.com/llmservice/llmservice/internal/storetest"
)

func TestResponseStore(t *testing.T) {
	storetest.RunResponses(t, func(t *testing.T) storetest.ResponseStores {
		db := openTest(t)
		return storetest.ResponseStores{Teams: db, Responses: db}
	})
}
