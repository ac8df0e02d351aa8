package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// fakes starts one fake upstream per provider family and returns the
// environment that points the gateway at them.
func fakes(t *testing.T) (map[string]string, map[string]*providertest.Fake) {
	oa := providertest.NewOpenAI(t)
	an := providertest.NewAnthropic(t)
	ge := providertest.NewGemini(t)
	ol := providertest.NewOllama(t)
	env := map[string]string{
		"OPENAI_API_KEY": "sk-upstream-openai", "OPENAI_BASE_URL": oa.URL + "/v1",
		"ANTHROPIC_API_KEY": "sk-upstream-anthropic", "ANTHROPIC_BASE_URL": an.URL,
		"GEMINI_API_KEY": "upstream-gemini", "GEMINI_BASE_URL": ge.URL,
		"OLLAMA_BASE_URL": ol.URL,
	}
	return env, map[string]*providertest.Fake{"openai": oa, "anthropic": an, "gemini": ge, "ollama": ol}
}

func client(base, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
}

// families is a model per provider family, as a caller would name it.
var families = []struct{ name, model string }{
	{"openai", "gpt-4o-mini"},
	{"anthropic", "claude-3-5-haiku-latest"},
	{"gemini", "gemini-2.0-flash"},
	{"ollama", "ollama/llama3.1"},
	{"mock", "mock/echo"},
}

func TestOpenAIClientAgainstEveryFamily(t *testing.T) {
	env, fk := fakes(t)
	srv := startServer(t, env)
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	c := client(srv.URL, key)
	ctx := context.Background()

	for _, f := range families {
		t.Run(f.name+"/chat", func(t *testing.T) {
			resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model:    f.model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hello gateway")},
			})
			if err != nil {
				t.Fatal(err)
			}
			got := resp.Choices[0].Message.Content
			if !strings.HasSuffix(got, "hello gateway") {
				t.Errorf("content = %q; want it to end with the user text", got)
			}
			if resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens == 0 {
				t.Errorf("usage = %+v; want tokens counted", resp.Usage)
			}
			if resp.Model != f.model {
				t.Errorf("model = %q; want %q", resp.Model, f.model)
			}
			if fk[f.name] != nil {
				r := fk[f.name].Last(t)
				if bytes.Contains(r.Body, []byte(key)) {
					t.Error("the gateway key leaked upstream")
				}
			}
		})
		t.Run(f.name+"/stream", func(t *testing.T) {
			s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
				Model:         f.model,
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream me please")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			})
			acc := openai.ChatCompletionAccumulator{}
			chunks := 0
			for s.Next() {
				acc.AddChunk(s.Current())
				chunks++
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if got := acc.Choices[0].Message.Content; !strings.HasSuffix(got, "stream me please") {
				t.Errorf("streamed content = %q", got)
			}
			if chunks < 3 {
				t.Errorf("got %d chunks; want the answer streamed in pieces", chunks)
			}
			if acc.Usage.TotalTokens == 0 {
				t.Errorf("no usage in the stream")
			}
		})
		t.Run(f.name+"/tools", func(t *testing.T) {
			params := openai.ChatCompletionNewParams{
				Model:    f.model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather in Paris")},
				Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
					Name:        "get_weather",
					Description: openai.String("Weather for a city"),
					Parameters:  shared.FunctionParameters{"type": "object", "properties": map[string]any{"query": map[string]any{"type": "string"}}},
				})},
			}
			resp, err := c.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			msg := resp.Choices[0].Message
			if len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "get_weather" {
				t.Fatalf("tool calls = %+v; want one call of get_weather", msg.ToolCalls)
			}
			if resp.Choices[0].FinishReason != "tool_calls" {
				t.Errorf("finish_reason = %q; want tool_calls", resp.Choices[0].FinishReason)
			}
			var args map[string]string
			if err := json.Unmarshal([]byte(msg.ToolCalls[0].Function.Arguments), &args); err != nil {
				t.Fatalf("arguments are not JSON: %v", err)
			}
			params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage("sunny, 21C", msg.ToolCalls[0].ID))
			resp, err = c.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Choices[0].Message.Content; !strings.Contains(got, "sunny, 21C") {
				t.Errorf("answer after the tool result = %q", got)
			}
		})
	}

	t.Run("embeddings", func(t *testing.T) {
		for _, model := range []string{"text-embedding-3-small", "ollama/nomic-embed-text", "gemini/text-embedding-004", "mock/embed"} {
			resp, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{
				Model: model,
				Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"one two", "three"}},
			})
			if err != nil {
				t.Fatalf("%s: %v", model, err)
			}
			if len(resp.Data) != 2 || len(resp.Data[0].Embedding) == 0 {
				t.Fatalf("%s: got %d vectors", model, len(resp.Data))
			}
		}
	})

	t.Run("models", func(t *testing.T) {
		do(t, "POST", srv.URL+"/admin/models", testAdminKey, map[string]any{"name": "house-model", "provider": "ollama", "upstream_model": "llama3.1"}, nil)
		page, err := c.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		if !contains(ids, "house-model") || !contains(ids, "mock/echo") {
			t.Errorf("models = %v; want house-model and mock/echo", ids)
		}
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "house-model", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("via catalog")}})
		if err != nil {
			t.Fatal(err)
		}
		if got := fk["ollama"].Last(t).JSON(t)["model"]; got != "llama3.1" {
			t.Errorf("upstream model = %v; want the catalog's llama3.1", got)
		}
		_ = resp
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestKeysThatMustFail(t *testing.T) {
	advance := fakeClock(t)
	srv := startServer(t, nil)
	ctx := context.Background()
	id, key, _ := newKey(t, srv.URL, "acme", nil)
	_, shortLived, _ := newKey(t, srv.URL, "acme", map[string]any{"expires_at": time.Now().Add(1500 * time.Millisecond).Format(time.RFC3339Nano)})
	chat := func(k string) error {
		c := client(srv.URL, k)
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "mock/echo", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		return err
	}
	if err := chat(key); err != nil {
		t.Fatalf("valid key: %v", err)
	}
	if err := chat(shortLived); err != nil {
		t.Fatalf("key before expiry: %v", err)
	}
	if st := do(t, "DELETE", srv.URL+"/admin/keys/"+id, testAdminKey, nil, nil); st != 200 {
		t.Fatalf("revoke: status %d", st)
	}
	advance(1600 * time.Millisecond) // past the short-lived key's expiry
	for name, k := range map[string]string{"revoked": key, "expired": shortLived, "unknown": "sk-not-a-real-key", "empty": ""} {
		err := chat(k)
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s key: err = %v; want 401", name, err)
		}
	}
}

