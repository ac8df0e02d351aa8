package providertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
)

// The OpenAI Responses API as the agent fake (NewOpenAIAgent) speaks it:
// POST /v1/responses, JSON or an event stream with every lifecycle event
// and sequence_number, usage with input_tokens_details.cached_tokens and
// output_tokens_details.reasoning_tokens, and POST
// /v1/responses/input_tokens. It answers with AgentReply, reasoning first
// (an encrypted_content it checks when it comes back) when the request
// has reasoning.
// https://platform.openai.com/docs/api-reference/responses-streaming

// FakeEncryptedReasoning is the encrypted_content of the fake's reasoning
// items; a reasoning item sent back with any other is refused.
const FakeEncryptedReasoning = "ZmFrZS1lbmNyeXB0ZWQtcmVhc29uaW5n"

var respSeq atomic.Int64

type rfItem struct {
	Type             string          `json:"type"`
	Role             string          `json:"role"`
	Content          json.RawMessage `json:"content"`
	Output           json.RawMessage `json:"output"`
	EncryptedContent *string         `json:"encrypted_content"`
}

type rfRequest struct {
	Model     string          `json:"model"`
	Input     json.RawMessage `json:"input"`
	Stream    bool            `json:"stream"`
	Reasoning json.RawMessage `json:"reasoning"`
	Text      json.RawMessage `json:"text"`
	Tools     []struct {
		Name string `json:"name"`
	} `json:"tools"`
	PreviousResponseID *string `json:"previous_response_id"`
}

func (r *rfRequest) items() ([]rfItem, error) {
	var s string
	if json.Unmarshal(r.Input, &s) == nil {
		return []rfItem{{Type: "message", Role: "user", Content: r.Input}}, nil
	}
	var items []rfItem
	err := json.Unmarshal(r.Input, &items)
	return items, err
}

