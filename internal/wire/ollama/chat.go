// Package ollama holds the JSON shapes of Ollama's native HTTP API
// (https://docs.ollama.com/api), as the server in
// https://github.com/ollama/ollama/blob/main/api/types.go reads and writes
// them. Only the fields the gateway uses are declared; Go's decoder skips the
// rest, and so does Ollama's, so an absent field is never an error.
package ollama

import "encoding/json"

// ChatRequest is the body of POST /api/chat.
// https://docs.ollama.com/api/chat
type ChatRequest struct {
	Model    string    `json:"model"`
	Messages []Message `json:"messages"`
	Tools    []Tool    `json:"tools,omitempty"`
	// Format is the string "json" (JSON mode) or a JSON Schema object
	// (structured outputs). https://docs.ollama.com/capabilities/structured-outputs
	Format  json.RawMessage `json:"format,omitempty"`
	Options *Options        `json:"options,omitempty"`
	// Stream defaults to TRUE on the server when absent, so a client that
	// wants one JSON answer must send false explicitly.
	Stream *bool `json:"stream,omitempty"`
	// KeepAlive is how long the model stays loaded: "5m", "0", or a number
	// of seconds.
	KeepAlive json.RawMessage `json:"keep_alive,omitempty"`
	// Think turns a thinking model's reasoning on (true) or sets its level
	// ("low", "medium", "high").
	Think json.RawMessage `json:"think,omitempty"`
}

// Message is one turn of a chat, in a request or an answer. Content is plain
// text: Ollama has no content parts, so images travel beside it.
// https://docs.ollama.com/api/chat
type Message struct {
	Role    string `json:"role"` // system, user, assistant, tool
	Content string `json:"content"`
	// Thinking is a thinking model's reasoning, separate from Content.
	Thinking string `json:"thinking,omitempty"`
	// Images are base64-encoded image files, without a data: URL prefix.
	Images    []string   `json:"images,omitempty"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolName, on a tool message, names the function whose result this is;
	// it is how Ollama's chat templates label a result.
	ToolName string `json:"tool_name,omitempty"`
	// ToolCallID, on a tool message, names the call it answers. Newer
	// servers read it; older ones ignore it.
	ToolCallID string `json:"tool_call_id,omitempty"`
}

// ToolCall is a function call made by the model.
type ToolCall struct {
	// ID is sent by newer servers only; older ones leave calls unnamed.
	ID       string           `json:"id,omitempty"`
	Function ToolCallFunction `json:"function"`
}

// ToolCallFunction is the called function. Arguments is a JSON OBJECT, not
// the JSON-encoded string that OpenAI uses: a string here fails the server's
// decoding with a 400.
type ToolCallFunction struct {
	Index     int             `json:"index,omitempty"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// Tool declares a function the model may call; the shape is OpenAI's.
type Tool struct {
	Type     string       `json:"type"` // always "function"
	Function ToolFunction `json:"function"`
}

// ToolFunction is a declared function; Parameters is a JSON Schema object.
type ToolFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// Options are the runtime model parameters, named as in a Modelfile.
// https://docs.ollama.com/modelfile#valid-parameters-and-values
type Options struct {
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`
	NumPredict       *int     `json:"num_predict,omitempty"` // max tokens to generate
	NumCtx           *int     `json:"num_ctx,omitempty"`     // context window size
	Stop             []string `json:"stop,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
}

// ChatResponse is the answer of /api/chat: the whole answer when stream is
// false, or one NDJSON line of a stream. Streamed lines carry a piece of
// Message.Content each; the last one has Done set, DoneReason and the token
// counts. A line with only Error set reports a failure after the stream
// started, with the HTTP status already sent as 200.
// https://docs.ollama.com/api/chat, https://docs.ollama.com/api/errors
type ChatResponse struct {
	Model     string  `json:"model"`
	CreatedAt string  `json:"created_at"` // RFC 3339
	Message   Message `json:"message"`
	Done      bool    `json:"done"`
	// DoneReason is "stop", "length", or "load"/"unload" for requests that
	// only load or unload the model.
	DoneReason string `json:"done_reason,omitempty"`
	Metrics
	Error string `json:"error,omitempty"`
}

// Metrics are the timings and token counts of the final answer. Durations
// are in nanoseconds. The server omits a zero count.
type Metrics struct {
	TotalDuration      int64 `json:"total_duration,omitempty"`
	LoadDuration       int64 `json:"load_duration,omitempty"`
	PromptEvalCount    int   `json:"prompt_eval_count,omitempty"` // prompt tokens
	PromptEvalDuration int64 `json:"prompt_eval_duration,omitempty"`
	EvalCount          int   `json:"eval_count,omitempty"` // generated tokens
	EvalDuration       int64 `json:"eval_duration,omitempty"`
}

// Done reasons.
const (
	DoneStop   = "stop"
	DoneLength = "length"
	DoneLoad   = "load"
)
