// Package django serves the Django LLM Service API (seed 001): a welcome
// message, signup, simplejwt-style access and refresh tokens, the models of
// each provider and chat completions under /api/..., with DRF's error
// bodies and its browsable API for people who open the URLs in a browser.
//
// A user is a username, a password hash, a personal team and one key whose
// plaintext nobody ever sees: access tokens stand for that key, so that the
// gateway applies the key's limits and budgets and meters its usage like any
// other call, and the same tokens work as bearer credentials on every
// dialect.
package django

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/config"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
)

// Gateway is what this dialect needs from the core.
type Gateway interface {
	Authenticate(ctx context.Context, token string) (*gateway.Principal, error)
	Chat(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.Result, error)
	ChatStream(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.StreamResult, error)
	Models(p *gateway.Principal) []gateway.ModelInfo
	CatalogEntries() map[string]*llmservice.Model
}

// Keys finds the key a user's tokens stand for, to refuse a login whose key
// an admin revoked.
type Keys interface {
	FindKeyByID(ctx context.Context, id string) (*llmservice.Key, error)
}

// Handler serves the dialect.
type Handler struct {
	GW     Gateway
	Users  llmservice.DjangoUserStore
	Keys   Keys
	Tokens *Tokens
	// Providers are the names ?provider= accepts (see MapProviders).
	Providers []Provider
	Log       *slog.Logger
	BodyLimit int64
	Now       func() time.Time
	// Throttle counts failed logins per username (the server counts them
	// per address): past its limit a username's logins get 429 until its
	// minute has passed. Nil throttles nothing.
	Throttle Throttle

	// hashing bounds concurrent password hashes: each holds 19 MiB for
	// tens of milliseconds, and a burst of logins must not exhaust memory.
	hashing chan struct{}
}

// Throttle blocks keys after repeated failures (internal/authguard).
type Throttle interface {
	// Blocked returns how long key stays blocked; 0 when it may try.
	Blocked(key string) time.Duration
	// Fail counts a failure of key.
	Fail(key string)
}

// maxHashing is how many password hashes may run at once.
const maxHashing = 4

// endpoint is one URL of the API: what its handlers are, and what the
// browsable page and OPTIONS say about it.
type endpoint struct {
	Path        string // with Django's trailing slash
	Name        string
	Description string
	// Example prefills the browsable page's text box.
	Example string
	// Query, when set, is the default query string of the browsable page.
	Query string
	GET   httpx.HandlerFunc
	POST  httpx.HandlerFunc
}

func (h *Handler) endpoints() []*endpoint {
	return []*endpoint{
		{Path: "/", Name: "Welcome", Description: "Returns a welcome message. If you cannot access this, the server is probably not running.",
			GET: h.welcome},
		{Path: "/api/signup/", Name: "Signup", Description: "Creates a user.",
			Example: "{\n  \"username\": \"charming_user\",\n  \"password\": \"secure_pwd\"\n}", POST: h.signup},
		{Path: "/api/token/", Name: "Token", Description: "Get an access token and a refresh token.",
			Example: "{\n  \"username\": \"charming_user\",\n  \"password\": \"secure_pwd\"\n}", POST: h.token},
		{Path: "/api/token/refresh/", Name: "Refresh", Description: "Refresh your access token.",
			Example: "{\n  \"refresh\": \"\"\n}", POST: h.refresh},
		{Path: "/api/supported-models/", Name: "Supported Models",
			Description: "Returns a list of models supported by the specified provider (openai, gemini, or inhouse).",
			Query:       "provider=openai", GET: h.supportedModels},
		{Path: "/api/chat/completions/", Name: "Chat Completion",
			Description: "Submit a prompt and receive a response from the selected provider (openai, gemini, or inhouse).",
			Query:       "provider=openai",
			Example:     "{\n  \"model\": \"gpt-4o-mini\",\n  \"messages\": [\n    {\"role\": \"user\", \"content\": \"How is the weather on Venus?\"}\n  ],\n  \"stream\": false\n}",
			POST:        h.chat},
	}
}

// Register adds the API's routes. Each URL takes every method so that a
// wrong one gets DRF's 405 rather than the server's 404, and a browser's
// GET gets the browsable page. The root is registered for GET only, so that
// it never shadows another API's paths. URLs without Django's trailing
// slash are served too: Django would redirect them, which loses a POST body.
func (h *Handler) Register(mux *http.ServeMux) {
	if h.hashing == nil {
		h.hashing = make(chan struct{}, maxHashing)
	}
	if h.Log == nil {
		h.Log = slog.Default()
	}
	if h.BodyLimit <= 0 {
		h.BodyLimit = config.DefaultBodyLimit
	}
	eps := h.endpoints()
	for _, e := range eps {
		hd := h.serveEndpoint(e, eps)
		if e.Path == "/" {
			mux.Handle("GET /{$}", hd)
			continue
		}
		mux.Handle(e.Path+"{$}", hd)
		mux.Handle(strings.TrimSuffix(e.Path, "/"), hd)
	}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) welcome(w http.ResponseWriter, r *http.Request) error {
	return httpx.WriteJSON(w, http.StatusOK, map[string]string{"message": "Welcome to the LLM API!"})
}