func TestSecretsNeverStoredInPlaintext(t *testing.T) {
	srv := startServer(t, nil)
	_, key, secret := newKey(t, srv.URL, "acme", nil)
	c := client(srv.URL, key)
	if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "mock/echo", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}); err != nil {
		t.Fatal(err)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"key": key, "secret": secret, "admin key": testAdminKey} {
		if where := dbContains(t, srv.db, s); where != "" {
			t.Errorf("%s found in plaintext in %s", name, where)
		}
	}
}

func TestUsageSurvivesShutdown(t *testing.T) {
	env, _ := fakes(t)
	env["LLMSERVICE_DATABASE_URL"] = testDatabaseURL(t, "usage.db")
	srv := startServer(t, env)
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	c := client(srv.URL, key)
	const n = 40
	for i := 0; i < n; i++ {
		if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("count me in")}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.stop(); err != nil { // the SIGTERM path: serve's context ends
		t.Fatal(err)
	}
	srv2 := startServer(t, env)
	var out struct {
		Data []struct {
			Requests         int64   `json:"requests"`
			PromptTokens     int64   `json:"prompt_tokens"`
			CompletionTokens int64   `json:"completion_tokens"`
			CostUSD          float64 `json:"cost_usd"`
		}
	}
	do(t, "GET", srv2.URL+"/admin/usage?team_id=acme", testAdminKey, nil, &out)
	if len(out.Data) != 1 {
		t.Fatalf("usage rows = %+v", out.Data)
	}
	got := out.Data[0]
	if got.Requests != n {
		t.Errorf("requests = %d; want %d", got.Requests, n)
	}
	// The fake counts 3 prompt words and answers "echo: count me in" (4 words).
	if got.PromptTokens != 3*n || got.CompletionTokens != 4*n {
		t.Errorf("tokens = %d/%d; want %d/%d", got.PromptTokens, got.CompletionTokens, 3*n, 4*n)
	}
	if got.CostUSD <= 0 {
		t.Errorf("cost = %v; want gpt-4o-mini's price applied", got.CostUSD)
	}
}
