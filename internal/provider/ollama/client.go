// Package ollama is the provider adapter for Ollama's native API
// (https://docs.ollama.com/api): POST /api/chat for chat, streamed as NDJSON,
// POST /api/embed for embeddings and GET /api/tags as a health probe.
package ollama

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	ollamawire "github.com/llmservice/llmservice/internal/wire/ollama"
)

// DefaultBaseURL is where a local Ollama listens.
const DefaultBaseURL = "http://localhost:11434"

// Config configures one Ollama server.
type Config struct {
	// BaseURL is the server's address, without /api; DefaultBaseURL when empty.
	BaseURL string
	// APIKey is optional: a local Ollama needs none, but one behind an
	// authenticating proxy, or ollama.com, takes it as a Bearer token.
	APIKey string
}

// Client talks to one Ollama server. It is safe for concurrent use.
type Client struct {
	base   string
	hc     *http.Client
	header http.Header
}

var (
	_ llm.Provider = (*Client)(nil)
	_ llm.Embedder = (*Client)(nil)
)

// New returns a client for cfg. hc should come from upstream.NewClient so
// that connections are pooled; nil gets a new one.
func New(cfg Config, hc *http.Client) *Client {
	if hc == nil {
		hc = upstream.NewClient(0)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	h := http.Header{}
	if cfg.APIKey != "" {
		h.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	return &Client{base: base, hc: hc, header: h}
}

// Chat sends req and waits for the whole answer.
func (c *Client) Chat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	body, err := c.chatBody(req, false)
	if err != nil {
		return nil, err
	}
	var r ollamawire.ChatResponse
	if err := upstream.PostJSON(ctx, c.hc, c.base+"/api/chat", c.header, body, &r); err != nil {
		return nil, err
	}
	if r.Error != "" {
		return nil, streamError(r.Error)
	}
	return fromWire(&r), nil
}

// ChatStream starts a streamed answer. It reads until the first chunk, so
// that an error Ollama reports in place of the first line is returned here,
// while the caller can still retry or fall back.
func (c *Client) ChatStream(ctx context.Context, req *llm.ChatRequest) (llm.Stream, error) {
	body, err := c.chatBody(req, true)
	if err != nil {
		return nil, err
	}
	resp, err := upstream.Do(ctx, c.hc, http.MethodPost, c.base+"/api/chat", c.header, body)
	if err != nil {
		return nil, err
	}
	s := newStream(ctx, resp.Body)
	if err := s.prime(); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (c *Client) chatBody(req *llm.ChatRequest, stream bool) ([]byte, error) {
	w, err := toWire(req, stream)
	if err != nil {
		return nil, err
	}
	return marshal(w)
}

// Embed returns one vector per input. req.EncodingFormat is not sent: Ollama
// always answers with floats, and base64 is an encoding the dialect applies
// on the way out. req.User has no Ollama meaning (see toWire).
func (c *Client) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	input := req.Input
	if input == nil {
		input = []string{} // "input": null is not a list
	}
	body, err := marshal(&ollamawire.EmbedRequest{Model: req.Model, Input: input, Dimensions: req.Dimensions})
	if err != nil {
		return nil, err
	}
	var r ollamawire.EmbedResponse
	if err := upstream.PostJSON(ctx, c.hc, c.base+"/api/embed", c.header, body, &r); err != nil {
		return nil, err
	}
	if len(r.Embeddings) != len(req.Input) {
		return nil, llmservice.Errorf(llmservice.Upstream, "upstream returned %d embeddings for %d inputs", len(r.Embeddings), len(req.Input))
	}
	return &llm.EmbedResponse{
		Model:    r.Model,
		Vectors:  r.Embeddings,
		Usage:    llm.Usage{PromptTokens: r.PromptEvalCount},
		HasUsage: r.PromptEvalCount > 0,
	}, nil
}

// Health lists the server's models (GET /api/tags), the cheapest call that
// proves the server answers and accepts the key.
func (c *Client) Health(ctx context.Context) error {
	resp, err := upstream.Do(ctx, c.hc, http.MethodGet, c.base+"/api/tags", c.header, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Drain so the connection goes back to the pool.
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil {
		return upstream.ReadError(ctx, err)
	}
	return nil
}

func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &llmservice.Error{Kind: llmservice.Internal, Message: "internal error", Err: err}
	}
	return b, nil
}
