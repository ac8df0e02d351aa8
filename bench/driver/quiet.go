package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// sysCPU is the machine-wide CPU time from the first line of /proc/stat.
type sysCPU struct {
	busy, total time.Duration
}

func readSysCPU() (sysCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return sysCPU{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseSysCPU(line)
}

// parseSysCPU reads "cpu  user nice system idle iowait irq softirq steal
// guest guest_nice" (USER_HZ ticks). Guest time is already counted in user,
// so it is skipped; steal counts as busy, since another VM had the core.
func parseSysCPU(line string) (sysCPU, error) {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return sysCPU{}, errors.New("malformed /proc/stat")
	}
	var v [8]int64
	for i := range v {
		n, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return sysCPU{}, fmt.Errorf("parse /proc/stat: %w", err)
		}
		v[i] = n
	}
	busy := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
	tick := time.Second / clkTck
	return sysCPU{busy: time.Duration(busy) * tick, total: time.Duration(busy+v[3]+v[4]) * tick}, nil
}

// share is the fraction of the machine's CPU that was busy between a and b
// beyond ours, the CPU time the caller accounts for.
func share(a, b sysCPU, ours time.Duration) float64 {
	total := b.total - a.total
	if total <= 0 {
		return 0
	}
	return max(0, float64(b.busy-a.busy-ours)/float64(total))
}

// waitQuiet waits, up to limit, for a second in which other work used at
// most threshold of the machine: a shared machine that is busy compiling
// would make every figure a measure of the neighbours.
func waitQuiet(ctx context.Context, threshold float64, limit time.Duration) (float64, error) {
	deadline := time.Now().Add(limit)
	warned := false
	for {
		a, err := readSysCPU()
		if err != nil {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
		b, err := readSysCPU()
		if err != nil {
			return 0, err
		}
		// Our servers are idle between runs, so everything busy is other work.
		busy := share(a, b, 0)
		if busy <= threshold || time.Now().After(deadline) {
			if busy > threshold {
				logf("  machine still %.0f%% busy with other work after %v; measuring anyway", busy*100, limit)
			}
			return busy, nil
		}
		if !warned {
			logf("  machine %.0f%% busy with other work; waiting up to %v for it to settle", busy*100, limit)
			warned = true
		}
	}
}
