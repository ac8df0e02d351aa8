package pricing_test

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/pricing"
)

// Expected prices are copied from /work/shared/data/genai-prices.json; when a
// regenerated file changes one, update it here after checking the vendor's
// price page.
func TestLookup(t *testing.T) {
	tests := []struct {
		family, model string
		want          pricing.Price
		wantOK        bool
	}{
		{"openai", "gpt-4o", pricing.Price{InputPerMTok: 2.5, OutputPerMTok: 10, CacheReadPerMTok: 1.25, ContextWindow: 128000}, true},
		{"openai", "gpt-4o-2024-08-06", pricing.Price{InputPerMTok: 2.5, OutputPerMTok: 10, CacheReadPerMTok: 1.25, ContextWindow: 128000}, true},
		{"openai", "gpt-4o-mini", pricing.Price{InputPerMTok: 0.15, OutputPerMTok: 0.6, CacheReadPerMTok: 0.075, ContextWindow: 128000}, true},
		{"openai", "text-embedding-3-small", pricing.Price{InputPerMTok: 0.02, ContextWindow: 8192}, true},
		{"anthropic", "claude-3-5-haiku-latest", pricing.Price{InputPerMTok: 0.8, OutputPerMTok: 4, CacheReadPerMTok: 0.08, CacheWritePerMTok: 1, CacheWrite1hPerMTok: 1.6, ContextWindow: 200000}, true},
		{"anthropic", "claude-sonnet-4", pricing.Price{InputPerMTok: 3, OutputPerMTok: 15, CacheReadPerMTok: 0.3, CacheWritePerMTok: 3.75, CacheWrite1hPerMTok: 6, ContextWindow: 200000}, true},
		{"anthropic", "claude-sonnet-4-20250514", pricing.Price{InputPerMTok: 3, OutputPerMTok: 15, CacheReadPerMTok: 0.3, CacheWritePerMTok: 3.75, CacheWrite1hPerMTok: 6, ContextWindow: 200000}, true},
		// Tiered price: the base tier (below 128k prompt tokens).
		{"gemini", "gemini-1.5-flash", pricing.Price{InputPerMTok: 0.075, OutputPerMTok: 0.3, CacheReadPerMTok: 0.01875, ContextWindow: 1000000}, true},
		{"gemini", "gemini-2.0-flash", pricing.Price{InputPerMTok: 0.1, OutputPerMTok: 0.4, CacheReadPerMTok: 0.025, ContextWindow: 1000000}, true},
		// The Gemini API names models "models/<id>".
		{"gemini", "models/gemini-2.0-flash", pricing.Price{InputPerMTok: 0.1, OutputPerMTok: 0.4, CacheReadPerMTok: 0.025, ContextWindow: 1000000}, true},
		// Time-of-day prices: the standard (peak) rate, not the off-peak discount.
		{"openai-compatible", "deepseek-chat", pricing.Price{InputPerMTok: 0.27, OutputPerMTok: 1.1, CacheReadPerMTok: 0.07, ContextWindow: 64000}, true},
		{"openai-compatible", "mistral-large-latest", pricing.Price{InputPerMTok: 2, OutputPerMTok: 6}, true},
		{"openai-compatible", "llama-3.1-8b-instant", pricing.Price{InputPerMTok: 0.05, OutputPerMTok: 0.08}, true},
		{"vllm", "Llama-3.1-8B-Instant", pricing.Price{InputPerMTok: 0.05, OutputPerMTok: 0.08}, true},
		{"openai-compatible", "meta-llama/llama-3.1-8b-instant", pricing.Price{InputPerMTok: 0.05, OutputPerMTok: 0.08}, true},
		{"openai-compatible", "gpt-4o", pricing.Price{InputPerMTok: 2.5, OutputPerMTok: 10, CacheReadPerMTok: 1.25, ContextWindow: 128000}, true},
		{"openai", "no-such-model", pricing.Price{}, false},
		{"openai-compatible", "my-finetune/no-such-model", pricing.Price{}, false},
		{"openai", "claude-sonnet-4", pricing.Price{}, false}, // not an OpenAI model
		{"ollama", "gpt-4o", pricing.Price{}, false},          // local: free
		{"ollama", "llama3.2", pricing.Price{}, false},
		{"openai", "", pricing.Price{}, false},
	}
	for _, tt := range tests {
		got, ok := pricing.Lookup(tt.family, tt.model)
		if ok != tt.wantOK {
			t.Errorf("Lookup(%q, %q) ok = %v; want %v", tt.family, tt.model, ok, tt.wantOK)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Lookup(%q, %q) mismatch (-want +got):\n%s", tt.family, tt.model, diff)
		}
	}
}

