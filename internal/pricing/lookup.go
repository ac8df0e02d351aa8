package pricing

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxCached bounds each scope's cache. Model names come from the catalog and
// upstream responses, so a few hundred is typical; past the bound lookups
// still work, only uncached.
const maxCached = 4096

// scope is where a provider family's models are searched, with its own cache
// so the cache key is the bare model name (no concatenation, no allocation).
type scope struct {
	provider string // genai-prices provider id; "" searches every provider
	cache    sync.Map
	n        atomic.Int64
}

var (
	openaiScope    = &scope{provider: "openai"}
	anthropicScope = &scope{provider: "anthropic"}
	geminiScope    = &scope{provider: "google"}
	anyScope       = &scope{}
)

func scopeFor(family string) *scope {
	switch family {
	case "openai":
		return openaiScope
	case "anthropic":
		return anthropicScope
	case "gemini":
		return geminiScope
	case "ollama":
		return nil // runs locally: no per-token price
	}
	return anyScope
}

// Lookup finds the price of model as served by a provider family:
// "openai", "anthropic" and "gemini" search that vendor's price list (and
// the providers genai-prices lists as its fallbacks); "ollama" is local and
// never has a price; "openai-compatible" and any other family search every
// provider, the model's own vendor first. Matching is case-insensitive, and
// when nothing matches, leading "org/" path segments are stripped one by one
// ("meta-llama/llama-3.1-8b-instant", "models/gemini-2.0-flash").
//
// Results, misses included, are cached, so a repeated lookup is a map read.
// Prices that change on a published date are resolved at call time.
//
// Cache prices the table does not know are filled in as WithFamilyDefaults
// says.
func Lookup(family, model string) (Price, bool) {
	s := scopeFor(family)
	if s == nil {
		return Price{}, false
	}
	p, ok := s.lookup(model)
	if !ok {
		return p, false
	}
	return p.WithFamilyDefaults(family), true
}

func (s *scope) lookup(model string) (Price, bool) {
	var m *modelInfo
	if v, ok := s.cache.Load(model); ok {
		m = v.(*modelInfo)
	} else {
		m = s.resolve(model)
		if s.n.Load() < maxCached {
			if _, loaded := s.cache.LoadOrStore(model, m); !loaded {
				s.n.Add(1)
			}
		}
	}
	if m == nil { // a miss, perhaps a cached one
		return Price{}, false
	}
	if len(m.sched) == 1 {
		return m.sched[0].price, true
	}
	return m.priceAt(time.Now()), true
}

// resolve searches the price table; it returns nil when nothing matches.
func (s *scope) resolve(name string) *modelInfo {
	t := loadTable()
	name = strings.ToLower(strings.TrimSpace(name))
	for name != "" {
		var m *modelInfo
		if s.provider == "" {
			m = t.findAny(name)
		} else if p := t.byID[s.provider]; p != nil {
			m = t.find(p, name)
		}
		if m != nil {
			return m
		}
		_, rest, ok := strings.Cut(name, "/")
		if !ok {
			break
		}
		name = rest
	}
	return nil
}
