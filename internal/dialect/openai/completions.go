package openai

import (
	"encoding/json"
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/openaihttp"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// completions serves the legacy text completion API. A prompt becomes one
// user message; "messages" is accepted too, because several of our users'
// clients post chat messages to this path.
func (h *Handler) completions(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	var req wire.CompletionRequest
	if err := httpx.DecodeJSON(w, r, h.BodyLimit, &req); err != nil {
		return err
	}
	lr, err := req.ToLLM()
	if err != nil {
		return err
	}
	call, err := cacheableCall(r, p, "completions", req.Model)
	if err != nil {
		return err
	}
	id := gateway.NewID("cmpl-")
	created := h.Now()
	if lr.Stream {
		s, err := h.GW.ChatStream(r.Context(), call, lr)
		if err != nil {
			return err
		}
		setServedHeaders(w, s.Served)
		return streamCompletion(w, s, id, req.Model, created, lr.IncludeUsage)
	}
	res, err := h.GW.Chat(r.Context(), call, lr)
	if err != nil {
		return err
	}
	setServedHeaders(w, res.Served)
	out := wire.Completion{ID: id, Object: "text_completion", Created: created, Model: req.Model, Usage: wire.UsageFromLLM(res.Usage)}
	for _, c := range res.Response.Choices {
		fr := c.FinishReason
		out.Choices = append(out.Choices, wire.CompletionChoice{Text: c.Message.Text(), Index: c.Index, Logprobs: json.RawMessage("null"), FinishReason: &fr})
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}

func streamCompletion(w http.ResponseWriter, s *gateway.StreamResult, id, model string, created int64, withUsage bool) error {
	defer s.Close()
	httpx.StartSSE(w)
	failed, gone := httpx.RelayChunks(s, func(ch *llm.Chunk) error {
		if ch.Text == "" && ch.FinishReason == "" {
			return nil
		}
		c := wire.Completion{ID: id, Object: "text_completion", Created: created, Model: model,
			Choices: []wire.CompletionChoice{{Text: ch.Text, Index: ch.Index, Logprobs: json.RawMessage("null")}}}
		if ch.FinishReason != "" {
			fr := ch.FinishReason
			c.Choices[0].FinishReason = &fr
		}
		b, _ := json.Marshal(c)
		return httpx.SSEData(w, b)
	})
	if failed != nil {
		b, _ := json.Marshal(openaihttp.ErrorBody(llmservice.AsError(failed)))
		_ = httpx.SSEData(w, b)
		return nil
	}
	if gone != nil {
		return nil // client went away; Close settles the call
	}
	if withUsage {
		u := gateway.StreamUsage(s)
		b, _ := json.Marshal(wire.Completion{ID: id, Object: "text_completion", Created: created, Model: model, Choices: []wire.CompletionChoice{}, Usage: wire.UsageFromLLM(u)})
		_ = httpx.SSEData(w, b)
	}
	_ = httpx.SSEData(w, []byte("[DONE]"))
	return nil
}
