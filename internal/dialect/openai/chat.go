package openai

import (
	"net/http"

	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/openaihttp"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

func (h *Handler) chat(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	req, lr, err := openaihttp.DecodeChat(w, r, h.BodyLimit)
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

func (h *Handler) chatStream(w http.ResponseWriter, r *http.Request, call *gateway.Call, lr *llm.ChatRequest) error {
	s, err := h.GW.ChatStream(r.Context(), call, lr)
	if err != nil {
		return err
	}
	setServedHeaders(w, s.Served)
	return openaihttp.StreamChat(w, s, call.Model, h.Now(), lr.IncludeUsage)
}
