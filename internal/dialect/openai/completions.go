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
	lr, err := completionToLLM(&req)
	if err != nil {
		return err
	}
	call := newCall(r, p, "completions", req.Model)
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

func completionToLLM(req *wire.CompletionRequest) (*llm.ChatRequest, error) {
	if req.Model == "" {
		return nil, llmservice.InvalidParam("model", "model is required")
	}
	switch {
	case req.Echo != nil && *req.Echo:
		return nil, llmservice.InvalidParam("echo", "echo is not supported")
	case req.Suffix != nil && *req.Suffix != "":
		return nil, llmservice.InvalidParam("suffix", "suffix is not supported")
	case req.BestOf != nil && *req.BestOf > 1:
		return nil, llmservice.InvalidParam("best_of", "best_of is not supported")
	case req.Logprobs != nil:
		return nil, llmservice.InvalidParam("logprobs", "logprobs is not supported on /v1/completions")
	}
	cr := wire.ChatRequest{Model: req.Model, Messages: req.Messages, MaxTokens: req.MaxTokens, Temperature: req.Temperature, TopP: req.TopP,
		FrequencyPenalty: req.FrequencyPenalty, PresencePenalty: req.PresencePenalty, Stop: req.Stop, Seed: req.Seed, N: req.N,
		User: req.User, Stream: req.Stream, StreamOptions: req.StreamOptions}
	if len(req.Messages) == 0 {
		prompt, err := wire.PromptText(req.Prompt)
		if err != nil {
			return nil, err
		}
		cr.Messages = []wire.Message{{Role: llm.RoleUser, Content: wire.Content{Text: &prompt}}}
	} else if len(req.Prompt) > 0 {
		return nil, llmservice.InvalidParam("prompt", "send either prompt or messages, not both")
	}
	return cr.ToLLM()
}

func streamCompletion(w http.ResponseWriter, s *gateway.StreamResult, id, model string, created int64, withUsage bool) error {
	defer s.Close()
	httpx.StartSSE(w)
	for {
		ch, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b, _ := json.Marshal(ErrorBody(llmservice.AsError(err)))
			_ = httpx.SSEData(w, b)
			return nil
		}
		if ch.Text == "" && ch.FinishReason == "" {
			continue
		}
		c := wire.Completion{ID: id, Object: "text_completion", Created: created, Model: model,
			Choices: []wire.CompletionChoice{{Text: ch.Text, Index: ch.Index, Logprobs: json.RawMessage("null")}}}
		if ch.FinishReason != "" {
			fr := ch.FinishReason
			c.Choices[0].FinishReason = &fr
		}
		b, _ := json.Marshal(c)
		if err := httpx.SSEData(w, b); err != nil {
			return nil
		}
	}
	if withUsage {
		u := gateway.StreamUsage(s)
		b, _ := json.Marshal(wire.Completion{ID: id, Object: "text_completion", Created: created, Model: model, Choices: []wire.CompletionChoice{}, Usage: wire.UsageFromLLM(u)})
		_ = httpx.SSEData(w, b)
	}
	_ = httpx.SSEData(w, []byte("[DONE]"))
	return nil
}
