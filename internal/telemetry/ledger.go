package telemetry

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmservice/llmservice"
)

// UsageInserter is the store the meter writes usage batches to.
type UsageInserter interface {
	InsertUsage(ctx context.Context, recs []llmservice.UsageRecord) error
}

// Ledger times the usage ledger's batch inserts for
// llmservice_ledger_flush_seconds; the meter writes through it.
type Ledger struct {
	UsageInserter
	ok, failed prometheus.Observer
}

// NewLedger wraps s and registers llmservice_ledger_flush_seconds and, when
// buffered is set, llmservice_ledger_buffered_records (read at scrape
// time).
func NewLedger(reg prometheus.Registerer, s UsageInserter, buffered func() int) *Ledger {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "llmservice_ledger_flush_seconds",
		Help:    "Time to write one batch of usage records to the ledger, by result (ok or error).",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30},
	}, []string{"result"})
	l := &Ledger{UsageInserter: s, ok: h.WithLabelValues("ok"), failed: h.WithLabelValues("error")}
	if reg != nil {
		reg.MustRegister(h)
		if buffered != nil {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "llmservice_ledger_buffered_records",
				Help: "Usage records waiting in the meter's buffer for the next batch write.",
			}, func() float64 { return float64(buffered()) }))
		}
	}
	return l
}

// InsertUsage writes recs and times the write.
func (l *Ledger) InsertUsage(ctx context.Context, recs []llmservice.UsageRecord) error {
	start := time.Now()
	err := l.UsageInserter.InsertUsage(ctx, recs)
	o := l.ok
	if err != nil {
		o = l.failed
	}
	o.Observe(time.Since(start).Seconds())
	return err
}
