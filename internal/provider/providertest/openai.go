package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// NewOpenAI starts a fake that speaks OpenAI's Chat Completions, Embeddings
// and Models API under /v1, requiring `Authorization: Bearer <any>`.
// Point an adapter at fake.URL + "/v1".
func NewOpenAI(tb testing.TB) *Fake {
	return New(tb, serveOpenAI)
}

// NewOpenAIAgent is NewOpenAI answering chats with AgentReply, the policy
// made for coding agents, and serving the Responses API (responses.go).
func NewOpenAIAgent(tb testing.TB) *Fake {
	return New(tb, func(w http.ResponseWriter, r *http.Request, body []byte, fail *Failure) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions" && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			openAIChat(w, body, fail, agentPolicy)
			return
		}
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/responses") && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			serveResponses(w, r.URL.Path, body)
			return
		}
		serveOpenAI(w, r, body, fail)
	})
}

// agentPolicy applies AgentReply to OpenAI turns.
func agentPolicy(turns []Turn, tools []string) Answer {
	var a Answer
	if n := len(turns); n > 0 && turns[n-1].Role == "tool" {
		t := turns[n-1].Text
		a = AgentReply("", &t, tools)
	} else {
		last := ""
		for _, t := range turns {
			if t.Role == "user" {
				last = t.Text
			}
		}
		a = AgentReply(last, nil, tools)
	}
	for _, t := range turns {
		a.PromptTokens += len(strings.Fields(t.Text))
	}
	return a
}

// defaultPolicy is the package's answer policy (Reply).
func defaultPolicy(turns []Turn, tools []string) Answer {
	first := ""
	if len(tools) > 0 {
		first = tools[0]
	}
	return Reply(turns, first)
}

func openAIError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}})
	_, _ = w.Write(b)
}

func serveOpenAI(w http.ResponseWriter, r *http.Request, body []byte, fail *Failure) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		openAIError(w, http.StatusUnauthorized, "invalid_request_error", "You didn't provide an API key.")
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions":
		openAIChat(w, body, fail, defaultPolicy)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/embeddings":
		openAIEmbed(w, body)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"}]}`)
	default:
		openAIError(w, http.StatusNotFound, "invalid_request_error", "Unknown request URL: "+r.Method+" "+r.URL.Path)
	}
}

type oaMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCallID string          `json:"tool_call_id"`
}

func openAIText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

func openAIChat(w http.ResponseWriter, body []byte, fail *Failure, policy func([]Turn, []string) Answer) {
	var req struct {
		Model    string      `json:"model"`
		Messages []oaMessage `json:"messages"`
		Stream   bool        `json:"stream"`
		Tools    []struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tools"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		openAIError(w, http.StatusBadRequest, "invalid_request_error", "We could not parse the JSON body of your request.")
		return
	}
	if req.Model == "" || len(req.Messages) == 0 {
		openAIError(w, http.StatusBadRequest, "invalid_request_error", "you must provide a model parameter and messages")
		return
	}
	turns := make([]Turn, len(req.Messages))
	for i, m := range req.Messages {
		role := m.Role
		if role == "developer" {
			role = "system"
		}
		turns[i] = Turn{Role: role, Text: openAIText(m.Content)}
	}
	var tools []string
	for _, t := range req.Tools {
		tools = append(tools, t.Function.Name)
	}
	a := policy(turns, tools)
	usage := map[string]any{"prompt_tokens": a.PromptTokens, "completion_tokens": a.CompletionTokens, "total_tokens": a.PromptTokens + a.CompletionTokens}
	finish := "stop"
	if a.ToolCall != nil {
		finish = "tool_calls"
	}
	if !req.Stream {
		msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
		if a.ToolCall != nil {
			msg["tool_calls"] = []any{map[string]any{"id": a.ToolCall.ID, "type": "function", "function": map[string]any{"name": a.ToolCall.Name, "arguments": a.ToolCall.Arguments}}}
		} else {
			msg["content"] = a.Text
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish, "logprobs": nil}},
			"usage":   usage,
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	send := func(delta map[string]any, fr any) {
		b, _ := json.Marshal(map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": fr}}})
		fmt.Fprintf(w, "data: %s\n\n", b)
		Flush(w)
	}
	sent := 0
	abort := func() bool {
		if fail != nil && fail.AfterChunks > 0 && sent >= fail.AfterChunks {
			panic(http.ErrAbortHandler)
		}
		sent++
		return false
	}
	if a.ToolCall != nil {
		abort()
		send(map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"index": 0, "id": a.ToolCall.ID, "type": "function", "function": map[string]any{"name": a.ToolCall.Name, "arguments": ""}}}}, nil)
		abort()
		send(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": a.ToolCall.Arguments}}}}, nil)
	} else {
		abort()
		send(map[string]any{"role": "assistant", "content": ""}, nil)
		for _, piece := range Words(a.Text) {
			abort()
			send(map[string]any{"content": piece}, nil)
		}
	}
	send(map[string]any{}, finish)
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		b, _ := json.Marshal(map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": req.Model, "choices": []any{}, "usage": usage})
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
}

func openAIEmbed(w http.ResponseWriter, body []byte) {
	var req struct {
		Model string          `json:"model"`
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Model == "" {
		openAIError(w, http.StatusBadRequest, "invalid_request_error", "model and input are required")
		return
	}
	var inputs []string
	if err := json.Unmarshal(req.Input, &inputs); err != nil {
		var one string
		if err := json.Unmarshal(req.Input, &one); err != nil {
			openAIError(w, http.StatusBadRequest, "invalid_request_error", "input must be a string or an array of strings")
			return
		}
		inputs = []string{one}
	}
	data := make([]any, len(inputs))
	tokens := 0
	for i, t := range inputs {
		n := len(strings.Fields(t))
		tokens += n
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": []float64{float64(len(t)), float64(n), 1}}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model, "usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens}})
}
