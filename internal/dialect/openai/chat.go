package openai

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/openaihttp"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// exchanger is the gateway ability the pass-through lane needs; it is
// optional so that test fakes of Gateway need not have it.
type exchanger interface {
	Exchange(ctx context.Context, c *gateway.Call, x *gateway.Exchange) (*gateway.Answer, error)
}

func (h *Handler) chat(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	if ex, ok := h.GW.(exchanger); ok {
		return h.exchange(w, r, p, ex)
	}
	req, lr, err := openaihttp.DecodeChat(w, r, h.BodyLimit)
	if err != nil {
		return err
	}
	return h.translate(w, r, p, req.Model, lr)
}

// translate serves a decoded chat completion in the translation lane.
func (h *Handler) translate(w http.ResponseWriter, r *http.Request, p *gateway.Principal, model string, lr *llm.ChatRequest) error {
	call, err := cacheableCall(r, p, "chat", model)
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
	return httpx.WriteJSON(w, http.StatusOK, wire.CompletionFromLLM(&resp, gateway.NewID("chatcmpl-"), model))
}

func (h *Handler) chatStream(w http.ResponseWriter, r *http.Request, call *gateway.Call, lr *llm.ChatRequest) error {
	s, err := h.GW.ChatStream(r.Context(), call, lr)
	if err != nil {
		return err
	}
	setServedHeaders(w, s.Served)
	return openaihttp.StreamChat(w, s, call.Model, h.Now(), lr.IncludeUsage)
}

// exchange serves a chat completion in the lane each attempt allows. The
// body is read once by scanChat, which takes what admission and the
// pass-through lane need without decoding it; a body scanChat declines is
// decoded and translated as before, and so is one whose deployments all
// translate (the gateway asks for Decode then).
func (h *Handler) exchange(w http.ResponseWriter, r *http.Request, p *gateway.Principal, ex exchanger) error {
	body, err := httpx.ReadBody(w, r, h.BodyLimit)
	if err != nil {
		return err
	}
	decode := func() (*wire.ChatRequest, *llm.ChatRequest, error) {
		var req wire.ChatRequest
		if err := httpx.Unmarshal(body, &req); err != nil {
			return nil, nil, err
		}
		lr, err := req.ToLLM()
		return &req, lr, err
	}
	f, ok := scanChat(body)
	if !ok {
		req, lr, err := decode()
		if err != nil {
			return err
		}
		return h.translate(w, r, p, req.Model, lr)
	}
	call, err := cacheableCall(r, p, "chat", f.Model)
	if err != nil {
		return err
	}
	x := &gateway.Exchange{
		Raw: &llm.RawRequest{Protocol: llm.OpenAIChat, Op: "chat", Body: body, Stream: f.Stream, ReplyModel: f.Model},
		Decode: func() (*llm.ChatRequest, error) {
			_, lr, err := decode()
			return lr, err
		},
		Prompt: f.Prompt, MaxTokens: f.MaxTokens,
	}
	if f.N == nil || *f.N == 1 {
		x.Cache = chatCache{includeUsage: f.IncludeUsage}
	}
	ans, err := ex.Exchange(r.Context(), call, x)
	if err != nil {
		return err
	}
	setServedHeaders(w, ans.Served)
	switch {
	case ans.Raw != nil:
		return writeRaw(w, ans.Raw, f.Stream)
	case ans.Result != nil:
		resp := *ans.Result.Response
		resp.Usage = ans.Result.Usage
		return httpx.WriteJSON(w, http.StatusOK, wire.CompletionFromLLM(&resp, gateway.NewID("chatcmpl-"), f.Model))
	default:
		return openaihttp.StreamChat(w, ans.Stream, call.Model, h.Now(), f.IncludeUsage)
	}
}

// writeRaw copies a pass-through answer to the client as it arrives, with
// the headers the translation lane sends. A failure after the status line
// travels as an error event, as StreamChat sends it.
func writeRaw(w http.ResponseWriter, a *gateway.RawAnswer, stream bool) error {
	defer a.Body.Close()
	if !stream {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.Status)
		_, _ = httpx.Copy(w, a.Body)
		return nil
	}
	httpx.StartSSE(w)
	if err := httpx.Relay(w, a.Body); err != nil {
		b, _ := json.Marshal(openaihttp.ErrorBody(llmservice.AsError(err)))
		_ = httpx.SSEData(w, b)
	}
	return nil
}
