// Package anthropic is the adapter for Anthropic's Messages API. Anthropic
// has no embeddings API, so the client is an llm.Provider only.
// https://platform.claude.com/docs/en/api/messages
package anthropic

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	wire "github.com/llmservice/llmservice/internal/wire/anthropic"
)

// DefaultBaseURL is Anthropic's API root, without the /v1 the adapter adds.
const DefaultBaseURL = "https://api.anthropic.com"

// Config configures one provider instance.
type Config struct {
	BaseURL string // default DefaultBaseURL; a trailing /v1 is tolerated
	APIKey  string // sent as x-api-key
	// Version is the anthropic-version header, default "2023-06-01", the
	// version this package's wire types follow.
	Version string
}

// Client calls one Anthropic Messages API upstream.
type Client struct {
	hc     *http.Client
	url    string
	header http.Header
	// now stands in for the creation time the API does not report.
	now func() time.Time
}

var _ llm.Provider = (*Client)(nil)

// New returns a client; hc should come from upstream.NewClient.
func New(cfg Config, hc *http.Client) *Client {
	// A base given with the /v1 that OpenAI-style configs carry would
	// otherwise become /v1/v1/messages.
	base := strings.TrimSuffix(strings.TrimRight(cfg.BaseURL, "/"), "/v1")
	if base == "" {
		base = DefaultBaseURL
	}
	version := cfg.Version
	if version == "" {
		version = wire.Version
	}
	if hc == nil {
		hc = upstream.NewClient(0)
	}
	h := make(http.Header)
	h.Set("anthropic-version", version)
	if cfg.APIKey != "" {
		h.Set("x-api-key", cfg.APIKey)
	}
	return &Client{hc: hc, url: base + "/v1/messages", header: h, now: time.Now}
}

// Chat sends a non-streaming request.
func (c *Client) Chat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	body, err := encode(req, false)
	if err != nil {
		return nil, err
	}
	var out wire.Message
	if err := upstream.PostJSON(ctx, c.hc, c.url, c.header, body, &out); err != nil {
		return nil, err
	}
	return fromWire(&out, c.now().Unix()), nil
}

// ChatStream starts a streaming request. It reads up to the first chunk
// before returning, so that a failure the upstream reports as the stream's
// first event (an overloaded_error, say) is returned here, where the caller
// may still retry or fall back.
func (c *Client) ChatStream(ctx context.Context, req *llm.ChatRequest) (llm.Stream, error) {
	body, err := encode(req, true)
	if err != nil {
		return nil, err
	}
	resp, err := upstream.Do(ctx, c.hc, http.MethodPost, c.url, c.header, body)
	if err != nil {
		return nil, err
	}
	s := newStream(ctx, resp.Body)
	if err := s.fill(); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// encode builds the request body once; the stream flag comes from the call,
// not from the request.
func encode(req *llm.ChatRequest, stream bool) ([]byte, error) {
	r, err := toWire(req)
	if err != nil {
		return nil, err
	}
	r.Stream = stream
	b, err := json.Marshal(r)
	if err != nil {
		// Only a raw JSON field (a tool schema) that is not valid JSON can
		// fail here; it came from the client.
		return nil, llmservice.InvalidParam("", "request cannot be encoded: %v", err)
	}
	return b, nil
}
