package pricing

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCompile(t *testing.T) {
	tests := []struct {
		clause string
		model  string
		want   bool
	}{
		{`{"equals":"gpt-4o"}`, "gpt-4o", true},
		{`{"equals":"gpt-4o"}`, "gpt-4o-mini", false},
		{`{"starts_with":"claude-3"}`, "claude-3-haiku", true},
		{`{"starts_with":"claude-3"}`, "x-claude-3", false},
		{`{"ends_with":"gemini-2.0-flash"}`, "models/gemini-2.0-flash", true},
		{`{"ends_with":"gemini-2.0-flash"}`, "gemini-2.0-flash-lite", false},
		{`{"contains":"deepseek"}`, "accounts/deepseek-v3", true},
		{`{"contains":"deepseek"}`, "qwen", false},
		// Unanchored, like Python's re.search.
		{`{"regex":"(?:mi|code|dev|magi|mini)stral"}`, "open-mistral-7b", true},
		{`{"regex":"^o[134]"}`, "o3-mini", true},
		{`{"regex":"^o[134]"}`, "gpt-o3", false},
		// Case-insensitive, as literal patterns are lowercased by gen/.
		{`{"regex":"^MiniMax-M"}`, "minimax-m1", true},
		{`{"or":[{"equals":"a"},{"starts_with":"b"}]}`, "bc", true},
		{`{"or":[{"equals":"a"},{"starts_with":"b"}]}`, "c", false},
		{`{"and":[{"contains":"huggingface"},{"contains":"groq"}]}`, "huggingface-groq", true},
		{`{"and":[{"contains":"huggingface"},{"contains":"groq"}]}`, "huggingface", false},
		{`{"and":[{"or":[{"equals":"x"},{"equals":"y"}]},{"starts_with":"y"}]}`, "y", true},
	}
	for _, tt := range tests {
		t.Run(tt.clause+"/"+tt.model, func(t *testing.T) {
			var c fileMatch
			mustUnmarshal(t, tt.clause, &c)
			m, err := compile(c)
			if err != nil {
				t.Fatalf("compile(%s): %v", tt.clause, err)
			}
			if got := m(tt.model); got != tt.want {
				t.Errorf("compile(%s)(%q) = %v; want %v", tt.clause, tt.model, got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, clause := range []string{`{}`, `{"regex":"(?!lookahead)"}`, `{"or":[{}]}`} {
		var c fileMatch
		mustUnmarshal(t, clause, &c)
		if _, err := compile(c); err == nil {
			t.Errorf("compile(%s) succeeded; want an error", clause)
		}
	}
}

func TestPriceAt(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	old := Price{InputPerMTok: 2, OutputPerMTok: 10}
	cur := Price{InputPerMTok: 3, OutputPerMTok: 15}
	later := Price{InputPerMTok: 4, OutputPerMTok: 20}
	m := &modelInfo{sched: []dated{
		{price: old},
		{from: day("2026-09-01").Unix(), price: cur},
		{from: day("2027-01-01").Unix(), price: later},
	}}
	// Before any dated price: the first entry, as genai-prices does.
	dateOnly := &modelInfo{sched: []dated{{from: day("2030-01-01").Unix(), price: later}, {from: day("2031-01-01").Unix(), price: cur}}}
	tests := []struct {
		m    *modelInfo
		at   time.Time
		want Price
	}{
		{m, day("2026-08-31").Add(23 * time.Hour), old},
		{m, day("2026-09-01"), cur},
		{m, day("2026-12-31"), cur},
		{m, day("2027-06-01"), later},
		{dateOnly, day("2026-01-01"), later},
		{dateOnly, day("2031-06-01"), cur},
	}
	for _, tt := range tests {
		if got := tt.m.priceAt(tt.at); got != tt.want {
			t.Errorf("priceAt(%s) = %+v; want %+v", tt.at.Format(time.RFC3339), got, tt.want)
		}
	}
}

func TestParseTable(t *testing.T) {
	const data = `{"source":"test","providers":[
{"id":"vendor","model_match":{"starts_with":"v-"},"models":[
{"id":"v-1","match":{"equals":"v-1"},"ctx":1000,"prices":[{"in":1,"out":2,"cache_read":0.5}]},
{"id":"v-2","match":{"starts_with":"v-2"},"prices":[{"in":1,"out":2},{"from":"2026-09-01","in":3,"out":4}]}]},
{"id":"reseller","fallback":["vendor"],"models":[
{"id":"v-1","match":{"equals":"v-1"},"prices":[{"in":9,"out":9}]},
{"id":"r-1","match":{"equals":"r-1"},"prices":[{"in":5,"out":6}]}]}
]}`
	tb, err := parseTable([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	reseller := tb.byID["reseller"]
	tests := []struct {
		name   string
		find   func(string) *modelInfo
		model  string
		wantID string
		want   Price
	}{
		{"vendor first in any", tb.findAny, "v-1", "v-1", Price{InputPerMTok: 1, OutputPerMTok: 2, CacheReadPerMTok: 0.5, ContextWindow: 1000}},
		{"rest in data order", tb.findAny, "r-1", "r-1", Price{InputPerMTok: 5, OutputPerMTok: 6}},
		{"provider's own", func(s string) *modelInfo { return tb.find(reseller, s) }, "v-1", "v-1", Price{InputPerMTok: 9, OutputPerMTok: 9}},
		{"fallback provider", func(s string) *modelInfo { return tb.find(reseller, s) }, "v-2-x", "v-2", Price{InputPerMTok: 3, OutputPerMTok: 4}},
		{"miss", tb.findAny, "zzz", "", Price{}},
	}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		m := tt.find(tt.model)
		if tt.wantID == "" {
			if m != nil {
				t.Errorf("%s: find(%q) = %s; want no match", tt.name, tt.model, m.id)
			}
			continue
		}
		if m == nil {
			t.Errorf("%s: find(%q) = nil; want %s", tt.name, tt.model, tt.wantID)
			continue
		}
		if m.id != tt.wantID {
			t.Errorf("%s: find(%q) = %s; want %s", tt.name, tt.model, m.id, tt.wantID)
		}
		if diff := cmp.Diff(tt.want, m.priceAt(at)); diff != "" {
			t.Errorf("%s: find(%q) price mismatch (-want +got):\n%s", tt.name, tt.model, diff)
		}
	}
}

func TestParseTableErrors(t *testing.T) {
	for _, data := range []string{
		`not json`,
		`{"providers":[{"id":"p","models":[{"id":"m","match":{},"prices":[{"in":1}]}]}]}`,
		`{"providers":[{"id":"p","models":[{"id":"m","match":{"equals":"m"},"prices":[]}]}]}`,
		`{"providers":[{"id":"p","models":[{"id":"m","match":{"equals":"m"},"prices":[{"from":"tomorrow"}]}]}]}`,
	} {
		if _, err := parseTable([]byte(data)); err == nil {
			t.Errorf("parseTable(%s) succeeded; want an error", data)
		}
	}
}

// TestEmbeddedTable checks the committed prices.json parses and every model
// has a usable schedule.
func TestEmbeddedTable(t *testing.T) {
	tb, err := parseTable(pricesJSON)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, p := range tb.providers {
		n += len(p.models)
	}
	if n < 100 {
		t.Errorf("embedded table has %d models; want the full genai-prices list", n)
	}
	for _, id := range []string{"openai", "anthropic", "google"} {
		if tb.byID[id] == nil {
			t.Errorf("embedded table has no provider %q", id)
		}
	}
}

func TestCacheBound(t *testing.T) {
	s := &scope{}
	for i := range maxCached + 10 {
		s.lookup(fmt.Sprintf("unknown-%d", i))
	}
	if got := s.n.Load(); got != maxCached {
		t.Errorf("cached %d entries; want the bound %d", got, maxCached)
	}
	if _, ok := s.cache.Load(fmt.Sprintf("unknown-%d", maxCached+5)); ok {
		t.Errorf("entry past the bound was cached")
	}
	// Past the bound, lookups still answer.
	if _, ok := s.lookup("gpt-4o"); !ok {
		t.Errorf("lookup(gpt-4o) past the cache bound = false; want true")
	}
}

func mustUnmarshal(tb testing.TB, s string, v any) {
	tb.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		tb.Fatalf("unmarshal %s: %v", s, err)
	}
}

func BenchmarkResolveUncached(b *testing.B) {
	s := &scope{}
	loadTable()
	b.ReportAllocs()
	for b.Loop() {
		s.resolve("llama-3.1-8b-instant")
	}
}

func BenchmarkLookupDated(b *testing.B) {
	// claude-sonnet-5 has a dated price change, so each hit reads the clock.
	Lookup("anthropic", "claude-sonnet-5")
	b.ReportAllocs()
	for b.Loop() {
		Lookup("anthropic", "claude-sonnet-5")
	}
}
