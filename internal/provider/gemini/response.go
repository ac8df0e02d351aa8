package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	geminiwire "github.com/llmservice/llmservice/internal/wire/gemini"
)

// fromWire translates a generateContent answer. Thought parts (the model's
// reasoning) are left out of the message text and become thinking parts;
// a thoughtSignature on any other part becomes a signature-only thinking
// part just before that part's content, so that it can be put back on the
// same part on a later turn (see toParts). functionCall parts become tool
// calls with generated ids when the model gave none.
func fromWire(w *geminiwire.GenerateContentResponse) (*llm.ChatResponse, error) {
	if len(w.Candidates) == 0 {
		if w.PromptFeedback != nil && w.PromptFeedback.BlockReason != "" {
			return nil, blockedError(w.PromptFeedback.BlockReason)
		}
		return nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream returned no candidates"}
	}
	out := &llm.ChatResponse{ID: w.ResponseID, Model: w.ModelVersion, Choices: make([]llm.Choice, 0, len(w.Candidates))}
	var seq int
	for _, c := range w.Candidates {
		msg := llm.Message{Role: llm.RoleAssistant}
		if c.Content != nil {
			for _, p := range c.Content.Parts {
				if p.Thought {
					msg.Content = append(msg.Content, llm.Part{Type: llm.PartThinking, Text: p.Text, Signature: p.ThoughtSignature, Family: Family})
					continue
				}
				if p.ThoughtSignature != "" {
					msg.Content = append(msg.Content, llm.Part{Type: llm.PartThinking, Signature: p.ThoughtSignature, Family: Family})
				}
				if p.Text != "" {
					if n := len(msg.Content); n > 0 && msg.Content[n-1].Type == llm.PartText {
						msg.Content[n-1].Text += p.Text
					} else {
						msg.Content = append(msg.Content, llm.Part{Type: llm.PartText, Text: p.Text})
					}
				}
				if fc := p.FunctionCall; fc != nil {
					seq++
					msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: callID(fc.ID, seq), Name: fc.Name, Arguments: argsText(fc.Args)})
				}
			}
		}
		out.Choices = append(out.Choices, llm.Choice{
			Index:        c.Index,
			Message:      msg,
			FinishReason: finishReason(c.FinishReason, len(msg.ToolCalls) > 0),
		})
	}
	if w.UsageMetadata != nil {
		out.Usage = usage(w.UsageMetadata)
		out.HasUsage = true
	}
	return out, nil
}

// callID keeps the model's own call id and otherwise numbers the calls of
// one response call_1, call_2, …; Gemini matches results to calls by name
// and order, so the id only has to be unique within the conversation turn.
func callID(id string, seq int) string {
	if id != "" {
		return id
	}
	return fmt.Sprintf("call_%d", seq)
}

// argsText renders functionCall.args as OpenAI's argument text.
func argsText(args json.RawMessage) string {
	if !hasJSON(args) {
		return "{}"
	}
	var b bytes.Buffer
	if json.Compact(&b, args) != nil {
		return string(args)
	}
	return b.String()
}

// finishReason maps Gemini's finish reason to OpenAI's vocabulary. Gemini
// says STOP after a function call, so calls turn STOP into tool_calls.
// Reasons with no OpenAI counterpart (OTHER, LANGUAGE,
// MALFORMED_FUNCTION_CALL…) end as stop.
// https://ai.google.dev/api/generate-content#FinishReason
func finishReason(reason string, hasCalls bool) string {
	switch reason {
	case geminiwire.FinishMaxTokens:
		return llm.FinishLength
	case geminiwire.FinishSafety, geminiwire.FinishRecitation, geminiwire.FinishBlocklist,
		geminiwire.FinishProhibitedContent, geminiwire.FinishSPII,
		geminiwire.FinishImageSafety, geminiwire.FinishImageProhibitedContent:
		return llm.FinishContentFilter
	}
	if hasCalls {
		return llm.FinishToolCalls
	}
	return llm.FinishStop
}

// usage maps usageMetadata. Thoughts are billed as output, and the results
// of server-side tools as input, so both are counted in.
func usage(u *geminiwire.UsageMetadata) llm.Usage {
	return llm.Usage{
		PromptTokens:     u.PromptTokenCount + u.ToolUsePromptTokenCount,
		CompletionTokens: u.CandidatesTokenCount + u.ThoughtsTokenCount,
		CachedTokens:     u.CachedContentTokenCount,
		ReasoningTokens:  u.ThoughtsTokenCount,
	}
}

// blockedError reports a prompt Gemini refused before generating anything
// (promptFeedback.blockReason). Resending it would be refused again, so it
// is the caller's error, not an upstream failure.
func blockedError(reason string) *llmservice.Error {
	return &llmservice.Error{
		Kind:    llmservice.Invalid,
		Param:   "messages",
		Code:    "content_filter",
		Message: fmt.Sprintf("the prompt was blocked by Gemini (block reason %s)", reason),
	}
}
