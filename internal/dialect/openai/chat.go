package openai

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

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

func (h *Handler) chat(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	req, lr, err := DecodeChat(w, r, h.BodyLimit)
	if err != nil {
		return err
	}
	call, err := cacheableCall(r, p, "chat", req.Model)
	if err != nil {
		return err
	}
	if lr.Stream {
		return h.chatStream(w, r, call, lr)
	}
	res, err := h.GW.Chat(r.Context(), call, lr)
	if err != nil {
		return err
	}
	setServedHeaders(w, res.Served)
	resp := *res.Response
	resp.Usage = res.Usage
	return httpx.WriteJSON(w, http.StatusOK, wire.CompletionFromLLM(&resp, gateway.NewID("chatcmpl-"), req.Model))
}

// StreamChat writes a started stream as OpenAI chat.completion.chunk events
// and settles it. withUsage adds the final usage chunk; the model field
// shows the public model name the caller asked for.
func StreamChat(w http.ResponseWriter, s *gateway.StreamResult, model string, created int64, withUsage bool) error {
	defer s.Close()
	id := gateway.NewID("chatcmpl-")
	httpx.StartSSE(w)
	for {
		ch, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The status line is gone: the error travels as an event in
			// OpenAI's error shape, which the SDKs raise as an exception.
			b, _ := json.Marshal(ErrorBody(llmservice.AsError(err)))
			_ = httpx.SSEData(w, b)
			return nil
		}
		if ch.Usage != nil && ch.Text == "" && ch.Role == "" && ch.FinishReason == "" && len(ch.ToolCalls) == 0 {
			continue // usage-only chunk: sent once, at the end
		}
		if ch.ThinkingOnly() {
			continue // Chat Completions has no thinking deltas
		}
		b, _ := json.Marshal(wire.ChunkFromLLM(&ch, id, model, created, false))
		if err := httpx.SSEData(w, b); err != nil {
			return nil // client went away; Close settles the call
		}
	}
	if withUsage {
		u := gateway.StreamUsage(s)
		b, _ := json.Marshal(wire.ChunkFromLLM(&llm.Chunk{Usage: &u}, id, model, created, true))
		_ = httpx.SSEData(w, b)
	}
	_ = httpx.SSEData(w, []byte("[DONE]"))
	return nil
}

func (h *Handler) chatStream(w http.ResponseWriter, r *http.Request, call *gateway.Call, lr *llm.ChatRequest) error {
	s, err := h.GW.ChatStream(r.Context(), call, lr)
	if err != nil {
		return err
	}
	setServedHeaders(w, s.Served)
	return StreamChat(w, s, call.Model, h.Now(), lr.IncludeUsage)
}
