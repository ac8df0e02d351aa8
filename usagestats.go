package llmservice

import (
	"context"
	"time"
)

// UsageSeriesFilter selects a time series of usage: one point per UTC hour
// or day of [From, To), both rounded outwards to whole buckets, read from
// the rollups alone. An empty TeamID means every team.
type UsageSeriesFilter struct {
	TeamID  string
	KeyID   string
	Project string
	Model   string // the requested model
	From    time.Time
	To      time.Time
	Bucket  string // "hour" or "day"
}

// UsagePoint is the usage of one bucket of a series (or of a whole
// series), with latency percentiles estimated from the rollups' latency
// histograms.
type UsagePoint struct {
	Time time.Time `json:"time"`
	UsageTotal
	P50LatencyMS float64 `json:"p50_latency_ms"`
	P95LatencyMS float64 `json:"p95_latency_ms"`
}

// LogFilter selects records of the request log, newest first. Every field
// is optional; an empty TeamID means every team.
type LogFilter struct {
	TeamID  string
	KeyID   string
	Project string
	Model   string // the requested model
	// StatusMin and StatusMax bound the HTTP status, inclusively (0: no
	// bound).
	StatusMin int
	StatusMax int
	From      time.Time
	To        time.Time
	Cursor    string // the Next of the previous page
	Limit     int    // page size (default 50, at most 200)
}

// LogPage is one page of the request log.
type LogPage struct {
	Records []UsageRecord
	// Next continues after this page; "" when nothing older matches.
	// A page reads a bounded number of records, so with selective
	// filters it may hold fewer than Limit records (even none) and still
	// have a Next.
	Next string
	// Scanned is how many records were read to make the page.
	Scanned int
}

// UsageStatsStore answers the dashboard's questions about the ledger,
// each in a time bounded by the size of its answer rather than by the
// number of records.
type UsageStatsStore interface {
	// UsageSeries returns the points of the buckets that have usage, in
	// time order, and the total of the whole range. Invalid (param
	// bucket, from or to) for an unknown bucket or a range of more than
	// 31 days of hours or 400 days of days.
	UsageSeries(ctx context.Context, f UsageSeriesFilter) (points []UsagePoint, total UsagePoint, err error)
	// FindUsageLogs returns a page of the request log with the bodies of
	// its records (when kept). Invalid (param cursor) for a cursor it did
	// not make.
	FindUsageLogs(ctx context.Context, f LogFilter) (*LogPage, error)
}
