package cache

import (
	"container/list"
	"context"
	"strings"
	"sync"
	"time"
)

// Memory is an LRU store bounded by the bytes of its keys and values.
type Memory struct {
	max int64
	now func() time.Time

	mu    sync.Mutex
	size  int64
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type memEntry struct {
	key     string
	val     []byte
	obj     any   // a value kept as it is (SetValue)
	objSize int64 // what obj is counted as against the bound
	expires time.Time
}

// NewMemory returns a store holding at most maxBytes of keys and values
// (64 MiB when maxBytes <= 0). now may be nil.
func NewMemory(maxBytes int64, now func() time.Time) *Memory {
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	if now == nil {
		now = time.Now
	}
	return &Memory{max: maxBytes, now: now, order: list.New(), items: map[string]*list.Element{}}
}

func (e *memEntry) size() int64 { return int64(len(e.key)+len(e.val)+64) + e.objSize }

// Get returns the entry under key if it has not expired.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	e := m.get(key)
	if e == nil || e.obj != nil {
		return nil, false, nil
	}
	return e.val, true, nil
}

// GetValue returns the value SetValue kept under key, if it has not
// expired.
func (m *Memory) GetValue(key string) (any, bool) {
	e := m.get(key)
	if e == nil || e.obj == nil {
		return nil, false
	}
	return e.obj, true
}

func (m *Memory) get(key string) *memEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return nil
	}
	e := el.Value.(*memEntry)
	if !m.now().Before(e.expires) {
		m.remove(el)
		return nil
	}
	m.order.MoveToFront(el)
	return e
}

// Set stores val under key for ttl, evicting the least recently used
// entries beyond the bound. A value larger than the bound is not kept.
func (m *Memory) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	m.set(&memEntry{key: key, val: val, expires: m.now().Add(ttl)}, ttl)
	return nil
}

// SetValue keeps v itself under key, counted as size bytes against the
// bound: a caller in this process saves encoding it and decoding it back.
// v must not change once kept.
func (m *Memory) SetValue(key string, v any, size int64, ttl time.Duration) {
	m.set(&memEntry{key: key, obj: v, objSize: size, expires: m.now().Add(ttl)}, ttl)
}

func (m *Memory) set(e *memEntry, ttl time.Duration) {
	if ttl <= 0 || e.size() > m.max {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[e.key]; ok {
		m.remove(el)
	}
	m.items[e.key] = m.order.PushFront(e)
	m.size += e.size()
	for m.size > m.max {
		m.remove(m.order.Back())
	}
}

func (m *Memory) remove(el *list.Element) {
	e := el.Value.(*memEntry)
	m.order.Remove(el)
	delete(m.items, e.key)
	m.size -= e.size()
}

// Purge drops one team's entries, or all when team is "".
func (m *Memory) Purge(_ context.Context, team string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, el := range m.items {
		if team == "" || strings.HasPrefix(k, team+":") {
			m.remove(el)
			n++
		}
	}
	return n, nil
}

// Len returns the number of entries (expired ones included until read).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}
