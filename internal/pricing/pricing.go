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
	// ContextWindow is the maximum number of input tokens; 0 when unknown.
	ContextWindow int
}

// Cost returns the cost of u at p in nano-dollars.
//
// Usage follows OpenAI's accounting: PromptTokens includes CachedTokens, and
// CompletionTokens includes ReasoningTokens, so neither subset is added on
// top. Cached tokens are charged at the cache-read price when it is known.
//
// The sum is exact: each price is taken as whole pico-dollars per token (one
// pico-dollar per token is $0.000001 per million tokens, finer than any
// published price), and the total is rounded once, half up, to nano-dollars.
func (p Price) Cost(u llm.Usage) llmservice.Nanos {
	prompt := max(u.PromptTokens, 0)
	cached := min(max(u.CachedTokens, 0), prompt)
	completion := max(u.CompletionTokens, 0)

	in := picosPerToken(p.InputPerMTok)
	cacheRead := in
	if p.CacheReadPerMTok > 0 {
		cacheRead = picosPerToken(p.CacheReadPerMTok)
	}
	out := picosPerToken(p.OutputPerMTok)

	picos := int64(prompt-cached)*in + int64(cached)*cacheRead + int64(completion)*out
	return llmservice.Nanos((picos + 500) / 1000)
}

// picosPerToken converts USD per million tokens to pico-dollars per token:
// 1 USD/MTok = 1e12 pico-dollars / 1e6 tokens.
func picosPerToken(usdPerMTok float64) int64 {
	if usdPerMTok <= 0 || math.IsNaN(usdPerMTok) {
		return 0
	}
	return int64(math.Round(usdPerMTok * 1e6))
}
