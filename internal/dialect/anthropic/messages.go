package anthropic

import (
	"net/http"
	"strings"

	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
)

// messages serves POST /v1/messages (with any query: Claude Code appends
// ?beta=true).
func (h *Handler) messages(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	body, err := httpx.ReadBody(w, r, h.BodyLimit)
	if err != nil {
		return err
	}
	req, lr, err := decode(body, false)
	if err != nil {
		return err
	}
	call := newCall(r, p, "messages", req.Model)
	if call.Cache, err = gateway.ParseCacheAsk(r.Header.Get); err != nil {
		return err
	}
	x := &gateway.Exchange{
		Raw: &llm.RawRequest{Protocol: llm.AnthropicMessages, Op: "messages", Body: body, Header: rawHeader(r),
			Stream: req.Stream, ReplyModel: req.Model},
		Chat:  lr,
		Cache: messagesCache{},
	}
	ans, err := h.GW.Exchange(r.Context(), call, x)
	if err != nil {
		return err
	}
	setServedHeaders(w, ans.Served)
	switch {
	case ans.Raw != nil:
		return writeRaw(w, ans.Raw)
	case ans.Result != nil:
		return httpx.WriteJSON(w, http.StatusOK, messageFromLLM(ans.Result, req.Model))
	default:
		return streamMessages(w, ans.Stream, req.Model)
	}
}

// writeRaw copies a pass-through answer to the client as it arrives,
// flushing after each read so that stream events are not held back.
func writeRaw(w http.ResponseWriter, a *gateway.RawAnswer) error {
	defer a.Body.Close()
	for k, v := range a.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.Status)
	// The status line is gone: a failure now travels as an error event
	// (the scanner hands out whole frames, so this one starts on a frame
	// boundary).
	if err := httpx.Relay(w, a.Body); err != nil && strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream") {
		_ = httpx.SSEEvent(w, "error", errorEvent(err))
	}
	return nil
}

// countTokens serves POST /v1/messages/count_tokens: the upstream's own
// count for Anthropic models, a local count for every other.
func (h *Handler) countTokens(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	body, err := httpx.ReadBody(w, r, h.BodyLimit)
	if err != nil {
		return err
	}
	req, lr, err := decode(body, true)
	if err != nil {
		return err
	}
	call := newCall(r, p, "count_tokens", req.Model)
	x := &gateway.Exchange{
		Raw:  &llm.RawRequest{Protocol: llm.AnthropicMessages, Op: "count_tokens", Body: body, Header: rawHeader(r), ReplyModel: req.Model},
		Chat: lr,
	}
	n, err := h.GW.CountTokens(r.Context(), call, x)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]int{"input_tokens": n})
}
