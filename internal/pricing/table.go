package pricing

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

//go:embed prices.json
var pricesJSON []byte

// The compact file written by gen/ (see its outFile types, kept in step).
type fileData struct {
	Providers []struct {
		ID         string     `json:"id"`
		ModelMatch *fileMatch `json:"model_match"`
		Fallback   []string   `json:"fallback"`
		Models     []struct {
			ID      string    `json:"id"`
			Match   fileMatch `json:"match"`
			Context int       `json:"ctx"`
			Prices  []struct {
				From      string  `json:"from"`
				In        float64 `json:"in"`
				Out       float64 `json:"out"`
				CacheRead float64 `json:"cache_read"`
			} `json:"prices"`
		} `json:"models"`
	} `json:"providers"`
}

type fileMatch struct {
	Equals     string      `json:"equals"`
	StartsWith string      `json:"starts_with"`
	EndsWith   string      `json:"ends_with"`
	Contains   string      `json:"contains"`
	Regex      string      `json:"regex"`
	Or         []fileMatch `json:"or"`
	And        []fileMatch `json:"and"`
}

// matcher reports whether a lowercased model name matches a rule.
type matcher func(model string) bool

type table struct {
	providers []*provider // in data order
	byID      map[string]*provider
}

type provider struct {
	id         string
	modelMatch matcher // nil: the provider claims no model names
	fallback   []string
	models     []*modelInfo
}

type modelInfo struct {
	id    string
	match matcher
	ctx   int
	sched []dated // never empty
}

// dated is a price that applies from a day on; from is a Unix time, 0 for
// always.
type dated struct {
	from  int64
	price Price
}

// priceAt returns the price in force at t. As in genai-prices, the last entry
// whose day has come wins, and the first one applies before any has.
func (m *modelInfo) priceAt(t time.Time) Price {
	if len(m.sched) > 1 {
		now := t.Unix()
		for i := len(m.sched) - 1; i >= 0; i-- {
			if m.sched[i].from <= now {
				return m.sched[i].price
			}
		}
	}
	return m.sched[0].price
}

// loadTable parses the embedded data once, on first need, so that binaries
// and tests that never price anything pay nothing.
var loadTable = sync.OnceValue(func() *table {
	t, err := parseTable(pricesJSON)
	if err != nil {
		// prices.json is generated and checked by tests; a broken file is
		// a build defect, not a runtime condition.
		panic("pricing: embedded prices.json: " + err.Error())
	}
	return t
})

func parseTable(b []byte) (*table, error) {
	var f fileData
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	t := &table{byID: make(map[string]*provider, len(f.Providers))}
	for _, fp := range f.Providers {
		p := &provider{id: fp.ID, fallback: fp.Fallback}
		if fp.ModelMatch != nil {
			m, err := compile(*fp.ModelMatch)
			if err != nil {
				return nil, fmt.Errorf("provider %s: %w", fp.ID, err)
			}
			p.modelMatch = m
		}
		for _, fm := range fp.Models {
			mm, err := compile(fm.Match)
			if err != nil {
				return nil, fmt.Errorf("model %s/%s: %w", fp.ID, fm.ID, err)
			}
			if len(fm.Prices) == 0 {
				return nil, fmt.Errorf("model %s/%s: no prices", fp.ID, fm.ID)
			}
			m := &modelInfo{id: fm.ID, match: mm, ctx: fm.Context}
			for _, fpr := range fm.Prices {
				d := dated{price: Price{
					InputPerMTok:     fpr.In,
					OutputPerMTok:    fpr.Out,
					CacheReadPerMTok: fpr.CacheRead,
					ContextWindow:    fm.Context,
				}}
				if fpr.From != "" {
					day, err := time.Parse(time.DateOnly, fpr.From)
					if err != nil {
						return nil, fmt.Errorf("model %s/%s: %w", fp.ID, fm.ID, err)
					}
					d.from = day.Unix()
				}
				m.sched = append(m.sched, d)
			}
			p.models = append(p.models, m)
		}
		t.providers = append(t.providers, p)
		t.byID[p.id] = p
	}
	return t, nil
}

// compile turns a match clause into a matcher. Literal patterns are already
// lowercase (gen/ lowercases them); regexes get (?i) for the same effect.
func compile(c fileMatch) (matcher, error) {
	switch {
	case c.Equals != "":
		s := c.Equals
		return func(m string) bool { return m == s }, nil
	case c.StartsWith != "":
		s := c.StartsWith
		return func(m string) bool { return strings.HasPrefix(m, s) }, nil
	case c.EndsWith != "":
		s := c.EndsWith
		return func(m string) bool { return strings.HasSuffix(m, s) }, nil
	case c.Contains != "":
		s := c.Contains
		return func(m string) bool { return strings.Contains(m, s) }, nil
	case c.Regex != "":
		// genai-prices uses Python's re.search: unanchored, like MatchString.
		re, err := regexp.Compile("(?i)" + c.Regex)
		if err != nil {
			return nil, err
		}
		return re.MatchString, nil
	case len(c.Or) > 0:
		subs, err := compileAll(c.Or)
		if err != nil {
			return nil, err
		}
		return func(m string) bool {
			for _, s := range subs {
				if s(m) {
					return true
				}
			}
			return false
		}, nil
	case len(c.And) > 0:
		subs, err := compileAll(c.And)
		if err != nil {
			return nil, err
		}
		return func(m string) bool {
			for _, s := range subs {
				if !s(m) {
					return false
				}
			}
			return true
		}, nil
	}
	return nil, fmt.Errorf("empty match clause")
}

func compileAll(cs []fileMatch) ([]matcher, error) {
	out := make([]matcher, len(cs))
	for i, c := range cs {
		m, err := compile(c)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}

// find returns the first model of p, then of its fallback providers, whose
// rule matches name.
func (t *table) find(p *provider, name string) *modelInfo {
	if m := p.find(name); m != nil {
		return m
	}
	for _, id := range p.fallback {
		if fp := t.byID[id]; fp != nil {
			if m := fp.find(name); m != nil {
				return m
			}
		}
	}
	return nil
}

func (p *provider) find(name string) *modelInfo {
	for _, m := range p.models {
		if m.match(name) {
			return m
		}
	}
	return nil
}

// findAny searches every provider: first those whose model_match claims the
// name (the model's own vendor, as genai-prices picks a provider), then the
// rest in data order. This prices "deepseek-chat" at DeepSeek's rate rather
// than a reseller's.
func (t *table) findAny(name string) *modelInfo {
	for _, p := range t.providers {
		if p.modelMatch != nil && p.modelMatch(name) {
			if m := p.find(name); m != nil {
				return m
			}
		}
	}
	for _, p := range t.providers {
		if p.modelMatch != nil && p.modelMatch(name) {
			continue // already searched
		}
		if m := p.find(name); m != nil {
			return m
		}
	}
	return nil
}
