package gemini

import (
	"fmt"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	geminiwire "github.com/llmservice/llmservice/internal/wire/gemini"
)

// embedToWire builds a batchEmbedContents body: one request per input, each
// naming the same model as the URL, as the API requires.
//
// EncodingFormat is the dialect's concern (it encodes the floats), and User
// has no Gemini counterpart, so both are left out.
func embedToWire(req *llm.EmbedRequest) (*geminiwire.BatchEmbedContentsRequest, error) {
	if len(req.Input) == 0 {
		return nil, llmservice.InvalidParam("input", "at least one input is required")
	}
	if req.Dimensions != nil && *req.Dimensions <= 0 {
		return nil, llmservice.InvalidParam("dimensions", "dimensions must be positive")
	}
	name := resourceName(req.Model)
	w := &geminiwire.BatchEmbedContentsRequest{Requests: make([]geminiwire.EmbedContentRequest, len(req.Input))}
	for i, text := range req.Input {
		// Gemini rejects an empty text part.
		if text == "" {
			return nil, llmservice.InvalidParam(fmt.Sprintf("input[%d]", i), "input must not be empty")
		}
		w.Requests[i] = geminiwire.EmbedContentRequest{
			Model:                name,
			Content:              geminiwire.Content{Parts: []geminiwire.Part{{Text: text}}},
			OutputDimensionality: req.Dimensions,
		}
	}
	return w, nil
}

// embedFromWire checks that upstream answered every input.
func embedFromWire(req *llm.EmbedRequest, w *geminiwire.BatchEmbedContentsResponse) (*llm.EmbedResponse, error) {
	if len(w.Embeddings) != len(req.Input) {
		return nil, &llmservice.Error{Kind: llmservice.Upstream, Message: fmt.Sprintf("upstream returned %d embeddings for %d inputs", len(w.Embeddings), len(req.Input))}
	}
	out := &llm.EmbedResponse{Model: req.Model, Vectors: make([][]float32, len(w.Embeddings))}
	for i, e := range w.Embeddings {
		out.Vectors[i] = e.Values
	}
	return out, nil
}
