package ollama

import "encoding/json"

// EmbedRequest is the body of POST /api/embed. Input may be one string or a
// list; the gateway always sends a list.
// https://docs.ollama.com/api/embed
type EmbedRequest struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
	// Truncate cuts inputs longer than the context window (default true);
	// false makes such inputs an error.
	Truncate *bool `json:"truncate,omitempty"`
	// Dimensions shortens each vector, for models trained to allow it.
	Dimensions *int            `json:"dimensions,omitempty"`
	KeepAlive  json.RawMessage `json:"keep_alive,omitempty"`
	Options    *Options        `json:"options,omitempty"`
}

// EmbedResponse holds one vector per input, in order.
// https://docs.ollama.com/api/embed
type EmbedResponse struct {
	Model           string      `json:"model"`
	Embeddings      [][]float32 `json:"embeddings"`
	TotalDuration   int64       `json:"total_duration,omitempty"`
	LoadDuration    int64       `json:"load_duration,omitempty"`
	PromptEvalCount int         `json:"prompt_eval_count,omitempty"` // input tokens
}

// TagsResponse is the answer of GET /api/tags: the models pulled locally.
// https://docs.ollama.com/api/tags
type TagsResponse struct {
	Models []ModelInfo `json:"models"`
}

// ModelInfo describes one local model.
type ModelInfo struct {
	Name       string       `json:"name"`
	Model      string       `json:"model"`
	ModifiedAt string       `json:"modified_at"`
	Size       int64        `json:"size"`
	Digest     string       `json:"digest"`
	Details    ModelDetails `json:"details"`
}

// ModelDetails are a model's format and size facts.
type ModelDetails struct {
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

// ErrorResponse is the body of every failed request, and a stream line when
// a stream fails after it started: {"error": "..."}.
// https://docs.ollama.com/api/errors
type ErrorResponse struct {
	Error string `json:"error"`
}
