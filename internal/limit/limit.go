// Package limit enforces rate limits (requests or tokens per window) over a
// rolling window: at most Limit units in every window of length Window,
// counted in buckets of 1/60 of the window (see window.go). Local keeps the
// state in memory for one process; Redis shares it between replicas and,
// when Redis is unreachable, falls back to a Local enforcing this replica's
// share of each limit. Both charge every rule of a request atomically:
// either all rules admit the request and all are charged, or nothing is
// charged.
package limit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Rule is one limit: at most Limit units per Window under Key.
type Rule struct {
	// Key names the state, e.g. "key:key_123:rpm", "team:acme:tpm",
	// "keymodel:key_1:gpt-4o:rpm". Rules sharing a key share its units and
	// must share its Window; the Limit may change from one take to the next.
	Key    string
	Limit  int64         // units per window (requests or tokens)
	Window time.Duration // one minute for RPM/TPM
	Name   string        // for messages: "requests per minute of key key_123"
}

// Status is the outcome of one rule in a Take.
type Status struct {
	Rule Rule
	// Allowed reports whether this rule alone would admit its cost. In a
	// refused Take, the rules with Allowed false are the ones that were hit.
	Allowed bool
	// Remaining is the number of units left after this take, or now if the
	// take was refused (then nothing was charged).
	Remaining int64
	// ResetIn is the time until every unit counted now has left the
	// window, so the limit is whole again (x-ratelimit-reset-requests / -tokens).
	ResetIn time.Duration
	// RetryAfter is set on a refused rule: how long until its cost fits.
	// Round it up when turning it into whole seconds.
	RetryAfter time.Duration
	// TooLarge reports a cost above Limit: it can never be admitted, so
	// retrying is pointless and RetryAfter is zero.
	TooLarge bool

	receipt receipt // where an admitted take charged this rule, for Adjust
}

// receipt says where a take charged a rule, so that a true-up gives units
// back to the bucket that holds them.
type receipt struct {
	charged bool
	bucket  int64  // the bucket of the backend that decided
	onRedis bool   // that backend was Redis; shadow is then the local copy's bucket
	shadow  int64  // bucket of the local copy (Redis only)
	journal *Local // outage journal the charge went into (Redis only), if any
}

// Limiter is what the gateway needs from a rate limiter.
type Limiter interface {
	// Take checks every rule with its cost and consumes them all only if every
	// rule allows: all-or-nothing and atomic (a refused request consumes nothing).
	// Rules with cost 0 are only inspected (statuses for headers). Statuses are in rule order.
	Take(ctx context.Context, rules []Rule, costs []int64) (statuses []Status, ok bool, err error)
	// Adjust trues up a rule charged by an admitted Take, given its Status
	// from that Take: a negative delta gives units back to the bucket they
	// were charged in (the call used fewer tokens than estimated), a positive
	// one charges more now; it never refuses.
	Adjust(ctx context.Context, taken Status, delta int64) error
}

var (
	_ Limiter = (*Local)(nil)
	_ Limiter = (*Redis)(nil)
)

// ErrInvalidRule reports a rule or cost the limiter cannot evaluate. It is a
// programming or configuration error, never the client's fault.
var ErrInvalidRule = errors.New("limit: invalid rule")

// validate checks the arguments of a Take.
func validate(rules []Rule, costs []int64) error {
	if len(rules) != len(costs) {
		return fmt.Errorf("%w: %d rules but %d costs", ErrInvalidRule, len(rules), len(costs))
	}
	for i, r := range rules {
		if err := validateRule(r); err != nil {
			return err
		}
		if costs[i] < 0 || costs[i] > maxUnits {
			return fmt.Errorf("%w: cost %d for %q is outside [0, %d]", ErrInvalidRule, costs[i], r.Key, int64(maxUnits))
		}
	}
	return nil
}

func validateRule(r Rule) error {
	switch {
	case r.Key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidRule)
	case r.Limit < 0:
		return fmt.Errorf("%w: negative limit %d for %q", ErrInvalidRule, r.Limit, r.Key)
	case r.Window < MinWindow || r.Window > MaxWindow:
		return fmt.Errorf("%w: window %v for %q is outside [%v, %v]", ErrInvalidRule, r.Window, r.Key, MinWindow, MaxWindow)
	case r.Limit > maxUnits:
		return fmt.Errorf("%w: limit %d for %q is over %d", ErrInvalidRule, r.Limit, r.Key, int64(maxUnits))
	}
	return nil
}
