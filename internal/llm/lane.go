package llm

import (
	"context"
	"io"
)

// Protocol names a wire protocol that an ingress dialect and a provider
// adapter can both speak. When the client's protocol is the upstream's, the
// call takes the pass-through lane: the body travels as the client sent it,
// with only the model field edited, and the answer comes back byte for byte
// apart from its model field. Otherwise it takes the translation lane
// through ChatRequest and Chunk. The lane is chosen per attempt, so a
// fallback to another family simply translates.
type Protocol string

// Protocols that have a pass-through lane.
const (
	OpenAIChat        Protocol = "openai-chat"
	AnthropicMessages Protocol = "anthropic-messages"
	OpenAIResponses   Protocol = "openai-responses"
	GeminiGenerate    Protocol = "gemini-generate"
)

// RawRequest is a client's request in its own protocol.
type RawRequest struct {
	Protocol Protocol
	// Op names the operation within the protocol when it has several
	// (Anthropic: "messages" or "count_tokens"; Gemini: "generateContent",
	// "streamGenerateContent", "countTokens"; Responses: "responses",
	// "input_tokens").
	Op string
	// Body is the request body as the client sent it. The adapter sets the
	// top-level model field to the upstream model without re-encoding the
	// rest (Gemini carries the model in the path instead).
	Body []byte
	// Header holds the protocol headers the client sent that must reach
	// the upstream unchanged (anthropic-version, anthropic-beta, ...);
	// credentials are never among them.
	Header map[string][]string
	Stream bool
	// ReplyModel is the model name the answer must carry: the one the
	// client asked for, which is not the upstream's id.
	ReplyModel string
	// MaxTokens, when set, is the answer length the gateway allows, lower
	// than the client's (a budget's cap): the adapter writes it over the
	// client's, as the translation lane sends it. Only the Chat
	// Completions forwarder applies it so far.
	MaxTokens *int
}

// RawResponse is an upstream's answer in the request's protocol, already
// rewritten to carry ReplyModel. Body is read as it arrives (SSE frames for
// a stream) and must be closed.
type RawResponse struct {
	Status int
	Header map[string][]string
	Body   RawBody
}

// RawBody is an answer body that reports what it has seen pass: usage, as
// the provider counted it, once the frames carrying it have been read.
type RawBody interface {
	io.ReadCloser
	// Usage returns the usage read so far and whether the upstream has
	// reported any.
	Usage() (Usage, bool)
	// Text returns the generated text seen so far, for a local token count
	// when the upstream reports no usage (an aborted stream).
	Text() string
}

// FinishReporter is a RawBody that reads the answer's finish reasons as
// they pass, for the observer's metrics and spans (the translation lane
// reports them from its decoded choices).
type FinishReporter interface {
	// FinishReasons returns the reasons seen so far, one per choice.
	FinishReasons() []string
}

// WaitNotifier is a RawBody that knows when a Read is about to wait on the
// upstream (its buffer is empty). BeforeWait(f) has f called then, on the
// reading goroutine, and reports whether it will be; a relay then flushes
// what it has written to the client in f, so that the events of one
// upstream write reach the client in one write, and none is held while the
// gateway waits (what httputil.ReverseProxy does by flushing after each
// read of the upstream).
type WaitNotifier interface {
	BeforeWait(f func()) bool
}

// Forwarder is implemented by adapters that can send a request of their own
// protocol upstream unchanged.
type Forwarder interface {
	// Forwards reports whether the adapter takes p verbatim.
	Forwards(p Protocol) bool
	// Forward sends req to the upstream model. A non-2xx upstream answer is
	// returned as an error, classified as for Chat, so that the gateway may
	// retry or fall back; the lane is then chosen again for the next
	// deployment.
	Forward(ctx context.Context, req *RawRequest, model string) (*RawResponse, error)
}
