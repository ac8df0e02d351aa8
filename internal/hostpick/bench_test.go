package hostpick

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkDoHappyPath measures what the engine adds to a call that
// succeeds at once: picking, in-flight and latency accounting, the Outcome.
// fn does nothing, so all of the time is the router's.
func BenchmarkDoHappyPath(b *testing.B) {
	ok := func(context.Context, *Deployment) error { return nil }
	for _, n := range []int{1, 4} {
		for _, s := range []Strategy{Weighted, LeastOutstanding, LowestLatency} {
			if n == 1 && s != Weighted {
				continue // one deployment: the strategy is never asked
			}
			tier := make([]*Deployment, n)
			for i := range tier {
				tier[i] = &Deployment{ID: fmt.Sprintf("d%d", i), Weight: i + 1, Provider: &fakeProvider{}}
			}
			plan := [][]*Deployment{tier, {dep("fallback")}}
			b.Run(fmt.Sprintf("deployments=%d/%s", n, s), func(b *testing.B) {
				r := New(Policy{})
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := r.Do(ctx, plan, s, ok); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("deployments=%d/%s/parallel", n, s), func(b *testing.B) {
				r := New(Policy{})
				ctx := context.Background()
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := r.Do(ctx, plan, s, ok); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
