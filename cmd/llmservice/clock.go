package main

import (
	"context"
	"time"
)

// clockKey carries the time the gateway and the Django API's tokens read
// (key expiry, token expiry, usage record times) through serve's context.
// It is time.Now unless a test must see time pass (a key or a token
// expiring): that test moves its own server's clock instead of sleeping
// (fakeClock in helpers_test.go), without touching any other server
// running beside it.
type clockKey struct{}

// withClock returns a context whose server reads now for the time.
func withClock(ctx context.Context, now func() time.Time) context.Context {
	return context.WithValue(ctx, clockKey{}, now)
}

// clockOf is the clock serve's context carries, time.Now by default.
func clockOf(ctx context.Context) func() time.Time {
	if now, ok := ctx.Value(clockKey{}).(func() time.Time); ok {
		return now
	}
	return time.Now
}
