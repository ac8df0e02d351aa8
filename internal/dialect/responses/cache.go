package responses

import (
	"bytes"
	"encoding/json"

	"github.com/llmservice/llmservice/internal/cache"
	"github.com/llmservice/llmservice/internal/httpx"
)

// responsesCache offers the response cache for POST /v1/responses (see
// gateway.RawCache). The key is the canonical body without the fields that
// cannot change the answer: stream and stream_options, metadata, user and
// safety_identifier (labels), store (whether the answer is kept, not what
// it is) and prompt_cache_key (a routing hint). A previous_response_id has
// been replaced by the stored chain it names before the key is built
// (prepare splices the history into input), so the key covers the whole
// conversation; a call naming a conversation (state kept upstream, which
// the key cannot see) is not cached. An answer is kept when its status is
// completed. A hit replays the response as first served, its id included.
type responsesCache struct{}

func (responsesCache) Key(body []byte) ([]byte, bool) {
	var probe struct {
		Prev         json.RawMessage `json:"previous_response_id"`
		Conversation json.RawMessage `json:"conversation"`
	}
	if json.Unmarshal(body, &probe) != nil || !isNull(probe.Prev) || !isNull(probe.Conversation) {
		return nil, false
	}
	return cache.CanonicalBody(body, "stream", "stream_options", "metadata", "user", "safety_identifier", "store", "prompt_cache_key")
}

func isNull(v json.RawMessage) bool {
	return len(v) == 0 || bytes.Equal(v, []byte("null"))
}

func (responsesCache) Whole(body []byte, stream bool) ([]byte, bool) {
	if stream {
		var found []byte
		for _, f := range httpx.ParseSSE(body) {
			var ev struct {
				Type     string          `json:"type"`
				Response json.RawMessage `json:"response"`
			}
			if json.Unmarshal(f.Data, &ev) != nil {
				return nil, false
			}
			switch ev.Type {
			case "error", "response.failed", "response.incomplete":
				return nil, false
			case "response.completed":
				found = ev.Response
			}
		}
		if found == nil {
			return nil, false
		}
		body = found
	}
	var r struct {
		Object string `json:"object"`
		Status string `json:"status"`
	}
	if json.Unmarshal(body, &r) != nil || r.Object != "response" || r.Status != "completed" {
		return nil, false
	}
	return body, true
}

// Stream plays a completed response back as the Responses API's named
// events: response.created and response.in_progress (no output yet), each
// output item added, its content parts with their text in one delta (a
// function call's arguments likewise), done, then response.completed with
// the whole response.
func (responsesCache) Stream(whole []byte) []byte {
	var resp map[string]json.RawMessage
	if json.Unmarshal(whole, &resp) != nil {
		return nil
	}
	var items []map[string]json.RawMessage
	_ = json.Unmarshal(resp["output"], &items)
	seq := 0
	var out []byte
	ev := func(name string, fields map[string]any) {
		fields["type"], fields["sequence_number"] = name, seq
		seq++
		b, _ := json.Marshal(fields)
		out = httpx.AppendSSE(out, name, b)
	}
	pending := make(map[string]json.RawMessage, len(resp))
	for k, v := range resp {
		pending[k] = v
	}
	pending["status"], pending["output"], pending["usage"] = json.RawMessage(`"in_progress"`), json.RawMessage("[]"), json.RawMessage("null")
	ev("response.created", map[string]any{"response": pending})
	ev("response.in_progress", map[string]any{"response": pending})
	for i, it := range items {
		var typ, id string
		_ = json.Unmarshal(it["type"], &typ)
		_ = json.Unmarshal(it["id"], &id)
		added := make(map[string]json.RawMessage, len(it))
		for k, v := range it {
			added[k] = v
		}
		if _, ok := it["status"]; ok {
			added["status"] = json.RawMessage(`"in_progress"`)
		}
		switch typ {
		case "message":
			added["content"] = json.RawMessage("[]")
		case "function_call", "custom_tool_call":
			if _, ok := it["arguments"]; ok {
				added["arguments"] = json.RawMessage(`""`)
			}
		case "reasoning":
			if _, ok := it["summary"]; ok {
				added["summary"] = json.RawMessage("[]")
			}
		}
		ev("response.output_item.added", map[string]any{"output_index": i, "item": added})
		switch typ {
		case "message":
			var parts []map[string]json.RawMessage
			_ = json.Unmarshal(it["content"], &parts)
			for j, p := range parts {
				var ptype string
				_ = json.Unmarshal(p["type"], &ptype)
				at := map[string]any{"item_id": id, "output_index": i, "content_index": j}
				with := func(extra map[string]any) map[string]any {
					m := make(map[string]any, len(at)+len(extra))
					for k, v := range at {
						m[k] = v
					}
					for k, v := range extra {
						m[k] = v
					}
					return m
				}
				switch ptype {
				case "output_text":
					empty := map[string]any{"type": "output_text", "text": "", "annotations": []any{}}
					ev("response.content_part.added", with(map[string]any{"part": empty}))
					ev("response.output_text.delta", with(map[string]any{"delta": p["text"], "logprobs": []any{}}))
					ev("response.output_text.done", with(map[string]any{"text": p["text"], "logprobs": []any{}}))
				case "refusal":
					ev("response.content_part.added", with(map[string]any{"part": map[string]any{"type": "refusal", "refusal": ""}}))
					ev("response.refusal.delta", with(map[string]any{"delta": p["refusal"]}))
					ev("response.refusal.done", with(map[string]any{"refusal": p["refusal"]}))
				default:
					ev("response.content_part.added", with(map[string]any{"part": p}))
				}
				ev("response.content_part.done", with(map[string]any{"part": p}))
			}
		case "function_call":
			at := map[string]any{"item_id": id, "output_index": i, "delta": it["arguments"]}
			ev("response.function_call_arguments.delta", at)
			ev("response.function_call_arguments.done", map[string]any{"item_id": id, "output_index": i, "arguments": it["arguments"], "name": it["name"]})
		}
		ev("response.output_item.done", map[string]any{"output_index": i, "item": it})
	}
	ev("response.completed", map[string]any{"response": resp})
	return out
}
