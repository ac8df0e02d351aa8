package byok

import (
	"context"
	"testing"

	"github.com/llmservice/llmservice/internal/llm"
)

// BenchmarkProviderCached is the cost BYOK adds to every call to an
// OpenAI or Anthropic deployment once the team's entry is cached: a hit for
// a team with its own key, and the cached absence for one without.
func BenchmarkProviderCached(b *testing.B) {
	f := &fixture{store: &memStore{}}
	f.p = New(Config{Store: f.store, Sealer: mustSealer(b, 1), Build: func(family, key string) (llm.Provider, error) { return &keyed{key: key}, nil }})
	ctx := context.Background()
	if _, err := f.p.Save(ctx, "with", "openai", "sk-benchmark-key-0000"); err != nil {
		b.Fatal(err)
	}
	for _, team := range []string{"with", "without"} {
		b.Run(team, func(b *testing.B) {
			_, _, _ = f.p.Provider(ctx, team, "openai")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, _, _ = f.p.Provider(ctx, team, "openai")
				}
			})
		})
	}
}
