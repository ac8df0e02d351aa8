// Package openai is the adapter for OpenAI's Chat Completions protocol. It
// serves OpenAI itself and every server that speaks the same protocol (vLLM,
// llama.cpp server, LM Studio, Groq, Together, DeepSeek, Mistral, OpenRouter).
package openai

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// DefaultBaseURL is OpenAI's API root, /v1 included as in OPENAI_BASE_URL.
const DefaultBaseURL = "https://api.openai.com/v1"

// Config configures one provider instance.
type Config struct {
	BaseURL string // e.g. https://api.openai.com/v1 or http://vllm:8000/v1
	APIKey  string // optional for local servers
	// Headers are sent with every request (OpenRouter's HTTP-Referer, an
	// organization header, a proxy's own auth).
	Headers map[string]string
	// Responses says the upstream serves OpenAI's Responses API
	// (/responses), which OpenAI-compatible servers do not: the
	// pass-through lane forwards Responses calls to it.
	Responses bool
}

// Client calls one OpenAI-protocol upstream.
type Client struct {
	hc        *http.Client
	base      string
	headers   http.Header
	responses bool

	// What every forwarded chat call sends, built once: its URL, and the
	// headers with the JSON content type (and Accept for a stream) that
	// upstream.Do and forwardChat would otherwise set per call.
	chatURL                 string
	jsonHeaders, sseHeaders http.Header
}

var (
	_ llm.Provider = (*Client)(nil)
	_ llm.Embedder = (*Client)(nil)
)

// New returns a client; hc should come from upstream.NewClient.
func New(cfg Config, hc *http.Client) *Client {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	h := make(http.Header)
	for k, v := range cfg.Headers {
		h.Set(k, v)
	}
	if cfg.APIKey != "" {
		h.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	jh := h.Clone()
	jh.Set("Content-Type", "application/json")
	sh := jh.Clone()
	sh.Set("Accept", "text/event-stream")
	return &Client{hc: hc, base: base, headers: h, responses: cfg.Responses,
		chatURL: base + "/chat/completions", jsonHeaders: jh, sseHeaders: sh}
}

// Chat sends a non-streaming chat completion.
func (c *Client) Chat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	r := wire.FromLLM(req)
	r.Stream = false
	r.StreamOptions = nil
	var out wire.ChatCompletion
	if err := upstream.PostValue(ctx, c.hc, c.base+"/chat/completions", c.headers, r, size(req), &out); err != nil {
		return nil, err
	}
	return wire.CompletionToLLM(&out), nil
}

// ChatStream starts a streaming chat completion.
func (c *Client) ChatStream(ctx context.Context, req *llm.ChatRequest) (llm.Stream, error) {
	r := wire.FromLLM(req)
	r.Stream = true
	r.StreamOptions = &wire.StreamOptions{IncludeUsage: true}
	h := c.headers.Clone()
	h.Set("Accept", "text/event-stream")
	resp, err := upstream.DoJSON(ctx, c.hc, http.MethodPost, c.base+"/chat/completions", h, r, size(req))
	if err != nil {
		return nil, err
	}
	return newStream(ctx, resp.Body), nil
}

// size estimates the encoded request from its bulk: texts, images given
// inline, tool calls.
func size(req *llm.ChatRequest) int {
	n := 0
	for _, m := range req.Messages {
		for _, p := range m.Content {
			n += len(p.Text) + len(p.ImageURL) + len(p.Data)
		}
		for _, tc := range m.ToolCalls {
			n += len(tc.Arguments)
		}
	}
	return n
}

// Embed asks for float embeddings; a dialect that wants base64 encodes them.
func (c *Client) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	in, _ := json.Marshal(req.Input)
	body, err := json.Marshal(wire.EmbeddingRequest{Model: req.Model, Input: in, Dimensions: req.Dimensions, User: req.User})
	if err != nil {
		return nil, llmservice.InvalidParam("", "request cannot be encoded: %v", err)
	}
	var out struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
		Model string           `json:"model"`
		Usage *wire.EmbedUsage `json:"usage"`
	}
	if err := upstream.PostJSON(ctx, c.hc, c.base+"/embeddings", c.headers, body, &out); err != nil {
		return nil, err
	}
	res := &llm.EmbedResponse{Model: out.Model, Vectors: make([][]float32, len(req.Input))}
	for _, d := range out.Data {
		if d.Index < 0 || d.Index >= len(res.Vectors) {
			return nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream returned an embedding with an out-of-range index"}
		}
		res.Vectors[d.Index] = d.Embedding
	}
	if out.Usage != nil {
		res.HasUsage = true
		res.Usage = llm.Usage{PromptTokens: out.Usage.PromptTokens}
	}
	return res, nil
}

// Health lists models, which every OpenAI-compatible server answers cheaply.
func (c *Client) Health(ctx context.Context) error {
	resp, err := upstream.Do(ctx, c.hc, http.MethodGet, c.base+"/models", c.headers, nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
