package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/storesql"
)

var _ llmservice.UsageStatsStore = (*DB)(nil)

// UsageSeries sums the rollups of f's range bucket by bucket.
func (db *DB) UsageSeries(ctx context.Context, f llmservice.UsageSeriesFilter) ([]llmservice.UsagePoint, llmservice.UsagePoint, error) {
	ps, total, err := storesql.UsageSeries(db.usageQuery(ctx), usageDialect, f, time.Time.UTC)
	if err != nil {
		return nil, total, fmt.Errorf("usage series: %w", err)
	}
	return ps, total, nil
}

// FindUsageLogs reads a page of the request log.
func (db *DB) FindUsageLogs(ctx context.Context, f llmservice.LogFilter) (*llmservice.LogPage, error) {
	p, err := storesql.FindUsageLogs(db.usageQuery(ctx), usageDialect, f, time.Time.UTC)
	if err != nil {
		return nil, fmt.Errorf("find usage logs: %w", err)
	}
	return p, nil
}