// serveResponses answers POST /v1/responses and /v1/responses/input_tokens.
func serveResponses(w http.ResponseWriter, path string, body []byte) {
	var req rfRequest
	if err := json.Unmarshal(body, &req); err != nil {
		openAIError(w, http.StatusBadRequest, "invalid_request_error", "We could not parse the JSON body of your request.")
		return
	}
	items, err := req.items()
	if req.Model == "" || err != nil {
		openAIError(w, http.StatusBadRequest, "invalid_request_error", "Missing required parameter: 'model' or invalid 'input'.")
		return
	}
	if req.PreviousResponseID != nil {
		openAIError(w, http.StatusNotFound, "invalid_request_error", "Previous response with id '"+*req.PreviousResponseID+"' not found.")
		return
	}
	var lastUser string
	var toolResult *string
	prompt := 0
	for _, it := range items {
		switch {
		case it.Type == "reasoning":
			if it.EncryptedContent == nil || *it.EncryptedContent != FakeEncryptedReasoning {
				openAIError(w, http.StatusBadRequest, "invalid_request_error", "The encrypted content for a reasoning item could not be verified.")
				return
			}
		case it.Type == "function_call_output" || it.Type == "custom_tool_call_output":
			t := openAIText(it.Output)
			toolResult = &t
			prompt += len(strings.Fields(t))
		case it.Role != "":
			text := openAIText(it.Content)
			prompt += len(strings.Fields(text))
			toolResult = nil
			if it.Role == "user" {
				lastUser = text
			}
		}
	}
	if path == "/v1/responses/input_tokens" {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"object":"response.input_tokens","input_tokens":%d}`, prompt)
		return
	}
	var tools []string
	for _, t := range req.Tools {
		tools = append(tools, t.Name)
	}
	a := AgentReply(lastUser, toolResult, tools)
	a.PromptTokens = prompt
	id := fmt.Sprintf("resp_fake_%d", respSeq.Add(1))
	var out []map[string]any
	reasoning := len(req.Reasoning) > 0 && string(req.Reasoning) != "null"
	if reasoning {
		out = append(out, map[string]any{"id": id + "_rs", "type": "reasoning", "summary": []any{map[string]any{"type": "summary_text", "text": "Thinking."}},
			"encrypted_content": FakeEncryptedReasoning})
	}
	if a.ToolCall != nil {
		out = append(out, map[string]any{"id": id + "_fc", "type": "function_call", "status": "completed", "call_id": a.ToolCall.ID,
			"name": a.ToolCall.Name, "arguments": a.ToolCall.Arguments})
	} else {
		out = append(out, map[string]any{"id": id + "_msg", "type": "message", "status": "completed", "role": "assistant",
			"content": []any{map[string]any{"type": "output_text", "text": a.Text, "annotations": []any{}, "logprobs": []any{}}}})
	}
	reasoningTokens := 0
	if reasoning {
		reasoningTokens = 2
	}
	usage := map[string]any{"input_tokens": a.PromptTokens, "input_tokens_details": map[string]any{"cached_tokens": a.PromptTokens / 4},
		"output_tokens": a.CompletionTokens + reasoningTokens, "output_tokens_details": map[string]any{"reasoning_tokens": reasoningTokens},
		"total_tokens": a.PromptTokens + a.CompletionTokens + reasoningTokens}
	resp := map[string]any{"id": id, "object": "response", "created_at": 1796643178, "status": "in_progress", "model": req.Model,
		"output": []any{}, "usage": nil, "error": nil, "incomplete_details": nil, "store": false, "parallel_tool_calls": true,
		"tool_choice": "auto", "tools": []any{}, "text": map[string]any{"format": map[string]any{"type": "text"}}}
	if len(req.Text) > 0 {
		resp["text"] = req.Text
	}
	final := func() map[string]any {
		f := map[string]any{}
		for k, v := range resp {
			f[k] = v
		}
		f["status"], f["output"], f["usage"], f["completed_at"] = "completed", out, usage, 1796643179
		return f
	}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(final())
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	seq := 0
	send := func(typ string, ev map[string]any) {
		ev["type"], ev["sequence_number"] = typ, seq
		seq++
		b, _ := json.Marshal(ev)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, b)
		Flush(w)
	}
	send("response.created", map[string]any{"response": resp})
	send("response.in_progress", map[string]any{"response": resp})
	for i, it := range out {
		itemID := it["id"]
		added := map[string]any{}
		for k, v := range it {
			added[k] = v
		}
		switch it["type"] {
		case "reasoning":
			added["summary"] = []any{}
			send("response.output_item.added", map[string]any{"output_index": i, "item": added})
			send("response.reasoning_summary_part.added", map[string]any{"item_id": itemID, "output_index": i, "summary_index": 0, "part": map[string]any{"type": "summary_text", "text": ""}})
			send("response.reasoning_summary_text.delta", map[string]any{"item_id": itemID, "output_index": i, "summary_index": 0, "delta": "Thinking."})
			send("response.reasoning_summary_text.done", map[string]any{"item_id": itemID, "output_index": i, "summary_index": 0, "text": "Thinking."})
			send("response.reasoning_summary_part.done", map[string]any{"item_id": itemID, "output_index": i, "summary_index": 0, "part": map[string]any{"type": "summary_text", "text": "Thinking."}})
		case "function_call":
			added["arguments"], added["status"] = "", "in_progress"
			send("response.output_item.added", map[string]any{"output_index": i, "item": added})
			send("response.function_call_arguments.delta", map[string]any{"item_id": itemID, "output_index": i, "delta": it["arguments"]})
			send("response.function_call_arguments.done", map[string]any{"item_id": itemID, "output_index": i, "arguments": it["arguments"]})
		case "message":
			added["content"], added["status"] = []any{}, "in_progress"
			send("response.output_item.added", map[string]any{"output_index": i, "item": added})
			send("response.content_part.added", map[string]any{"item_id": itemID, "output_index": i, "content_index": 0, "part": map[string]any{"type": "output_text", "text": "", "annotations": []any{}}})
			for _, wd := range Words(a.Text) {
				send("response.output_text.delta", map[string]any{"item_id": itemID, "output_index": i, "content_index": 0, "delta": wd, "logprobs": []any{}})
			}
			send("response.output_text.done", map[string]any{"item_id": itemID, "output_index": i, "content_index": 0, "text": a.Text, "logprobs": []any{}})
			send("response.content_part.done", map[string]any{"item_id": itemID, "output_index": i, "content_index": 0, "part": map[string]any{"type": "output_text", "text": a.Text, "annotations": []any{}}})
		}
		send("response.output_item.done", map[string]any{"output_index": i, "item": it})
	}
	send("response.completed", map[string]any{"response": final()})
}
