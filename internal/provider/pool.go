package provider

import (
	"context"
	"sync/atomic"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

// pool spreads calls over several hosts of one provider in turn, moving on
// to the next host when one fails in a way worth retrying (no answer, 429,
// 5xx). When every host failed the caller sees the seed services' wording,
// "Max attempts reached - no available hosts".
type pool struct {
	members []llm.Provider
	next    atomic.Uint64
}

func newPool(ms []llm.Provider) *pool { return &pool{members: ms} }

var (
	_ llm.Provider = (*pool)(nil)
	_ llm.Embedder = (*pool)(nil)
)

func try[T any](ctx context.Context, p *pool, fn func(llm.Provider) (T, error)) (T, error) {
	start := p.next.Add(1)
	var zero T
	var last error
	for i := range p.members {
		m := p.members[(start+uint64(i))%uint64(len(p.members))]
		v, err := fn(m)
		if err == nil {
			return v, nil
		}
		if !upstream.Retryable(err) || ctx.Err() != nil {
			return zero, err
		}
		last = err
	}
	return zero, &llmservice.Error{Kind: llmservice.Unavailable, Code: "no_available_hosts", Message: "Max attempts reached - no available hosts", Err: last}
}

func (p *pool) Chat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	return try(ctx, p, func(m llm.Provider) (*llm.ChatResponse, error) { return m.Chat(ctx, req) })
}

func (p *pool) ChatStream(ctx context.Context, req *llm.ChatRequest) (llm.Stream, error) {
	return try(ctx, p, func(m llm.Provider) (llm.Stream, error) { return m.ChatStream(ctx, req) })
}

func (p *pool) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	return try(ctx, p, func(m llm.Provider) (*llm.EmbedResponse, error) {
		e, ok := m.(llm.Embedder)
		if !ok {
			return nil, llmservice.InvalidParam("model", "this provider does not serve embeddings")
		}
		return e.Embed(ctx, req)
	})
}
