package gateway

import (
	"sort"
	"strings"
	"testing"
	"time"
)

func TestNewTimeIDSortsByTime(t *testing.T) {
	base := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	var ids []string
	for i := 0; i < 100; i++ {
		ids = append(ids, NewTimeID("req_", base.Add(time.Duration(i)*time.Millisecond)))
	}
	if !sort.StringsAreSorted(ids) {
		t.Errorf("ids of increasing times do not sort in order: %v", ids[:3])
	}
	id := ids[0]
	if !strings.HasPrefix(id, "req_") || len(id) != len("req_")+26 {
		t.Errorf("NewTimeID = %q; want req_ and 26 characters", id)
	}
	if NewTimeID("req_", base) == NewTimeID("req_", base) {
		t.Error("two ids of the same millisecond are equal")
	}
}
