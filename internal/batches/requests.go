package batches

import (
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
		er, err := req.ToLLM()
		if err != nil {
			return nil, err
		}
		return &request{Model: req.Model, Embed: er}, nil
	}
	return nil, llmservice.InvalidParam("url", "url must be one of /v1/chat/completions, /v1/completions, /v1/embeddings")
}

// completionToLLM is the OpenAI dialect's legacy completions, without streams.
func completionToLLM(req *wire.CompletionRequest) (*llm.ChatRequest, error) {
	if req.Stream {
		return nil, llmservice.InvalidParam("stream", "stream is not supported in batches")
	}
	return req.ToLLM()
}
