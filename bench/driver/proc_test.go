package main

import (
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name, line string
		want       time.Duration
		wantErr    bool
	}{
		{"plain", "1234 (llmservice) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 6 0 100 0 0",
			3250 * time.Millisecond, false},
		{"name with spaces and parens", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5",
			30 * time.Millisecond, false},
		{"short", "7 (x) R 1 2", 0, true},
		{"no paren", "garbage", 0, true},
	}
	for _, tt := range tests {
		got, err := parseStat([]byte(tt.line))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: parseStat = %v, %v; want %v, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseStatus(t *testing.T) {
	const status = "Name:\tllmservice\nVmPeak:\t 1272540 kB\nVmHWM:\t   23456 kB\nVmRSS:\t   20480 kB\nThreads:\t7\n"
	hwm, rss, err := parseStatus([]byte(status))
	if err != nil || hwm != 23456 || rss != 20480 {
		t.Errorf("parseStatus = %d, %d, %v; want 23456, 20480, nil", hwm, rss, err)
	}
}
