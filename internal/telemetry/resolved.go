package telemetry

import (
	"sync"
	"sync/atomic"
)

// resolved maps label tuples to their resolved series. It is read on every
// call and written once per new tuple, so reads load an immutable map
// through an atomic pointer: no lock, and unlike sync.Map no boxing of
// the key into an interface (an allocation per call for a struct key).
type resolved[K comparable, V any] struct {
	m  atomic.Pointer[map[K]V]
	mu sync.Mutex // serializes writers
}

func (r *resolved[K, V]) load(k K) (V, bool) {
	if p := r.m.Load(); p != nil {
		v, ok := (*p)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// loadOrStore returns k's value, storing make() first when there is none.
// Writers copy the map: there are as many writes as label tuples, few.
func (r *resolved[K, V]) loadOrStore(k K, make func() V) V {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.m.Load()
	if old != nil {
		if v, ok := (*old)[k]; ok {
			return v
		}
	}
	next := map[K]V{}
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	v := make()
	next[k] = v
	r.m.Store(&next)
	return v
}
