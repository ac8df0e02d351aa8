package llmservice

import (
	"context"
	"time"
)

// Nanos is an amount of US dollars in nano-dollars. Integer money keeps sums
// and balances exact; a float64 dollar value is only for display.
type Nanos int64

// Dollars converts n to a float64 dollar amount for display.
func (n Nanos) Dollars() float64 { return float64(n) / 1e9 }

// NanosFromDollars converts a dollar amount, rounding to the nearest nano.
func NanosFromDollars(d float64) Nanos {
	if d >= 0 {
		return Nanos(d*1e9 + 0.5)
	}
	return Nanos(d*1e9 - 0.5)
}

// UsageRecord is one call through the gateway, failed ones included. Records
// are appended, never updated.
type UsageRecord struct {
	ID               string
	Time             time.Time
	TeamID           string
	KeyID            string
	Project          string
	Endpoint         string // chat, completions, embeddings
	RequestedModel   string
	Provider         string
	UpstreamModel    string
	PromptTokens     int
	CompletionTokens int
	// CacheReadTokens, CacheWriteTokens (5-minute lifetime) and
	// CacheWrite1hTokens are the parts of PromptTokens the provider's prompt
	// cache served or stored; ReasoningTokens the part of CompletionTokens
	// spent thinking. Each is priced on its own (see Cost).
	CacheReadTokens    int
	CacheWriteTokens   int
	CacheWrite1hTokens int
	ReasoningTokens    int
	TokensEstimated    bool // counted locally because upstream gave no usage
	Cost               Nanos
	LatencyMS          int
	TTFTMS             int // time to first token, streams only
	Stream             bool
	Status             int    // HTTP status returned to the client
	ErrorType          string // empty on success
	Purpose            string
	Attempts           int
	// AttemptLog lists every attempt when there was more than one:
	// "deployment/model=outcome ...", so retries and fallbacks are visible.
	AttemptLog string
	// CacheHit is true when the response cache answered: Cost is then 0
	// and SavedCost what the answer cost when it was first served.
	CacheHit  bool
	SavedCost Nanos
	// Prompt and Response are kept, apart from the accounting row, only when
	// the team logs bodies; they are empty otherwise.
	Prompt   string
	Response string
}

// UsageFilter selects records for totals. Zero times are open ends.
type UsageFilter struct {
	TeamID  string
	KeyID   string
	Project string // optional: one project's records (StackForDevs' x-project-id)
	Model   string // optional: one requested model's records
	From    time.Time
	To      time.Time
	GroupBy string // "", "model", "key", "project", "team", "day"
}

// UsageTotal is one group of summed records.
type UsageTotal struct {
	Group            string `json:"group,omitempty"`
	Requests         int64  `json:"requests"`
	Errors           int64  `json:"errors"`
	PromptTokens     int64  `json:"prompt_tokens"`
	CompletionTokens int64  `json:"completion_tokens"`
	TotalTokens      int64  `json:"total_tokens"`
	// Parts of the prompt and completion counts, kept apart for pricing.
	CacheReadTokens    int64 `json:"cache_read_tokens"`
	CacheWriteTokens   int64 `json:"cache_write_tokens"`
	CacheWrite1hTokens int64 `json:"cache_write_1h_tokens"`
	ReasoningTokens    int64 `json:"reasoning_tokens"`
	// CacheHits counts calls the response cache answered; SavedUSD is what
	// they cost when first served (their own cost is 0).
	CacheHits    int64   `json:"cache_hits"`
	SavedCost    Nanos   `json:"-"`
	SavedUSD     float64 `json:"saved_usd"`
	Cost         Nanos   `json:"-"`
	CostUSD      float64 `json:"cost_usd"`
	AvgLatencyMS float64 `json:"avg_latency_ms"`
}

// RecordFilter selects raw usage records for logs, newest first.
type RecordFilter struct {
	TeamID  string // required: records never cross teams
	Project string // optional
	KeyID   string // optional
	From    time.Time
	To      time.Time
	Limit   int    // page size (default 50, at most 500)
	Before  string // cursor: the ID of the last record of the previous page
}

// UsageStore persists the usage ledger.
//
// Besides the records, a store keeps hourly and daily rollups: sums per
// (team, UTC hour or day, key, project, requested model), maintained by
// InsertUsage in the same transaction. SumUsage reads the rollups and only
// the records of a range's sub-hour edges, so its cost follows the length of
// the range, not the number of records; its totals equal a scan of the
// records exactly.
type UsageStore interface {
	// FindUsageRecords lists records with their bodies (when kept), newest
	// first, and the cursor of the next page ("" at the end).
	FindUsageRecords(ctx context.Context, f RecordFilter) ([]UsageRecord, string, error)
	// InsertUsage appends records in one transaction and adds those it
	// inserted to the rollups. A record whose ID is already there (a retried
	// batch), or a queue task's second successful record, is dropped and
	// counts nowhere.
	InsertUsage(ctx context.Context, recs []UsageRecord) error
	SumUsage(ctx context.Context, f UsageFilter) ([]UsageTotal, error)
}

// UsagePurger applies a retention period to the usage ledger.
type UsagePurger interface {
	// PurgeUsage deletes the records older than before, with their bodies,
	// batch records per transaction (short locks; batch <= 0 picks a
	// default), and returns how many it deleted. The rollups are kept:
	// totals over whole hours before the cutoff stay, while the logs and
	// the sub-hour edges of a range that starts before it are gone.
	PurgeUsage(ctx context.Context, before time.Time, batch int) (deleted int, err error)
}
