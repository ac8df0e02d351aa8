package openai_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/openai"
	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// TestForwardResponses: a Responses request reaches /v1/responses with
// only its model replaced; the answer, JSON or stream, names the reply
// model, and its usage (cached and reasoning tokens included) is read as
// it passes. Only a client built for OpenAI forwards the protocol.
func TestForwardResponses(t *testing.T) {
	fake := providertest.NewOpenAIAgent(t)
	c := openai.New(openai.Config{BaseURL: fake.URL + "/v1", APIKey: "sk-up", Responses: true}, http.DefaultClient)
	if !c.Forwards(llm.OpenAIResponses) || c.Forwards(llm.AnthropicMessages) {
		t.Fatal("Forwards")
	}
	if openai.New(openai.Config{BaseURL: fake.URL + "/v1"}, http.DefaultClient).Forwards(llm.OpenAIResponses) {
		t.Fatal("an OpenAI-compatible client forwards Responses")
	}
	for _, stream := range []bool{false, true} {
		body := `{"model":"alias","input":"say hi","reasoning":{"effort":"low"},"stream":false}`
		if stream {
			body = `{"model":"alias","input":"say hi","reasoning":{"effort":"low"},"stream":true}`
		}
		resp, err := c.Forward(context.Background(), &llm.RawRequest{Protocol: llm.OpenAIResponses, Op: openai.OpResponses,
			Body: []byte(body), Stream: stream, ReplyModel: "alias"}, "gpt-upstream")
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		sent := fake.Last(t).Body
		if want := bytes.Replace([]byte(body), []byte(`"alias"`), []byte(`"gpt-upstream"`), 1); !bytes.Equal(sent, want) {
			t.Errorf("upstream got %s; want %s", sent, want)
		}
		if bytes.Contains(out, []byte("gpt-upstream")) || !bytes.Contains(out, []byte(`"model":"alias"`)) {
			t.Errorf("stream=%v: answer names the upstream model: %.300s", stream, out)
		}
		u, ok := resp.Body.Usage()
		if !ok || u.PromptTokens == 0 || u.CompletionTokens == 0 || u.ReasoningTokens != 2 {
			t.Errorf("stream=%v: usage %+v %v", stream, u, ok)
		}
		if stream && resp.Body.Text() == "" {
			t.Error("no text seen")
		}
	}
	resp, err := c.Forward(context.Background(), &llm.RawRequest{Protocol: llm.OpenAIResponses, Op: openai.OpInputTokens,
		Body: []byte(`{"model":"alias","input":"count these words"}`)}, "gpt-upstream")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	if u, ok := resp.Body.Usage(); !ok || u.PromptTokens != 3 || fake.Last(t).Path != "/v1/responses/input_tokens" {
		t.Errorf("input_tokens: %+v %v", u, ok)
	}
}