// TestLookupCached checks that a second lookup, hit or miss, answers the same.
func TestLookupCached(t *testing.T) {
	for _, model := range []string{"gpt-4o-mini", "unknown-cached-miss"} {
		p1, ok1 := pricing.Lookup("openai", model)
		p2, ok2 := pricing.Lookup("openai", model)
		if p1 != p2 || ok1 != ok2 {
			t.Errorf("Lookup(openai, %q) = %v, %v then %v, %v", model, p1, ok1, p2, ok2)
		}
	}
}

func TestLookupConcurrent(t *testing.T) {
	models := []string{"gpt-4o", "gpt-4.1", "o3", "claude-sonnet-4", "gemini-2.0-flash", "deepseek-chat", "nope"}
	families := []string{"openai", "anthropic", "gemini", "openai-compatible"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				m := models[(g+i)%len(models)]
				f := families[i%len(families)]
				p, ok := pricing.Lookup(f, m)
				if !ok && p != (pricing.Price{}) {
					t.Errorf("Lookup(%q, %q) = %v, false; want zero price on a miss", f, m, p)
				}
			}
		})
	}
	wg.Wait()
}

func TestCost(t *testing.T) {
	gpt4o := pricing.Price{InputPerMTok: 2.5, OutputPerMTok: 10, CacheReadPerMTok: 1.25}
	noCache := pricing.Price{InputPerMTok: 2, OutputPerMTok: 6}
	sonnet := pricing.Price{InputPerMTok: 3, OutputPerMTok: 15}.WithFamilyDefaults("anthropic")
	tests := []struct {
		name  string
		price pricing.Price
		usage llm.Usage
		want  llmservice.Nanos
	}{
		{"zero", gpt4o, llm.Usage{}, 0},
		// 1000 × $2.50/M + 500 × $10/M = $0.0025 + $0.005.
		{"prompt and completion", gpt4o, llm.Usage{PromptTokens: 1000, CompletionTokens: 500}, 7_500_000},
		// 600 uncached × $2.50/M + 400 cached × $1.25/M = $0.0015 + $0.0005.
		{"cached at cache-read price", gpt4o, llm.Usage{PromptTokens: 1000, CachedTokens: 400}, 2_000_000},
		{"cached at input price when no cache price", noCache, llm.Usage{PromptTokens: 1000, CachedTokens: 400}, 2_000_000},
		// Reasoning tokens are part of completion tokens, not extra.
		{"reasoning not added", gpt4o, llm.Usage{CompletionTokens: 100, ReasoningTokens: 80}, 1_000_000},
		// Float arithmetic gives 3×0.1 = 0.30000000000000004; integers do not.
		{"no float drift", pricing.Price{InputPerMTok: 0.1, OutputPerMTok: 0.2}, llm.Usage{PromptTokens: 3, CompletionTokens: 3}, 900},
		{"sub-nano rounds half up", pricing.Price{InputPerMTok: 0.0005}, llm.Usage{PromptTokens: 1}, 1},
		{"sub-nano rounds down", pricing.Price{InputPerMTok: 0.000499}, llm.Usage{PromptTokens: 1}, 0},
		// Six decimals (DeepSeek's $0.003625/M cache reads) stay exact.
		{"six decimals", pricing.Price{InputPerMTok: 0.435, CacheReadPerMTok: 0.003625}, llm.Usage{PromptTokens: 3_000_000, CachedTokens: 2_000_000}, 435_000_000 + 7_250_000},
		{"cached clamped to prompt", gpt4o, llm.Usage{PromptTokens: 100, CachedTokens: 1000}, 125_000},
		{"negative counts ignored", gpt4o, llm.Usage{PromptTokens: -5, CompletionTokens: -1}, 0},
		// A billion output tokens at $600/M does not overflow.
		{"large", pricing.Price{OutputPerMTok: 600}, llm.Usage{CompletionTokens: 1_000_000_000}, 600_000_000_000_000},
		{"free model", pricing.Price{}, llm.Usage{PromptTokens: 1 << 20, CompletionTokens: 1 << 20}, 0},
		// Claude Sonnet: 1000 plain × $3 + 2000 read × $0.30 + 400 5-minute
		// writes × $3.75 + 100 1-hour writes × $6 (per million).
		{"anthropic cache tiers", sonnet, llm.Usage{PromptTokens: 3500, CachedTokens: 2000, CacheWriteTokens: 400, CacheWrite1hTokens: 100},
			3_000_000 + 600_000 + 1_500_000 + 600_000},
		// Unknown write prices: 5-minute writes at input, 1-hour at the 5-minute price.
		{"writes at input price when no cache price", noCache, llm.Usage{PromptTokens: 1000, CacheWriteTokens: 300, CacheWrite1hTokens: 200}, 2_000_000},
		{"1h writes at the 5m price when only it is known", pricing.Price{InputPerMTok: 1, CacheWritePerMTok: 2}, llm.Usage{PromptTokens: 100, CacheWrite1hTokens: 100}, 200_000},
		// Counts beyond the prompt are capped: reads first, then 5m, then 1h.
		{"writes clamped to the prompt", sonnet, llm.Usage{PromptTokens: 100, CachedTokens: 50, CacheWriteTokens: 40, CacheWrite1hTokens: 1000}, 15_000 + 150_000 + 60_000},
	}
	for _, tt := range tests {
		if got := tt.price.Cost(tt.usage); got != tt.want {
			t.Errorf("%s: %+v.Cost(%+v) = %d; want %d", tt.name, tt.price, tt.usage, got, tt.want)
		}
	}
}

