package athena

import (
	"fmt"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/pricing"
	"github.com/llmservice/llmservice/internal/tokens"
)

const (
	// defaultContextWindow is the window of a model nobody describes: small
	// enough for any current chat model.
	defaultContextWindow = 8192
	// replyPriming is what tokens.CountMessages adds once per request
	// (<|start|>assistant<|message|>); a message's own share of a prompt is
	// its count alone minus this.
	replyPriming = 3
	// maxDefaultReserve caps the room kept for the reply when the caller
	// sets no max_tokens: a quarter of the window, at most this.
	maxDefaultReserve = 4096
)

// contextWindow returns the smallest window among the deployments a model
// may be served by (a fallback must fit too): the catalog's context_window,
// else the price table's, else the default.
func (h *Handler) contextWindow(model string) int {
	def := h.DefaultContextWindow
	if def <= 0 {
		def = defaultContextWindow
	}
	plan, err := h.GW.Resolve(model)
	if err != nil || plan == nil {
		return def
	}
	window := 0
	narrow := func(w int) {
		if w > 0 && (window == 0 || w < window) {
			window = w
		}
	}
	for _, t := range plan.Targets {
		if t.Entry != nil && t.Entry.ContextWindow > 0 {
			narrow(t.Entry.ContextWindow)
			continue
		}
		for _, d := range t.Deployments {
			w := def
			if in, ok := h.GW.Instance(d.Instance); ok {
				if p, ok := pricing.Lookup(in.Family, d.Model); ok && p.ContextWindow > 0 {
					w = p.ContextWindow
				}
			}
			narrow(w)
		}
	}
	if window == 0 {
		return def
	}
	return window
}

// promptBudget is how many prompt tokens a call may send: the window less
// the room kept for the reply.
func promptBudget(window int, maxTokens *int) (int, error) {
	reserve := min(window/4, maxDefaultReserve)
	if maxTokens != nil {
		if *maxTokens >= window {
			return 0, llmservice.InvalidParam("max_tokens",
				"max_tokens (%d) leaves no room for the conversation in the model's context window of %d tokens", *maxTokens, window)
		}
		reserve = *maxTokens
	}
	return window - reserve, nil
}

// messageTokens is m's share of a prompt to model.
func messageTokens(model string, m llm.Message) int {
	return tokens.CountMessages(model, []llm.Message{m}) - replyPriming
}

// trimHistory keeps the newest messages of hist whose tokens add up to at
// most budget, then drops leading messages until a user turn starts the
// history, so the model never sees a reply without its question. It
// returns what is kept and how many were dropped.
func trimHistory(hist []*llmservice.ConversationMessage, budget int) ([]*llmservice.ConversationMessage, int) {
	start, sum := len(hist), 0
	for start > 0 && budget >= 0 && sum+hist[start-1].Tokens <= budget {
		sum += hist[start-1].Tokens
		start--
	}
	for start < len(hist) && hist[start].Role != llm.RoleUser {
		start++
	}
	return hist[start:], start
}

// errTooLong is the answer when the system message and the new message
// alone overflow the window: nothing left to trim.
func errTooLong(need, budget, window int) error {
	return &llmservice.Error{Kind: llmservice.Invalid, Param: "message.content", Code: "context_length_exceeded",
		Message: fmt.Sprintf("the system message and this message need %d tokens, more than the %d the model's context window of %d tokens leaves for the prompt",
			need, budget, window)}
}
