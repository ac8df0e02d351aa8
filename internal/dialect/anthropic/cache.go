package anthropic

import (
	"encoding/json"

	"github.com/llmservice/llmservice/internal/cache"
	"github.com/llmservice/llmservice/internal/httpx"
)

// messagesCache offers the response cache for POST /v1/messages (see
// gateway.RawCache): the key is the canonical body without stream and
// metadata (user labels), which cannot change the answer; an answer is kept
// when it ended with end_turn, max_tokens, stop_sequence or tool_use.
type messagesCache struct{}

func (messagesCache) Key(body []byte) ([]byte, bool) {
	return cache.CanonicalBody(body, "stream", "metadata")
}

// wholeMessage is the part of a Messages answer the cache reads; the rest
// travels as it came.
type wholeMessage struct {
	Type       string            `json:"type"`
	StopReason string            `json:"stop_reason"`
	Content    []json.RawMessage `json:"content"`
}

func (messagesCache) Whole(body []byte, stream bool) ([]byte, bool) {
	if stream {
		b, ok := assembleMessage(httpx.ParseSSE(body))
		if !ok {
			return nil, false
		}
		body = b
	}
	var m wholeMessage
	if json.Unmarshal(body, &m) != nil || m.Type != "message" {
		return nil, false
	}
	switch m.StopReason {
	case "end_turn", "max_tokens", "stop_sequence", "tool_use":
		return body, true
	}
	return nil, false
}

// assembleMessage rebuilds the message a stream carried: message_start's
// message, each content block from its start and deltas, message_delta's
// stop reason and usage. A stream without message_stop, or with an error
// event, carried no whole message.
func assembleMessage(frames []httpx.SSEFrame) ([]byte, bool) {
	var msg map[string]json.RawMessage
	var blocks []map[string]any
	var partial []string // tool_use input JSON by block
	done := false
	for _, f := range frames {
		var ev struct {
			Type    string                     `json:"type"`
			Message map[string]json.RawMessage `json:"message"`
			Index   int                        `json:"index"`
			Block   map[string]any             `json:"content_block"`
			Delta   map[string]json.RawMessage `json:"delta"`
			Usage   map[string]json.RawMessage `json:"usage"`
		}
		if json.Unmarshal(f.Data, &ev) != nil {
			return nil, false
		}
		switch ev.Type {
		case "message_start":
			msg = ev.Message
		case "content_block_start":
			if ev.Index != len(blocks) || ev.Block == nil {
				return nil, false
			}
			blocks, partial = append(blocks, ev.Block), append(partial, "")
		case "content_block_delta":
			if ev.Index < 0 || ev.Index >= len(blocks) {
				return nil, false
			}
			b := blocks[ev.Index]
			get := func(k string) string {
				var s string
				_ = json.Unmarshal(ev.Delta[k], &s)
				return s
			}
			switch get("type") {
			case "text_delta":
				b["text"] = str(b["text"]) + get("text")
			case "input_json_delta":
				partial[ev.Index] += get("partial_json")
			case "thinking_delta":
				b["thinking"] = str(b["thinking"]) + get("thinking")
			case "signature_delta":
				b["signature"] = str(b["signature"]) + get("signature")
			case "citations_delta":
				cs, _ := b["citations"].([]any)
				b["citations"] = append(cs, ev.Delta["citation"])
			}
		case "content_block_stop":
			if ev.Index < 0 || ev.Index >= len(blocks) {
				return nil, false
			}
			if p := partial[ev.Index]; p != "" {
				blocks[ev.Index]["input"] = json.RawMessage(p)
			}
		case "message_delta":
			if msg == nil {
				return nil, false
			}
			for k, v := range ev.Delta {
				msg[k] = v
			}
			if len(ev.Usage) > 0 {
				var u map[string]json.RawMessage
				_ = json.Unmarshal(msg["usage"], &u)
				if u == nil {
					u = map[string]json.RawMessage{}
				}
				for k, v := range ev.Usage {
					u[k] = v
				}
				msg["usage"] = mustJSON(u)
			}
		case "message_stop":
			done = true
		case "error":
			return nil, false
		}
	}
	if !done || msg == nil {
		return nil, false
	}
	if blocks == nil {
		blocks = []map[string]any{}
	}
	msg["content"] = mustJSON(blocks)
	return mustJSON(msg), true
}

// Stream plays a whole message back as the Messages API's event sequence:
// message_start (no content yet), each block's start, delta and stop,
// message_delta with the stop reason and the output tokens, message_stop.
func (messagesCache) Stream(whole []byte) []byte {
	var msg map[string]json.RawMessage
	if json.Unmarshal(whole, &msg) != nil {
		return nil
	}
	var content []map[string]json.RawMessage
	_ = json.Unmarshal(msg["content"], &content)
	var usage map[string]json.RawMessage
	_ = json.Unmarshal(msg["usage"], &usage)
	delta := map[string]json.RawMessage{"stop_reason": orNull(msg["stop_reason"]), "stop_sequence": orNull(msg["stop_sequence"])}
	start := make(map[string]json.RawMessage, len(msg))
	for k, v := range msg {
		start[k] = v
	}
	start["content"], start["stop_reason"], start["stop_sequence"] = json.RawMessage("[]"), json.RawMessage("null"), json.RawMessage("null")

	var out []byte
	ev := func(name string, v any) { out = httpx.AppendSSE(out, name, mustJSON(v)) }
	ev("message_start", map[string]any{"type": "message_start", "message": start})
	for i, b := range content {
		var typ string
		_ = json.Unmarshal(b["type"], &typ)
		head := make(map[string]json.RawMessage, len(b))
		for k, v := range b {
			head[k] = v
		}
		var deltas []map[string]any
		switch typ {
		case "text":
			head["text"] = json.RawMessage(`""`)
			delete(head, "citations")
			var cs []json.RawMessage
			_ = json.Unmarshal(b["citations"], &cs)
			for _, c := range cs {
				deltas = append(deltas, map[string]any{"type": "citations_delta", "citation": c})
			}
			deltas = append(deltas, map[string]any{"type": "text_delta", "text": b["text"]})
		case "thinking":
			head["thinking"], head["signature"] = json.RawMessage(`""`), json.RawMessage(`""`)
			deltas = append(deltas, map[string]any{"type": "thinking_delta", "thinking": b["thinking"]},
				map[string]any{"type": "signature_delta", "signature": b["signature"]})
		case "tool_use", "server_tool_use":
			head["input"] = json.RawMessage("{}")
			deltas = append(deltas, map[string]any{"type": "input_json_delta", "partial_json": string(orEmpty(b["input"]))})
		}
		ev("content_block_start", map[string]any{"type": "content_block_start", "index": i, "content_block": head})
		for _, d := range deltas {
			ev("content_block_delta", map[string]any{"type": "content_block_delta", "index": i, "delta": d})
		}
		ev("content_block_stop", map[string]any{"type": "content_block_stop", "index": i})
	}
	md := map[string]any{"type": "message_delta", "delta": delta}
	if out, ok := usage["output_tokens"]; ok {
		md["usage"] = map[string]json.RawMessage{"output_tokens": out}
	}
	ev("message_delta", md)
	ev("message_stop", map[string]string{"type": "message_stop"})
	return out
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func orNull(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage("null")
	}
	return v
}

func orEmpty(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage("{}")
	}
	return v
}
