package limit

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchRules returns the rules of n keys spread over teams, as the gateway
// builds them: key RPM, team TPM, key+model RPM. Limits are high enough that
// every take is admitted, the common path.
func benchRules(n int) [][]Rule {
	out := make([][]Rule, n)
	for i := range out {
		out[i] = []Rule{
			rule(fmt.Sprintf("key:key_%d:rpm", i), 1e9, time.Minute),
			rule(fmt.Sprintf("team:team_%d:tpm", i%50), 1e9, time.Minute),
			rule(fmt.Sprintf("keymodel:key_%d:gpt-4o:rpm", i), 1e9, time.Minute),
		}
	}
	return out
}

func BenchmarkLocalTake(b *testing.B) {
	l := NewLocal(nil)
	sets := benchRules(1000)
	costs := []int64{1, 500, 1}
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 7919 // each goroutine walks the keys from its own place
		for pb.Next() {
			i++
			if _, ok, err := l.Take(ctx, sets[i%len(sets)], costs); !ok || err != nil {
				b.Fatalf("Take = %v, %v", ok, err)
			}
		}
	})
	// ns/op is wall time over all goroutines; CPU time per take is the
	// steadier figure on a machine shared with other work.
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the CPU time used by this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkRedisTake(b *testing.B) {
	url := redisURL(b)
	l := NewRedis(newClient(b, url, ""), RedisOptions{Prefix: testPrefix(b, url), Timeout: testTimeout})
	defer l.Close()
	sets := benchRules(1000)
	costs := []int64{1, 500, 1}
	ctx := context.Background()
	run := func(b *testing.B, take func(i int)) {
		b.ReportAllocs()
		b.SetParallelism(16) // requests wait on the network, not the CPU
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1)) * 7919
			for pb.Next() {
				i++
				take(i)
			}
		})
	}
	take := func(i int) {
		if _, ok, err := l.Take(ctx, sets[i%len(sets)], costs); !ok || err != nil {
			b.Fatalf("Take = %v, %v", ok, err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			take(i)
		}
	})
	b.Run("parallel", func(b *testing.B) { run(b, take) })
	if got := l.Backend(); got != BackendRedis {
		b.Errorf("Backend() = %q after the benchmark; want %q (the figures are local ones)", got, BackendRedis)
	}
}
