// Package limit enforces rate limits (requests or tokens per window) with the
// generic cell rate algorithm (GCRA). Local keeps the state in memory for one
// process; Redis shares it between replicas and falls back to a Local when
// Redis is unreachable. Both charge every rule of a request atomically: either
// all rules admit the request and all are charged, or nothing is charged.
package limit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Rule is one limit: at most Limit units per Window under Key.
type Rule struct {
	Key    string        // e.g. "key:key_123:rpm", "team:acme:tpm", "keymodel:key_1:gpt-4o:rpm"
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
	// ResetIn is the time until the limit is fully replenished
	// (x-ratelimit-reset-requests / -tokens).
	ResetIn time.Duration
	// RetryAfter is set on a refused rule: how long until its cost fits.
	// Round it up when turning it into whole seconds.
	RetryAfter time.Duration
	// TooLarge reports a cost above Limit: it can never be admitted, so
	// retrying is pointless and RetryAfter is zero.
	TooLarge bool
}

// Limiter is what the gateway needs from a rate limiter.
type Limiter interface {
	// Take checks every rule with its cost and consumes them all only if every
	// rule allows: all-or-nothing and atomic (a refused request consumes nothing).
	// Rules with cost 0 are only inspected (statuses for headers). Statuses are in rule order.
	Take(ctx context.Context, rules []Rule, costs []int64) (statuses []Status, ok bool, err error)
	// Adjust trues up after a call: a negative delta gives units back (the call used
	// fewer tokens than reserved), a positive one charges more; it never refuses.
	Adjust(ctx context.Context, rule Rule, delta int64) error
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
		if costs[i] < 0 {
			return fmt.Errorf("%w: negative cost %d for %q", ErrInvalidRule, costs[i], r.Key)
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
	case r.Window <= 0 || r.Window > MaxWindow:
		return fmt.Errorf("%w: window %v for %q is outside (0, %v]", ErrInvalidRule, r.Window, r.Key, MaxWindow)
	case r.Limit > int64(r.Window):
		// Each unit must occupy at least 1ns, or small costs would be free.
		return fmt.Errorf("%w: limit %d for %q is over one per nanosecond", ErrInvalidRule, r.Limit, r.Key)
	}
	return nil
}
