// Package pricing knows what a model costs per token and turns usage into
// money.
//
// Prices come from the genai-prices project (https://github.com/pydantic/genai-prices,
// MIT licence, copied in LICENSE.genai-prices). The generator in gen/ boils its
// data file down to prices.json, which is embedded in the binary, so pricing
// works offline and a price update is a reviewed diff. Regenerate with
// `go generate ./internal/pricing` after updating the shared data file.
package pricing

import (
	"math"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

//go:generate go run ./gen -in ../../../shared/data/genai-prices.json -out prices.json

// Price is what a model charges, in US dollars per million tokens.
type Price struct {
	InputPerMTok  float64
	OutputPerMTok float64
	// CacheReadPerMTok is the price of prompt tokens served from the
	// provider's prompt cache; 0 means unknown, and such tokens are then
	// charged at InputPerMTok.
	CacheReadPerMTok float64
	// CacheWritePerMTok is the price of prompt tokens written to the cache
	// with the default (5-minute) lifetime, CacheWrite1hPerMTok with the
	// one-hour lifetime. 0 means unknown: 5-minute writes are then charged
	// at InputPerMTok and 1-hour writes at the 5-minute price. Providers
	// that cache implicitly (OpenAI, Gemini) report no writes at all.
	CacheWritePerMTok   float64
	CacheWrite1hPerMTok float64
	// ContextWindow is the maximum number of input tokens; 0 when unknown.
	ContextWindow int
}

// Anthropic's cache multipliers of the input price, used when neither the
// price table nor the catalog names a cache price for an Anthropic model.
// https://platform.claude.com/docs/en/build-with-claude/prompt-caching#pricing
const (
	anthropicCacheRead    = 0.1
	anthropicCacheWrite   = 1.25
	anthropicCacheWrite1h = 2
)

// WithFamilyDefaults fills the cache prices p leaves unknown with what the
// provider family charges relative to its input price: Anthropic reads at
// 0.1x, 5-minute writes at 1.25x and 1-hour writes at 2x. Other families
// keep the Cost fallbacks (reads and writes at the input price), so that a
// missing price never under-bills.
func (p Price) WithFamilyDefaults(family string) Price {
	if family != "anthropic" {
		return p
	}
	if p.CacheReadPerMTok == 0 {
		p.CacheReadPerMTok = p.InputPerMTok * anthropicCacheRead
	}
	if p.CacheWritePerMTok == 0 {
		p.CacheWritePerMTok = p.InputPerMTok * anthropicCacheWrite
	}
	if p.CacheWrite1hPerMTok == 0 {
		p.CacheWrite1hPerMTok = p.InputPerMTok * anthropicCacheWrite1h
	}
	return p
}

// Cost returns the cost of u at p in nano-dollars.
//
// Usage follows OpenAI's accounting: PromptTokens includes CachedTokens and
// both cache write counts, and CompletionTokens includes ReasoningTokens, so
// no subset is added on top: each is taken out of the prompt and charged at
// its own price (cache reads, 5-minute and 1-hour writes), reasoning at the
// output price. Counts larger than what remains of the prompt are capped.
//
// The sum is exact: each price is taken as whole pico-dollars per token (one
// pico-dollar per token is $0.000001 per million tokens, finer than any
// published price), and the total is rounded once, half up, to nano-dollars.
func (p Price) Cost(u llm.Usage) llmservice.Nanos {
	prompt := max(u.PromptTokens, 0)
	cached := min(max(u.CachedTokens, 0), prompt)
	write := min(max(u.CacheWriteTokens, 0), prompt-cached)
	write1h := min(max(u.CacheWrite1hTokens, 0), prompt-cached-write)
	completion := max(u.CompletionTokens, 0)

	in := picosPerToken(p.InputPerMTok)
	cacheRead := orPrice(p.CacheReadPerMTok, in)
	cacheWrite := orPrice(p.CacheWritePerMTok, in)
	cacheWrite1h := orPrice(p.CacheWrite1hPerMTok, cacheWrite)
	out := picosPerToken(p.OutputPerMTok)

	picos := int64(prompt-cached-write-write1h)*in + int64(cached)*cacheRead +
		int64(write)*cacheWrite + int64(write1h)*cacheWrite1h + int64(completion)*out
	return llmservice.Nanos((picos + 500) / 1000)
}

// orPrice converts a price that may be unknown (0), falling back to def
// pico-dollars per token.
func orPrice(usdPerMTok float64, def int64) int64 {
	if usdPerMTok > 0 {
		return picosPerToken(usdPerMTok)
	}
	return def
}

// picosPerToken converts USD per million tokens to pico-dollars per token:
// 1 USD/MTok = 1e12 pico-dollars / 1e6 tokens.
func picosPerToken(usdPerMTok float64) int64 {
	if usdPerMTok <= 0 || math.IsNaN(usdPerMTok) {
		return 0
	}
	return int64(math.Round(usdPerMTok * 1e6))
}
