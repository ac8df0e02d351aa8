package batches

import (
	"bytes"
	"encoding/json"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// Endpoints a batch may target, and the usage ledger's endpoint name for
// their items. The names are distinct from the synchronous API's so that
// the ledger's once-per-task index (internal/sqlite, usage_job_once)
// applies to queue work only.
var endpoints = map[string]string{
	"/v1/chat/completions": "batch.chat",
	"/v1/completions":      "batch.completions",
	"/v1/embeddings":       "batch.embeddings",
}

// maxEmbedInputs is OpenAI's limit of inputs per embeddings request.
const maxEmbedInputs = 2048

// request is a batch item's body, decoded for its endpoint.
type request struct {
	Model string
	Chat  *llm.ChatRequest  // chat and completions
	Embed *llm.EmbedRequest // embeddings
}

// decodeRequest reads and validates a request body for url with the same
// rules as the synchronous endpoints. Errors are Invalid and name the field.
func decodeRequest(url string, body []byte) (*request, error) {
	switch url {
	case "/v1/chat/completions":
		var req wire.ChatRequest
		if err := httpx.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		if req.Stream {
			return nil, llmservice.InvalidParam("stream", "stream is not supported in batches")
		}
		lr, err := req.ToLLM()
		if err != nil {
			return nil, err
		}
		return &request{Model: req.Model, Chat: lr}, nil
	case "/v1/completions":
		var req wire.CompletionRequest
		if err := httpx.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		lr, err := completionToLLM(&req)
		if err != nil {
			return nil, err
		}
		return &request{Model: req.Model, Chat: lr}, nil
	case "/v1/embeddings":
		var req wire.EmbeddingRequest
		if err := httpx.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		er, err := embedToLLM(&req)
		if err != nil {
			return nil, err
		}
		return &request{Model: req.Model, Embed: er}, nil
	}
	return nil, llmservice.InvalidParam("url", "url must be one of /v1/chat/completions, /v1/completions, /v1/embeddings")
}

// completionToLLM mirrors the OpenAI dialect's legacy completions: a prompt
// becomes one user message ("messages" is accepted too).
func completionToLLM(req *wire.CompletionRequest) (*llm.ChatRequest, error) {
	if req.Model == "" {
		return nil, llmservice.InvalidParam("model", "model is required")
	}
	switch {
	case req.Stream:
		return nil, llmservice.InvalidParam("stream", "stream is not supported in batches")
	case req.Echo != nil && *req.Echo:
		return nil, llmservice.InvalidParam("echo", "echo is not supported")
	case req.Suffix != nil && *req.Suffix != "":
		return nil, llmservice.InvalidParam("suffix", "suffix is not supported")
	case req.BestOf != nil && *req.BestOf > 1:
		return nil, llmservice.InvalidParam("best_of", "best_of is not supported")
	case req.Logprobs != nil:
		return nil, llmservice.InvalidParam("logprobs", "logprobs is not supported on /v1/completions")
	}
	cr := wire.ChatRequest{Model: req.Model, Messages: req.Messages, MaxTokens: req.MaxTokens, Temperature: req.Temperature, TopP: req.TopP,
		FrequencyPenalty: req.FrequencyPenalty, PresencePenalty: req.PresencePenalty, Stop: req.Stop, Seed: req.Seed, N: req.N, User: req.User}
	if len(req.Messages) == 0 {
		prompt, err := wire.PromptText(req.Prompt)
		if err != nil {
			return nil, err
		}
		cr.Messages = []wire.Message{{Role: llm.RoleUser, Content: wire.Content{Text: &prompt}}}
	} else if len(req.Prompt) > 0 {
		return nil, llmservice.InvalidParam("prompt", "send either prompt or messages, not both")
	}
	return cr.ToLLM()
}

// embedToLLM mirrors the OpenAI dialect's embeddings validation.
func embedToLLM(req *wire.EmbeddingRequest) (*llm.EmbedRequest, error) {
	if req.Model == "" {
		return nil, llmservice.InvalidParam("model", "model is required")
	}
	switch req.EncodingFormat {
	case "", "float", "base64":
	default:
		return nil, llmservice.InvalidParam("encoding_format", "encoding_format must be float or base64")
	}
	if req.Dimensions != nil && *req.Dimensions < 1 {
		return nil, llmservice.InvalidParam("dimensions", "dimensions must be at least 1")
	}
	in := bytes.TrimSpace(req.Input)
	var inputs []string
	switch {
	case len(in) == 0 || bytes.Equal(in, []byte("null")):
		return nil, llmservice.InvalidParam("input", "input is required")
	case in[0] == '"':
		var s string
		if err := json.Unmarshal(in, &s); err != nil {
			return nil, llmservice.InvalidParam("input", "input must be a string or an array of strings")
		}
		inputs = []string{s}
	default:
		if err := json.Unmarshal(in, &inputs); err != nil {
			return nil, llmservice.InvalidParam("input", "input must be a string or an array of strings; token arrays are not supported")
		}
	}
	if len(inputs) == 0 || len(inputs) > maxEmbedInputs {
		return nil, llmservice.InvalidParam("input", "input must hold between 1 and %d strings", maxEmbedInputs)
	}
	for i, s := range inputs {
		if s == "" {
			return nil, llmservice.InvalidParam("input", "input[%d] is empty", i)
		}
	}
	return &llm.EmbedRequest{Model: req.Model, Input: inputs, Dimensions: req.Dimensions, User: req.User}, nil
}
