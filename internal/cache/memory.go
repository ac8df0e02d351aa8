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

func (e *memEntry) size() int64 { return int64(len(e.key) + len(e.val) + 64) }

// Get returns the entry under key if it has not expired.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return nil, false, nil
	}
	e := el.Value.(*memEntry)
	if !m.now().Before(e.expires) {
		m.remove(el)
		return nil, false, nil
	}
	m.order.MoveToFront(el)
	return e.val, true, nil
}

// Set stores val under key for ttl, evicting the least recently used
// entries beyond the bound. A value larger than the bound is not kept.
func (m *Memory) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	e := &memEntry{key: key, val: val, expires: m.now().Add(ttl)}
	if ttl <= 0 || e.size() > m.max {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.remove(el)
	}
	m.items[key] = m.order.PushFront(e)
	m.size += e.size()
	for m.size > m.max {
		m.remove(m.order.Back())
	}
	return nil
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
