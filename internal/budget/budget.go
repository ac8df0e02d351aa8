// Package budget keeps spend against USD budgets exact under concurrency: a
// call reserves its worst-case cost before it runs and settles to its true
// cost after, so that many parallel calls against a nearly spent budget can
// never overspend it together.
//
// Spend per scope (a team or a key) is loaded once per budget period from the
// usage ledger (the source of truth) and then kept up to date by every
// settle, so the hot path reads no database. Accountant keeps it in the
// memory of one replica; Redis keeps it in Redis, shared by every replica.
package budget

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmservice/llmservice"
)

// Scope is one budget: a team's or a key's.
type Scope struct {
	Key    string // "team:<id>" or "key:<id>"
	Label  string // for messages: "team 'acme'"
	Limit  llmservice.Nanos
	Period string // "", daily, weekly, monthly
	TeamID string
	KeyID  string // empty for a team scope
}

// SpendSource reads what a scope spent since from, from the usage ledger.
type SpendSource func(ctx context.Context, teamID, keyID string, from time.Time) (llmservice.Nanos, error)

// Accountant tracks spend and reservations per scope.
type Accountant struct {
	mu     sync.Mutex
	accts  map[string]*account
	source SpendSource
	now    func() time.Time
}

type account struct {
	period   time.Time // start of the period the figures belong to
	spent    llmservice.Nanos
	reserved llmservice.Nanos
}

// New returns an accountant reading initial spend from source.
func New(source SpendSource, now func() time.Time) *Accountant {
	if now == nil {
		now = time.Now
	}
	return &Accountant{accts: make(map[string]*account), source: source, now: now}
}

