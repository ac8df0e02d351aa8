package main

import (
	"testing"
	"time"
)

func TestParseSysCPU(t *testing.T) {
	tests := []struct {
		line      string
		busy, all time.Duration
		wantErr   bool
	}{
		{"cpu  100 0 50 800 10 0 20 30 5 0", 2 * time.Second, 10100 * time.Millisecond, false},
		{"cpu  1 2 3 4 5 6 7 8", 270 * time.Millisecond, 360 * time.Millisecond, false},
		{"cpu0 1 2 3 4 5 6 7 8 0 0", 0, 0, true},
		{"cpu 1 2", 0, 0, true},
	}
	for _, tt := range tests {
		got, err := parseSysCPU(tt.line)
		if (err != nil) != tt.wantErr || got.busy != tt.busy || got.total != tt.all {
			t.Errorf("parseSysCPU(%q) = %+v, %v; want busy %v total %v, error %v", tt.line, got, err, tt.busy, tt.all, tt.wantErr)
		}
	}
}

func TestShare(t *testing.T) {
	a := sysCPU{busy: 10 * time.Second, total: 100 * time.Second}
	b := sysCPU{busy: 15 * time.Second, total: 110 * time.Second}
	tests := []struct {
		ours time.Duration
		want float64
	}{
		{0, 0.5},
		{2 * time.Second, 0.3},
		{6 * time.Second, 0}, // tick rounding can make ours exceed the total
	}
	for _, tt := range tests {
		if got := share(a, b, tt.ours); got < tt.want-1e-9 || got > tt.want+1e-9 {
			t.Errorf("share(ours %v) = %v; want %v", tt.ours, got, tt.want)
		}
	}
}
