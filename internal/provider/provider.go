// Package provider builds provider adapters from configuration: one explicit
// switch over the wire protocols, the only place that knows them all.
package provider

import (
	"fmt"
	"net/http"

	"github.com/llmservice/llmservice/internal/config"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/anthropic"
	"github.com/llmservice/llmservice/internal/provider/gemini"
	"github.com/llmservice/llmservice/internal/provider/mock"
	"github.com/llmservice/llmservice/internal/provider/ollama"
	"github.com/llmservice/llmservice/internal/provider/openai"
)

// New builds the adapters of one provider instance, one per host: a
// provider with several hosts (an in-house pool) has several deployments,
// and the router spreads calls over them.
func New(p config.Provider, hc *http.Client) ([]llm.Provider, error) {
	hosts := p.Hosts
	if len(hosts) == 0 {
		hosts = []string{p.BaseURL}
	}
	members := make([]llm.Provider, 0, len(hosts))
	for _, h := range hosts {
		m, err := newOne(p, h, hc)
		if err != nil {
			return nil, err
		}
		members = append(members, m)
	}
	return members, nil
}

func newOne(p config.Provider, baseURL string, hc *http.Client) (llm.Provider, error) {
	switch p.Type {
	case config.TypeOpenAI, config.TypeOpenAICompatible:
		return openai.New(openai.Config{BaseURL: baseURL, APIKey: p.APIKey, Headers: p.Headers, Responses: p.Type == config.TypeOpenAI}, hc), nil
	case config.TypeAnthropic:
		return anthropic.New(anthropic.Config{BaseURL: baseURL, APIKey: p.APIKey, Version: p.APIVersion}, hc), nil
	case config.TypeGemini:
		return gemini.New(gemini.Config{BaseURL: baseURL, APIKey: p.APIKey}, hc), nil
	case config.TypeOllama:
		return ollama.New(ollama.Config{BaseURL: baseURL, APIKey: p.APIKey}, hc), nil
	case config.TypeMock:
		return mock.Client{}, nil
	}
	return nil, fmt.Errorf("provider %s: unknown type %q", p.Name, p.Type)
}
