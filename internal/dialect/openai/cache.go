package openai

import (
	"bytes"
	"encoding/json"
	"sort"

	"github.com/llmservice/llmservice/internal/cache"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// chatCache offers the response cache for a chat completion served in the
// pass-through lane (see gateway.RawCache). The key is the canonical body
// without the fields that cannot change the answer (stream flags, user
// labels, metadata, store). An answer is kept when its one choice ended
// with stop, length, tool_calls or function_call.
//
// It replays answers itself (gateway.RawReplayer) because a chat stream's
// framing depends on the request: the usage chunk travels only when
// stream_options.include_usage asks for it, while a whole answer always
// carries usage. A hit in the framing it was kept in, asking for the same
// usage, is the kept bytes unchanged.
//
// The dialect offers it only to calls with n of 1 (or none): several
// choices are not cached.
type chatCache struct {
	includeUsage bool // the request's stream_options.include_usage
}

func (chatCache) Key(body []byte) ([]byte, bool) {
	return cache.CanonicalBody(body, "stream", "stream_options", "user", "metadata", "store")
}

func (chatCache) Whole(body []byte, stream bool) ([]byte, bool) {
	if stream {
		c, ok := assembleChat(httpx.ParseSSE(body))
		if !ok {
			return nil, false
		}
		return marshal(c), true
	}
	var c wire.ChatCompletion
	if json.Unmarshal(body, &c) != nil || !keepable(&c) {
		return nil, false
	}
	return body, true
}

func (cc chatCache) Stream(whole []byte) []byte {
	var c wire.ChatCompletion
	if json.Unmarshal(whole, &c) != nil || len(c.Choices) != 1 {
		return nil
	}
	return streamOf(&c, cc.includeUsage)
}

// Replay answers a hit from an answer kept whole or as a stream (kept's
// framing), in the framing the call asks for, with the kept usage u where
// the kept answer carries none (a stream whose client did not ask for it).
func (cc chatCache) Replay(kept []byte, keptStream, stream bool, u llm.Usage) ([]byte, bool) {
	switch {
	case !keptStream && !stream:
		return kept, true
	case !keptStream:
		var c wire.ChatCompletion
		if json.Unmarshal(kept, &c) != nil || len(c.Choices) != 1 {
			return nil, false
		}
		if c.Usage == nil {
			c.Usage = wire.UsageFromLLM(u)
		}
		return streamOf(&c, cc.includeUsage), true
	}
	frames := httpx.ParseSSE(kept)
	if !stream {
		c, ok := assembleChat(frames)
		if !ok {
			return nil, false
		}
		if c.Usage == nil {
			c.Usage = wire.UsageFromLLM(u)
		}
		return marshal(c), true
	}
	// Stream to stream: the kept frames, with the usage chunk added or
	// left out as this request asks.
	last, usageAt := -1, -1
	for i, f := range frames {
		if bytes.Equal(bytes.TrimSpace(f.Data), doneData) {
			continue
		}
		last = i
		var ch struct {
			Choices []json.RawMessage `json:"choices"`
			Usage   json.RawMessage   `json:"usage"`
		}
		if json.Unmarshal(f.Data, &ch) == nil && len(ch.Choices) == 0 && len(ch.Usage) > 0 && string(ch.Usage) != "null" {
			usageAt = i
		}
	}
	if last < 0 {
		return nil, false
	}
	if (usageAt >= 0) == cc.includeUsage {
		return kept, true
	}
	var out []byte
	for i, f := range frames {
		if i == usageAt {
			continue
		}
		if bytes.Equal(bytes.TrimSpace(f.Data), doneData) && cc.includeUsage {
			var head wire.ChatChunk
			if json.Unmarshal(frames[last].Data, &head) != nil {
				return nil, false
			}
			out = httpx.AppendSSE(out, "", marshal(&wire.ChatChunk{ID: head.ID, Object: "chat.completion.chunk", Created: head.Created,
				Model: head.Model, Choices: []wire.ChunkChoice{}, Usage: wire.UsageFromLLM(u), SystemFingerprint: head.SystemFingerprint}))
		}
		out = httpx.AppendSSE(out, f.Event, f.Data)
	}
	return out, true
}

// keepable reports whether a whole answer may be kept: one choice that
// ended as a complete answer (not a content filter's cut).
func keepable(c *wire.ChatCompletion) bool {
	if c.Object != "chat.completion" || len(c.Choices) != 1 {
		return false
	}
	switch c.Choices[0].FinishReason {
	case "stop", "length", "tool_calls", "function_call":
		return true
	}
	return false
}

// assembleChat rebuilds the chat.completion a stream carried: the first
// chunk's id, created, model and fingerprint, the deltas of choice 0
// joined, tool calls by index, the finish reason and the usage chunk's
// usage (nil when the stream had none). A stream without [DONE], with an
// error or with a second choice, carried no answer to keep.
func assembleChat(frames []httpx.SSEFrame) (*wire.ChatCompletion, bool) {
	var out *wire.ChatCompletion
	var content, refusal *string
	calls := map[int]*wire.ToolCall{}
	reason, done := "", false
	for _, f := range frames {
		data := bytes.TrimSpace(f.Data)
		if bytes.Equal(data, doneData) {
			done = true
			continue
		}
		var ch struct {
			wire.ChatChunk
			Error json.RawMessage `json:"error"`
		}
		if json.Unmarshal(data, &ch) != nil || len(ch.Error) > 0 && string(ch.Error) != "null" {
			return nil, false
		}
		if out == nil {
			out = &wire.ChatCompletion{ID: ch.ID, Object: "chat.completion", Created: ch.Created, Model: ch.Model, SystemFingerprint: ch.SystemFingerprint}
		}
		if ch.Usage != nil {
			out.Usage = ch.Usage
		}
		for _, c := range ch.Choices {
			if c.Index != 0 {
				return nil, false
			}
			if d := c.Delta.Content; d != nil {
				content = joined(content, *d)
			}
			if d := c.Delta.Refusal; d != nil {
				refusal = joined(refusal, *d)
			}
			for _, tc := range c.Delta.ToolCalls {
				t := calls[tc.Index]
				if t == nil {
					t = &wire.ToolCall{Type: "function"}
					calls[tc.Index] = t
				}
				if tc.ID != "" {
					t.ID = tc.ID
				}
				if tc.Type != "" {
					t.Type = tc.Type
				}
				t.Function.Name += tc.Function.Name
				t.Function.Arguments += tc.Function.Arguments
			}
			if c.FinishReason != nil {
				reason = *c.FinishReason
			}
		}
	}
	if !done || out == nil {
		return nil, false
	}
	msg := wire.RespMessage{Role: llm.RoleAssistant, Content: content, Refusal: refusal}
	idx := make([]int, 0, len(calls))
	for i := range calls {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		msg.ToolCalls = append(msg.ToolCalls, *calls[i])
	}
	out.Choices = []wire.Choice{{Index: 0, Message: msg, FinishReason: reason, Logprobs: json.RawMessage("null")}}
	return out, keepable(out)
}

func joined(s *string, more string) *string {
	if s == nil {
		return &more
	}
	t := *s + more
	return &t
}

// streamOf plays a whole answer back as chat.completion.chunk events: the
// message in one delta, the finish reason, the usage chunk when asked, and
// [DONE].
func streamOf(c *wire.ChatCompletion, includeUsage bool) []byte {
	ch := c.Choices[0]
	head := func(choices []wire.ChunkChoice) *wire.ChatChunk {
		return &wire.ChatChunk{ID: c.ID, Object: "chat.completion.chunk", Created: c.Created, Model: c.Model, Choices: choices, SystemFingerprint: c.SystemFingerprint}
	}
	d := wire.Delta{Role: llm.RoleAssistant, Content: ch.Message.Content, Refusal: ch.Message.Refusal}
	for i, tc := range ch.Message.ToolCalls {
		d.ToolCalls = append(d.ToolCalls, wire.ToolCallDelta{Index: i, ID: tc.ID, Type: tc.Type,
			Function: wire.FunctionCallDelta{Name: tc.Function.Name, Arguments: tc.Function.Arguments}})
	}
	if d.Content == nil && len(d.ToolCalls) == 0 {
		empty := ""
		d.Content = &empty
	}
	reason := ch.FinishReason
	var out []byte
	out = httpx.AppendSSE(out, "", marshal(head([]wire.ChunkChoice{{Index: 0, Delta: d}})))
	out = httpx.AppendSSE(out, "", marshal(head([]wire.ChunkChoice{{Index: 0, FinishReason: &reason}})))
	if includeUsage && c.Usage != nil {
		out = httpx.AppendSSE(out, "", marshal(&wire.ChatChunk{ID: c.ID, Object: "chat.completion.chunk", Created: c.Created,
			Model: c.Model, Choices: []wire.ChunkChoice{}, Usage: c.Usage, SystemFingerprint: c.SystemFingerprint}))
	}
	return httpx.AppendSSE(out, "", doneData)
}

func marshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// doneData is the data of the event that ends a chat stream.
var doneData = []byte("[DONE]")
