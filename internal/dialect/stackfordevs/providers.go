package stackfordevs

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/sfdhttp"
)

// ProviderRequest is the body of POST /v1/providers and /v1/providers/test.
type ProviderRequest struct {
	ProviderType string `json:"providerType"`
	APIKey       string `json:"apiKey"`
}

// Provider is a configured provider as clients see it: the key is masked.
type Provider struct {
	ProviderType string    `json:"providerType"`
	APIKey       string    `json:"apiKey"` // masked: "sk-...abcd"
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

func toProvider(c *llmservice.ProviderCredential) Provider {
	return Provider{ProviderType: c.ProviderType, APIKey: c.Hint, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// providerType checks a providerType value.
func providerType(param, v string) error {
	switch v {
	case llmservice.CredentialOpenAI, llmservice.CredentialAnthropic:
		return nil
	case "":
		return llmservice.InvalidParam(param, "providerType is required: 'openai' or 'anthropic'")
	}
	return llmservice.InvalidParam(param, "unsupported providerType '%s': use 'openai' or 'anthropic'", v)
}

// DecodeProviderRequest reads a provider body; the fuzz target drives it.
func DecodeProviderRequest(body []byte) (*ProviderRequest, error) {
	var req ProviderRequest
	if err := httpx.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	if err := providerType("providerType", req.ProviderType); err != nil {
		return nil, err
	}
	return &req, nil
}

func (h *Handler) decodeProvider(w http.ResponseWriter, r *http.Request) (*ProviderRequest, error) {
	var raw jsonBody
	if err := httpx.DecodeJSON(w, r, h.BodyLimit, &raw); err != nil {
		return nil, err
	}
	return DecodeProviderRequest(raw)
}

// jsonBody keeps a request body as it came, for a second, typed decode.
type jsonBody []byte

func (b *jsonBody) UnmarshalJSON(v []byte) error {
	*b = append((*b)[:0], v...)
	return nil
}

// saveProvider stores the tenant's key for a provider: 201 when it is the
// first, 200 when it replaces one. The answer shows the key masked.
func (h *Handler) saveProvider(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r)
	if err != nil {
		return err
	}
	req, err := h.decodeProvider(w, r)
	if err != nil {
		return err
	}
	cred, err := h.Credentials.Save(r.Context(), c.Tenant, req.ProviderType, req.APIKey)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !cred.CreatedAt.Equal(cred.UpdatedAt) {
		status = http.StatusOK
	}
	return httpx.WriteJSON(w, status, map[string]any{"success": true, "provider": toProvider(cred)})
}

func (h *Handler) listProviders(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r)
	if err != nil {
		return err
	}
	creds, err := h.Credentials.List(r.Context(), c.Tenant)
	if err != nil {
		return err
	}
	out := make([]Provider, len(creds))
	for i, cr := range creds {
		out[i] = toProvider(cr)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"providers": out})
}

func (h *Handler) getProvider(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r)
	if err != nil {
		return err
	}
	typ := r.PathValue("providerType")
	if err := providerType("providerType", typ); err != nil {
		return err
	}
	creds, err := h.Credentials.List(r.Context(), c.Tenant)
	if err != nil {
		return err
	}
	for _, cr := range creds {
		if cr.ProviderType == typ {
			return httpx.WriteJSON(w, http.StatusOK, map[string]any{"provider": toProvider(cr)})
		}
	}
	return notConfigured(typ)
}

func notConfigured(typ string) error {
	return &llmservice.Error{Kind: llmservice.NotFound, Code: "provider_not_configured",
		Message: "no " + typ + " provider is configured for this tenant; configure one with POST /v1/providers"}
}

// deleteProvider answers 204 No Content, as the seed's status table says
// for deletions.
func (h *Handler) deleteProvider(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r)
	if err != nil {
		return err
	}
	typ := r.PathValue("providerType")
	if err := providerType("providerType", typ); err != nil {
		return err
	}
	if err := h.Credentials.Delete(r.Context(), c.Tenant, typ); err != nil {
		if llmservice.ErrorKind(err) == llmservice.NotFound {
			return notConfigured(typ)
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// TestResult is the answer of POST /v1/providers/test. The test request
// itself succeeded when it answers 200; Success says whether the provider
// accepted the tenant's key, and Error carries the provider's own words
// when it did not.
type TestResult struct {
	Success      bool       `json:"success"`
	ProviderType string     `json:"providerType"`
	Model        string     `json:"model"`
	LatencyMS    int64      `json:"latencyMs"`
	Message      string     `json:"message"`
	Error        *TestError `json:"error,omitempty"`
}

// TestError is a provider's refusal.
type TestError struct {
	Status  int    `json:"status,omitempty"` // the provider's HTTP status
	Code    string `json:"code"`
	Message string `json:"message"`
}

// testProvider makes the smallest real call (one token) with the tenant's
// key. It goes to the provider directly, not through the gateway: it tests
// the credential, and it is neither metered nor rate limited as a call.
func (h *Handler) testProvider(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r)
	if err != nil {
		return err
	}
	req, err := h.decodeProvider(w, r)
	if err != nil {
		return err
	}
	pv, ok, err := h.Credentials.Provider(r.Context(), c.Tenant, req.ProviderType)
	if err != nil {
		return err
	}
	if !ok {
		return notConfigured(req.ProviderType)
	}
	model := h.TestModels[req.ProviderType]
	if model == "" {
		model = DefaultTestModels[req.ProviderType]
	}
	timeout := h.TestTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	one := 1
	start := h.now()
	_, err = pv.Chat(ctx, &llm.ChatRequest{Model: model, MaxTokens: &one,
		Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "ping")}})
	res := TestResult{ProviderType: req.ProviderType, Model: model, LatencyMS: h.now().Sub(start).Milliseconds()}
	if err == nil {
		res.Success, res.Message = true, "connection successful"
		return httpx.WriteJSON(w, http.StatusOK, res)
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return err // the client left; nobody reads an answer
	}
	e := llmservice.AsError(err)
	if e.Kind == llmservice.Internal {
		return err
	}
	res.Message = "the provider refused the test request"
	res.Error = &TestError{Status: e.Status, Code: sfdhttp.Code(e), Message: e.Message}
	return httpx.WriteJSON(w, http.StatusOK, res)
}