func TestWithFamilyDefaults(t *testing.T) {
	tests := []struct {
		family string
		in     pricing.Price
		want   pricing.Price
	}{
		{"anthropic", pricing.Price{InputPerMTok: 10}, pricing.Price{InputPerMTok: 10, CacheReadPerMTok: 1, CacheWritePerMTok: 12.5, CacheWrite1hPerMTok: 20}},
		// Known prices (the catalog's overrides, the table's) stay.
		{"anthropic", pricing.Price{InputPerMTok: 10, CacheReadPerMTok: 2, CacheWritePerMTok: 11}, pricing.Price{InputPerMTok: 10, CacheReadPerMTok: 2, CacheWritePerMTok: 11, CacheWrite1hPerMTok: 20}},
		{"openai", pricing.Price{InputPerMTok: 10}, pricing.Price{InputPerMTok: 10}},
		{"gemini", pricing.Price{InputPerMTok: 10, CacheReadPerMTok: 2.5}, pricing.Price{InputPerMTok: 10, CacheReadPerMTok: 2.5}},
	}
	for _, tt := range tests {
		if got := tt.in.WithFamilyDefaults(tt.family); got != tt.want {
			t.Errorf("%+v.WithFamilyDefaults(%q) = %+v; want %+v", tt.in, tt.family, got, tt.want)
		}
	}
}

// TestCostSumsExactly checks that pricing many small calls one by one adds
// up to pricing them at once when each call costs whole nanos.
func TestCostSumsExactly(t *testing.T) {
	p, ok := pricing.Lookup("openai", "gpt-4o-mini")
	if !ok {
		t.Fatal("Lookup(openai, gpt-4o-mini) = false")
	}
	one := llm.Usage{PromptTokens: 1000, CompletionTokens: 200, CachedTokens: 200}
	var sum llmservice.Nanos
	for range 1000 {
		sum += p.Cost(one)
	}
	all := llm.Usage{PromptTokens: 1_000_000, CompletionTokens: 200_000, CachedTokens: 200_000}
	if got := p.Cost(all); got != sum {
		t.Errorf("Cost(1000 calls at once) = %d; want %d (sum of single calls)", got, sum)
	}
}

func BenchmarkLookup(b *testing.B) {
	pricing.Lookup("openai", "gpt-4o") // fill the cache
	b.ReportAllocs()
	for b.Loop() {
		pricing.Lookup("openai", "gpt-4o")
	}
}

func BenchmarkLookupParallel(b *testing.B) {
	pricing.Lookup("openai-compatible", "deepseek-chat")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			pricing.Lookup("openai-compatible", "deepseek-chat")
		}
	})
}

func BenchmarkLookupCachedMiss(b *testing.B) {
	pricing.Lookup("openai-compatible", "no-such-model")
	b.ReportAllocs()
	for b.Loop() {
		pricing.Lookup("openai-compatible", "no-such-model")
	}
}

func BenchmarkCost(b *testing.B) {
	p := pricing.Price{InputPerMTok: 2.5, OutputPerMTok: 10, CacheReadPerMTok: 1.25}
	u := llm.Usage{PromptTokens: 1234, CompletionTokens: 567, CachedTokens: 89}
	b.ReportAllocs()
	for b.Loop() {
		p.Cost(u)
	}
}
