package gemini

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/gemini"
)

// usageFromLLM follows Gemini's accounting: candidatesTokenCount excludes
// the thoughts, which thoughtsTokenCount reports apart; the prompt count
// includes the cached tokens.
func usageFromLLM(u llm.Usage) *wire.UsageMetadata {
	return &wire.UsageMetadata{
		PromptTokenCount:        u.PromptTokens,
		CachedContentTokenCount: u.CachedTokens,
		CandidatesTokenCount:    max(0, u.CompletionTokens-u.ReasoningTokens),
		ThoughtsTokenCount:      u.ReasoningTokens,
		TotalTokenCount:         u.PromptTokens + u.CompletionTokens,
	}
}

// finishReason maps a canonical finish reason to Gemini's; a function
// call ends with STOP, as Gemini's own do.
func finishReason(finish string) string {
	switch finish {
	case llm.FinishLength:
		return wire.FinishMaxTokens
	case llm.FinishContentFilter:
		return wire.FinishSafety
	}
	return wire.FinishStop
}

// callArgs is a call's arguments as the JSON object functionCall.args must
// be; arguments that are not one (a model's broken JSON) become {}.
func callArgs(args string) json.RawMessage {
	b := bytes.TrimSpace([]byte(args))
	if len(b) > 0 && b[0] == '{' && json.Valid(b) {
		return b
	}
	return json.RawMessage("{}")
}

func callPart(id, name, args string) wire.Part {
	return wire.Part{FunctionCall: &wire.FunctionCall{ID: id, Name: name, Args: callArgs(args)}}
}

// responseFromLLM encodes a translated non-streaming answer, one
// candidate per choice.
func responseFromLLM(res *gateway.Result, model string) *wire.GenerateContentResponse {
	out := &wire.GenerateContentResponse{ModelVersion: model, ResponseID: gateway.NewID(""), UsageMetadata: usageFromLLM(res.Usage)}
	for _, c := range res.Response.Choices {
		var parts []wire.Part
		for _, p := range c.Message.Content {
			switch p.Type {
			case llm.PartThinking:
				parts = append(parts, wire.Part{Text: p.Text, Thought: true, ThoughtSignature: p.Signature})
			case llm.PartText:
				if p.Text != "" {
					parts = append(parts, wire.Part{Text: p.Text})
				}
			}
		}
		for _, tc := range c.Message.ToolCalls {
			parts = append(parts, callPart(tc.ID, tc.Name, tc.Arguments))
		}
		cand := wire.Candidate{FinishReason: finishReason(c.FinishReason), Index: c.Index}
		if len(parts) > 0 {
			cand.Content = &wire.Content{Role: wire.RoleModel, Parts: parts}
		}
		out.Candidates = append(out.Candidates, cand)
	}
	return out
}

// framer writes a stream's elements: SSE events (alt=sse) or the elements
// of one JSON array, Gemini's framing without alt=sse.
type framer struct {
	w     http.ResponseWriter
	sse   bool
	n     int
	err   error
	ended bool
}

func newFramer(w http.ResponseWriter, sse bool) *framer {
	if sse {
		httpx.StartSSE(w)
	} else {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(http.StatusOK)
	}
	return &framer{w: w, sse: sse}
}

// write sends one element, its JSON as given.
func (f *framer) write(b []byte) {
	if f.err != nil {
		return
	}
	var buf []byte
	switch {
	case f.sse:
		buf = append(append(append(buf, "data: "...), b...), "\r\n\r\n"...)
	case f.n == 0:
		buf = append(append(buf, '['), b...)
	default:
		buf = append(append(buf, ",\r\n"...), b...)
	}
	f.n++
	if _, f.err = f.w.Write(buf); f.err == nil {
		f.err = httpx.Flush(f.w)
	}
}

func (f *framer) send(v any) {
	b, _ := json.Marshal(v)
	f.write(b)
}

// end closes the array.
func (f *framer) end() {
	if f.sse || f.ended || f.err != nil {
		return
	}
	f.ended = true
	if f.n == 0 {
		_, f.err = f.w.Write([]byte("["))
	}
	if f.err == nil {
		_, f.err = f.w.Write([]byte("]"))
	}
}

// streamGenerate writes a translated stream: a chunk per text or thought
// delta as it arrives, the function calls whole once their arguments are
// complete, and a last chunk with the finish reason and usageMetadata.
func streamGenerate(w http.ResponseWriter, s *gateway.StreamResult, model string, sse bool) error {
	defer s.Close()
	f := newFramer(w, sse)
	defer f.end()
	id := gateway.NewID("")
	chunk := func(parts []wire.Part) *wire.GenerateContentResponse {
		return &wire.GenerateContentResponse{ModelVersion: model, ResponseID: id,
			Candidates: []wire.Candidate{{Content: &wire.Content{Role: wire.RoleModel, Parts: parts}}}}
	}
	type call struct {
		id, name string
		args     []byte
	}
	var (
		calls  []*call
		byIdx  = map[int]*call{}
		finish string
	)
	failed, _ := httpx.RelayChunks(s, func(ch *llm.Chunk) error {
		var parts []wire.Part
		if ch.Thinking != "" || ch.Signature != "" {
			parts = append(parts, wire.Part{Text: ch.Thinking, Thought: true, ThoughtSignature: ch.Signature})
		}
		if ch.Text != "" {
			parts = append(parts, wire.Part{Text: ch.Text})
		}
		if len(parts) > 0 {
			f.send(chunk(parts))
		}
		for _, tc := range ch.ToolCalls {
			c := byIdx[tc.Index]
			if c == nil {
				c = &call{}
				byIdx[tc.Index] = c
				calls = append(calls, c)
			}
			if tc.ID != "" {
				c.id = tc.ID
			}
			if tc.Name != "" {
				c.name = tc.Name
			}
			c.args = append(c.args, tc.Arguments...)
		}
		if ch.FinishReason != "" {
			finish = ch.FinishReason
		}
		return f.err
	})
	if failed != nil {
		f.write(errorJSON(failed))
		return nil
	}
	if f.err != nil {
		return nil // client went away; Close settles the call
	}
	last := chunk(nil)
	for _, c := range calls {
		last.Candidates[0].Content.Parts = append(last.Candidates[0].Content.Parts, callPart(c.id, c.name, string(c.args)))
	}
	if len(last.Candidates[0].Content.Parts) == 0 {
		last.Candidates[0].Content = nil
	}
	last.Candidates[0].FinishReason = finishReason(finish)
	last.UsageMetadata = usageFromLLM(gateway.StreamUsage(s))
	f.send(last)
	return nil
}
