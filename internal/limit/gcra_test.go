package limit

import (
	"math"
	"testing"
	"time"
)

func TestIncrement(t *testing.T) {
	const minute = int64(time.Minute)
	tests := []struct {
		name                string
		cost, limit, window int64
		want                int64
	}{
		{"one of 50 per minute", 1, 50, minute, 1_200_000_000},
		{"all of the limit", 50, 50, minute, minute},
		{"zero cost", 0, 50, minute, 0},
		{"rounds down", 1, 7, minute, 8_571_428_571},
		{"seven sevenths stay within the window", 7, 7, minute, minute},
		{"above the limit (adjust)", 120, 50, minute, 144_000_000_000},
		// cost*window overflows int64 here; the 128-bit product does not.
		{"large product", 9_000_000, 10_000_000, int64(MaxWindow), int64(MaxWindow) / 10 * 9},
		{"saturates", math.MaxInt64, 1, minute, maxBacklog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := increment(tt.cost, tt.limit, tt.window); got != tt.want {
				t.Errorf("increment(%d, %d, %d) = %d; want %d", tt.cost, tt.limit, tt.window, got, tt.want)
			}
		})
	}
}

func TestRemaining(t *testing.T) {
	const minute = int64(time.Minute)
	tests := []struct {
		name                   string
		backlog, limit, window int64
		want                   int64
	}{
		{"empty", 0, 50, minute, 50},
		{"one taken", 1_200_000_000, 50, minute, 49},
		{"a hair more than one taken", 1_200_000_001, 50, minute, 48},
		{"full", minute, 50, minute, 0},
		{"in debt", 2 * minute, 50, minute, 0},
		{"one seventh taken, rounded down inc", 8_571_428_571, 7, minute, 6},
		{"limit zero", 0, 0, minute, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := remaining(tt.backlog, tt.limit, tt.window); got != tt.want {
				t.Errorf("remaining(%d, %d, %d) = %d; want %d", tt.backlog, tt.limit, tt.window, got, tt.want)
			}
		})
	}
}

func TestAdjusted(t *testing.T) {
	r := Rule{Key: "k", Limit: 100, Window: time.Minute}
	s := int64(time.Second)
	tests := []struct {
		name           string
		backlog, delta int64
		want           int64
	}{
		{"refund", 30 * s, -30, 12 * s},
		{"charge", 12 * s, 40, 36 * s},
		{"charge past the window", 36 * s, 200, 156 * s},
		{"refund below zero stops at zero", 12 * s, -1000, 0},
		{"min int refund", 12 * s, math.MinInt64, 0},
		{"max int charge saturates", 0, math.MaxInt64, maxBacklog},
		{"zero", 12 * s, 0, 12 * s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := adjusted(tt.backlog, r, tt.delta); got != tt.want {
				t.Errorf("adjusted(%d, %d) = %d; want %d", tt.backlog, tt.delta, got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := Rule{Key: "k", Limit: 5, Window: time.Second}
	tests := []struct {
		name  string
		rules []Rule
		costs []int64
		valid bool
	}{
		{"ok", []Rule{ok}, []int64{1}, true},
		{"limit zero is a valid block", []Rule{{Key: "k", Window: time.Second}}, []int64{1}, true},
		{"no rules", nil, nil, true},
		{"length mismatch", []Rule{ok}, nil, false},
		{"negative cost", []Rule{ok}, []int64{-1}, false},
		{"empty key", []Rule{{Limit: 1, Window: time.Second}}, []int64{1}, false},
		{"negative limit", []Rule{{Key: "k", Limit: -1, Window: time.Second}}, []int64{1}, false},
		{"zero window", []Rule{{Key: "k", Limit: 1}}, []int64{1}, false},
		{"window too long", []Rule{{Key: "k", Limit: 1, Window: MaxWindow + 1}}, []int64{1}, false},
		{"over one per ns", []Rule{{Key: "k", Limit: 2, Window: 1}}, []int64{1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validate(tt.rules, tt.costs)
			if (err == nil) != tt.valid {
				t.Errorf("validate() = %v; want valid %v", err, tt.valid)
			}
		})
	}
}