// PeriodStart returns the start of the budget period containing t (UTC
// calendar periods; weeks start on Monday); the zero time for "".
func PeriodStart(period string, t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	switch period {
	case "daily":
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case "weekly":
		wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
		return time.Date(y, m, d-wd, 0, 0, 0, 0, time.UTC)
	case "monthly":
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// PeriodEnd returns when the period containing t ends (zero for "").
func PeriodEnd(period string, t time.Time) time.Time {
	s := PeriodStart(period, t)
	switch period {
	case "daily":
		return s.AddDate(0, 0, 1)
	case "weekly":
		return s.AddDate(0, 0, 7)
	case "monthly":
		return s.AddDate(0, 1, 0)
	}
	return time.Time{}
}

// Reservation is money held for one call until Settle. Both accountants
// hand out this one type, so that callers need not know which one holds it.
type Reservation struct {
	settle func(actual llmservice.Nanos)
	done   atomic.Bool
	// The in-memory Accountant's reservations settle through these
	// fields instead of a closure, and keep up to two scopes (a team's
	// and a key's) inline: one allocation per call.
	local   *Accountant
	amount  llmservice.Nanos
	keys    []string
	periods []time.Time
	keyBuf  [2]string
	perBuf  [2]time.Time
}

// load returns the scope's account for the current period, reading the
// ledger when the period is new. It drops a.mu while reading.
func (a *Accountant) load(ctx context.Context, s Scope, now time.Time) (*account, error) {
	start := PeriodStart(s.Period, now)
	if ac, ok := a.accts[s.Key]; ok && ac.period.Equal(start) {
		return ac, nil
	}
	a.mu.Unlock()
	spent, err := a.source(ctx, s.TeamID, s.KeyID, start)
	a.mu.Lock()
	if err != nil {
		return nil, fmt.Errorf("load spend of %s: %w", s.Key, err)
	}
	if ac, ok := a.accts[s.Key]; ok && ac.period.Equal(start) {
		return ac, nil // another caller loaded it meanwhile
	}
	// Calls still holding reservations in an old period settle into nothing:
	// their cost reaches the ledger, which is where a new period reads from.
	ac := &account{period: start, spent: spent}
	a.accts[s.Key] = ac
	return ac, nil
}

// Available returns what scope s can still spend now (never negative).
func (a *Accountant) Available(ctx context.Context, s Scope) (llmservice.Nanos, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ac, err := a.load(ctx, s, a.now())
	if err != nil {
		return 0, err
	}
	left := s.Limit - ac.spent - ac.reserved
	if left < 0 {
		left = 0
	}
	return left, nil
}

// Reserve holds amount in every scope, or in none: it fails with
// BudgetExceeded naming the first scope that cannot cover it.
func (a *Accountant) Reserve(ctx context.Context, scopes []Scope, amount llmservice.Nanos) (*Reservation, error) {
	if amount < 0 {
		amount = 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	var buf [2]*account
	accts := buf[:0]
	for _, s := range scopes {
		ac, err := a.load(ctx, s, now)
		if err != nil {
			return nil, err
		}
		accts = append(accts, ac)
	}
	// Loading may have dropped the lock; check and reserve in one go now.
	for i, s := range scopes {
		if ac := accts[i]; ac.spent+ac.reserved+amount > s.Limit {
			return nil, exceeded(s, ac.spent, ac.reserved, now)
		}
	}
	r := &Reservation{local: a, amount: amount}
	r.keys, r.periods = r.keyBuf[:0], r.perBuf[:0]
	for i, s := range scopes {
		accts[i].reserved += amount
		r.keys, r.periods = append(r.keys, s.Key), append(r.periods, accts[i].period)
	}
	return r, nil
}

// exceeded is the BudgetExceeded error of scope s, given its figures.
func exceeded(s Scope, spent, reserved llmservice.Nanos, now time.Time) error {
	msg := fmt.Sprintf("Budget exceeded for %s: spent $%.6f of $%.6f", s.Label, spent.Dollars(), s.Limit.Dollars())
	if reserved > 0 {
		msg += fmt.Sprintf(" with $%.6f held by calls in flight", reserved.Dollars())
	}
	e := &llmservice.Error{Kind: llmservice.BudgetExceeded, Code: "budget_exceeded", Message: msg}
	if end := PeriodEnd(s.Period, now); !end.IsZero() {
		e.Message += "; the budget resets at " + end.Format(time.RFC3339)
		e.RetryAfter = end.Sub(now)
	}
	return e
}

// Settle releases the reservation and books the true cost. It is safe to
// call once; later calls do nothing.
func (r *Reservation) Settle(actual llmservice.Nanos) {
	if r == nil || !r.done.CompareAndSwap(false, true) {
		return
	}
	if r.local != nil {
		r.local.settle(r.keys, r.periods, r.amount, actual)
		return
	}
	r.settle(actual)
}

func (a *Accountant) settle(keys []string, periods []time.Time, amount, actual llmservice.Nanos) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, k := range keys {
		ac, ok := a.accts[k]
		if !ok || !ac.period.Equal(periods[i]) {
			continue // the period rolled over; the new one loaded its spend from the ledger
		}
		ac.reserved -= amount
		ac.spent += actual
	}
}

// Forget drops a scope's figures so that the next call reloads them from the
// ledger (after an admin changed the budget or its period).
func (a *Accountant) Forget(key string) {
	a.mu.Lock()
	if ac, ok := a.accts[key]; ok && ac.reserved == 0 {
		delete(a.accts, key)
	}
	a.mu.Unlock()
}

// Status is a scope's figures for the current period.
type Status struct {
	PeriodStart time.Time
	PeriodEnd   time.Time
	Spent       llmservice.Nanos
	Reserved    llmservice.Nanos
}

// Status returns the scope's current figures, loading them if needed.
func (a *Accountant) Status(ctx context.Context, s Scope) (Status, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	ac, err := a.load(ctx, s, now)
	if err != nil {
		return Status{}, err
	}
	return Status{PeriodStart: ac.period, PeriodEnd: PeriodEnd(s.Period, now), Spent: ac.spent, Reserved: ac.reserved}, nil
}
