// Package gemini is the provider adapter for the Google Gemini API
// (Generative Language API, v1beta): chat through models.generateContent and
// models.streamGenerateContent, embeddings through models.batchEmbedContents.
//
// https://ai.google.dev/api/generate-content
package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	geminiwire "github.com/llmservice/llmservice/internal/wire/gemini"
)

// DefaultBaseURL is the public Gemini API endpoint.
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

// Config configures one Gemini provider instance.
type Config struct {
	// BaseURL defaults to DefaultBaseURL; the adapter appends /v1beta/….
	BaseURL string
	APIKey  string
}

// Client calls the Gemini API. It is safe for concurrent use.
type Client struct {
	base string
	key  string
	hc   *http.Client
	now  func() time.Time
}

var (
	_ llm.Provider = (*Client)(nil)
	_ llm.Embedder = (*Client)(nil)
)

// New returns a client that sends its requests through hc, which should come
// from upstream.NewClient.
func New(cfg Config, hc *http.Client) *Client {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	return &Client{base: base, key: cfg.APIKey, hc: hc, now: time.Now}
}

// Chat sends one generateContent request.
func (c *Client) Chat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	u, body, err := c.chatRequest(req, "generateContent")
	if err != nil {
		return nil, err
	}
	resp, err := c.post(ctx, u, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var w geminiwire.GenerateContentResponse
	if err := json.NewDecoder(resp.Body).Decode(&w); err != nil {
		return nil, upstream.DecodeError(ctx, err)
	}
	out, err := fromWire(&w)
	if err != nil {
		return nil, err
	}
	// Gemini reports no creation time.
	out.Created = c.now().Unix()
	return out, nil
}

// ChatStream starts a streamGenerateContent request in SSE framing. It reads
// up to the first chunk before returning, so that a refusal at the start of
// the stream is still an error the caller can retry or fall back on.
func (c *Client) ChatStream(ctx context.Context, req *llm.ChatRequest) (llm.Stream, error) {
	u, body, err := c.chatRequest(req, "streamGenerateContent")
	if err != nil {
		return nil, err
	}
	// Without alt=sse Gemini streams one JSON array instead of SSE events.
	// https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
	resp, err := c.post(ctx, u+"?alt=sse", body)
	if err != nil {
		return nil, err
	}
	s := newStream(ctx, resp.Body)
	if err := s.prime(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Embed embeds every input in one batchEmbedContents request. Gemini reports
// no token usage for embeddings, so HasUsage is false and the gateway counts.
func (c *Client) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	w, err := embedToWire(req)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(w)
	if err != nil {
		return nil, &llmservice.Error{Kind: llmservice.Internal, Message: "internal error", Err: err}
	}
	u, err := c.methodURL(req.Model, "batchEmbedContents")
	if err != nil {
		return nil, err
	}
	resp, err := c.post(ctx, u, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out geminiwire.BatchEmbedContentsResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, upstream.DecodeError(ctx, err)
	}
	return embedFromWire(req, &out)
}

// chatRequest builds the URL and the body, once, for a chat call.
func (c *Client) chatRequest(req *llm.ChatRequest, method string) (string, []byte, error) {
	u, err := c.methodURL(req.Model, method)
	if err != nil {
		return "", nil, err
	}
	w, err := toWire(req)
	if err != nil {
		return "", nil, err
	}
	body, err := json.Marshal(w)
	if err != nil {
		return "", nil, &llmservice.Error{Kind: llmservice.Internal, Message: "internal error", Err: err}
	}
	return u, body, nil
}

// methodURL builds BaseURL/v1beta/{resource}:{method}. A bare model id is a
// base model ("models/…"); an id with a slash is already a resource name
// ("tunedModels/…").
func (c *Client) methodURL(model, method string) (string, error) {
	name := resourceName(model)
	if name == "" {
		return "", llmservice.InvalidParam("model", "model is required")
	}
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.base + "/v1beta/" + strings.Join(segs, "/") + ":" + method, nil
}

// resourceName turns a model id into its resource name.
func resourceName(model string) string {
	model = strings.Trim(model, "/")
	if model == "" || strings.Contains(model, "/") {
		return model
	}
	return "models/" + model
}

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 64 << 10

// post sends body with the API key in the x-goog-api-key header, never in
// the URL, so that no URL in a log or an error can leak it. A non-2xx answer
// becomes an error (see statusError) and its body is closed.
func (c *Client) post(ctx context.Context, u string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, &llmservice.Error{Kind: llmservice.Internal, Message: "internal error", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-goog-api-key", c.key)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, upstream.TransportError(ctx, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, statusError(resp.StatusCode, resp.Header, b)
	}
	return resp, nil
}
