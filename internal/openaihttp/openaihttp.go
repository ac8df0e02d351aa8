// Package openaihttp is the HTTP side of OpenAI's shape that more than one
// API answers in: its error body, its rate-limit headers, chat request
// decoding and the chat.completion.chunk stream. The OpenAI dialect, Athena
// (whose REST chat is OpenAI's) and the batch feature use it, so that no
// dialect imports another and the shape is written once.
package openaihttp

import (
	"encoding/json"
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// ErrorBody renders e in OpenAI's error shape.
func ErrorBody(e *llmservice.Error) wire.ErrorBody { return wire.NewErrorBody(e) }

// WriteError writes e as {"error":{message,type,param,code}} with status.
func WriteError(w http.ResponseWriter, r *http.Request, status int, e *llmservice.Error) {
	_ = httpx.WriteJSON(w, status, ErrorBody(e))
}

// SetRateHeaders writes OpenAI's x-ratelimit-* headers for the tightest
// request and token limits.
func SetRateHeaders(w http.ResponseWriter, ri gateway.RateInfo) {
	httpx.SetCanonical(w.Header(), ri.Headers())
}

// DecodeChat reads and validates a chat completion request body.
func DecodeChat(w http.ResponseWriter, r *http.Request, limit int64) (*wire.ChatRequest, *llm.ChatRequest, error) {
	var req wire.ChatRequest
	if err := httpx.DecodeJSON(w, r, limit, &req); err != nil {
		return nil, nil, err
	}
	lr, err := req.ToLLM()
	if err != nil {
		return nil, nil, err
	}
	return &req, lr, nil
}

// StreamChat writes a started stream as OpenAI chat.completion.chunk events
// and settles it. withUsage adds the final usage chunk; the model field
// shows the public model name the caller asked for.
func StreamChat(w http.ResponseWriter, s *gateway.StreamResult, model string, created int64, withUsage bool) error {
	defer s.Close()
	id := gateway.NewID("chatcmpl-")
	httpx.StartSSE(w)
	failed, gone := httpx.RelayChunks(s, func(ch *llm.Chunk) error {
		if ch.Usage != nil && ch.Text == "" && ch.Role == "" && ch.FinishReason == "" && len(ch.ToolCalls) == 0 {
			return nil // usage-only chunk: sent once, at the end
		}
		if ch.ThinkingOnly() {
			return nil // Chat Completions has no thinking deltas
		}
		b, _ := json.Marshal(wire.ChunkFromLLM(ch, id, model, created, false))
		return httpx.SSEData(w, b)
	})
	if failed != nil {
		// The status line is gone: the error travels as an event in
		// OpenAI's error shape, which the SDKs raise as an exception.
		b, _ := json.Marshal(ErrorBody(llmservice.AsError(failed)))
		_ = httpx.SSEData(w, b)
		return nil
	}
	if gone != nil {
		return nil // client went away; Close settles the call
	}
	if withUsage {
		u := gateway.StreamUsage(s)
		b, _ := json.Marshal(wire.ChunkFromLLM(&llm.Chunk{Usage: &u}, id, model, created, true))
		_ = httpx.SSEData(w, b)
	}
	_ = httpx.SSEData(w, []byte("[DONE]"))
	return nil
}
