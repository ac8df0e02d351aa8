package storesql

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
)

// Besides the per-team rollups, the ledger keeps usage_hourly_all and
// usage_daily_all: sums over every team, one row per (dimension, bucket,
// value), where the dimension is "" (the totals, value ""), "team",
// "model", "key" or "project". An operator's dashboard over the whole
// instance reads a few rows per bucket there instead of one per team, key,
// project and model. A record adds to five rows of each.

// UsageAllRollup is one row of usage_hourly_all or usage_daily_all, or the
// increment a batch adds to it.
type UsageAllRollup struct {
	Dim    string // "", "team", "model", "key" or "project"
	Bucket time.Time
	Value  string
	UsageSums
}

// UsageAllRollupColumns are the all-teams rollups' columns in
// UsageAllRollup order; the first three are the primary key.
var UsageAllRollupColumns = `dim, bucket, value, ` + usageSumColumns

// UsageAllRollupUpsert ends the INSERT INTO usage_hourly_all AS r (or
// usage_daily_all) that adds a batch's increments.
var UsageAllRollupUpsert = ` ON CONFLICT (dim, bucket, value) DO UPDATE SET
	` + usageSumsUpsert

// usageDims are the all-teams rollups' dimensions and each one's value in a
// record.
var usageDims = []struct {
	dim   string
	value func(r *llmservice.UsageRecord) string
}{
	{"", func(*llmservice.UsageRecord) string { return "" }},
	{"key", func(r *llmservice.UsageRecord) string { return r.KeyID }},
	{"model", func(r *llmservice.UsageRecord) string { return r.RequestedModel }},
	{"project", func(r *llmservice.UsageRecord) string { return r.Project }},
	{"team", func(r *llmservice.UsageRecord) string { return r.TeamID }},
}

// UsageAllRollups sums recs by UTC hour and by UTC day into the all-teams
// rollups, each list sorted by primary key (see UsageRollups).
func UsageAllRollups(recs []*llmservice.UsageRecord) (hourly, daily []UsageAllRollup) {
	return usageAllRollupOf(recs, time.Hour), usageAllRollupOf(recs, usageDay)
}

type usageAllKey struct {
	dim, value string
	bucket     int64
}

func usageAllRollupOf(recs []*llmservice.UsageRecord, d time.Duration) []UsageAllRollup {
	if len(recs) == 0 {
		return nil
	}
	idx := make(map[usageAllKey]int, 16)
	var out []UsageAllRollup
	for _, r := range recs {
		bucket := r.Time.UTC().Truncate(d)
		for _, dm := range usageDims {
			k := usageAllKey{dm.dim, dm.value(r), bucket.UnixMilli()}
			i, ok := idx[k]
			if !ok {
				i = len(out)
				idx[k] = i
				out = append(out, UsageAllRollup{Dim: k.dim, Bucket: bucket, Value: k.value})
			}
			out[i].add(r)
		}
	}
	slices.SortFunc(out, func(a, b UsageAllRollup) int {
		return cmp.Or(strings.Compare(a.Dim, b.Dim), a.Bucket.Compare(b.Bucket), strings.Compare(a.Value, b.Value))
	})
	return out
}
