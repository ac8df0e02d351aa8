package providertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	wire "github.com/llmservice/llmservice/internal/wire/anthropic"
)

// NewAnthropic starts a fake that speaks Anthropic's Messages API at
// POST /v1/messages, requiring the x-api-key (any value) and
// anthropic-version headers. Point an adapter at fake.URL (no /v1).
//
// Beyond the package policy it honours max_tokens: a text answer longer than
// max_tokens words is cut there with stop_reason "max_tokens". It also
// speaks extended thinking and prompt caching (see anthropic_thinking.go).
func NewAnthropic(tb testing.TB) *Fake {
	cache := &promptCache{seen: map[string]bool{}}
	return New(tb, func(w http.ResponseWriter, r *http.Request, body []byte, fail *Failure) {
		serveAnthropic(w, r, body, fail, cache)
	})
}

// anthropicError writes the API's error body.
// https://platform.claude.com/docs/en/api/errors
func anthropicError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(wire.ErrorResponse{
		Type:      "error",
		Error:     wire.ErrorDetail{Type: typ, Message: msg},
		RequestID: "req_fake",
	})
}

func serveAnthropic(w http.ResponseWriter, r *http.Request, body []byte, fail *Failure, cache *promptCache) {
	if r.Header.Get("x-api-key") == "" {
		anthropicError(w, http.StatusUnauthorized, wire.ErrAuthentication, "x-api-key header is required")
		return
	}
	if r.Header.Get("anthropic-version") == "" {
		anthropicError(w, http.StatusBadRequest, wire.ErrInvalidRequest, "anthropic-version: header is required")
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		anthropicError(w, http.StatusNotFound, wire.ErrNotFound, "Not Found")
		return
	}
	req, msg := parseAnthropic(body)
	if msg == "" {
		msg = checkThinking(req)
	}
	if msg != "" {
		anthropicError(w, http.StatusBadRequest, wire.ErrInvalidRequest, msg)
		return
	}
	th := thinkingFor(req)
	usage := cache.usage(req)
	first := ""
	if len(req.Tools) > 0 {
		first = req.Tools[0].Name
	}
	a := Reply(anthropicTurns(req), first)
	stop := wire.StopEndTurn
	if a.ToolCall != nil {
		stop = wire.StopToolUse
	} else if words := strings.Fields(a.Text); len(words) > req.MaxTokens {
		a.Text = strings.Join(words[:req.MaxTokens], " ")
		a.CompletionTokens = req.MaxTokens
		stop = wire.StopMaxTokens
	}
	if fail != nil && !req.Stream {
		// A mid-stream failure queued for a plain request: break the
		// connection without answering.
		panic(http.ErrAbortHandler)
	}
	usage.InputTokens = max(a.PromptTokens-usage.CacheReadInputTokens-usage.CacheCreationInputTokens, 0)
	usage.OutputTokens = a.CompletionTokens + th.tokens()
	if req.Stream {
		streamAnthropic(w, req.Model, a, stop, th, usage, fail)
		return
	}
	m := wire.Message{
		ID: "msg_fake", Type: "message", Role: wire.RoleAssistant, Model: req.Model,
		StopReason: stop,
		Usage:      usage,
	}
	m.Content = th.blocks()
	if a.ToolCall != nil {
		m.Content = append(m.Content, wire.ContentBlock{Type: wire.BlockToolUse, ID: a.ToolCall.ID, Name: a.ToolCall.Name, Input: json.RawMessage(a.ToolCall.Arguments)})
	} else {
		m.Content = append(m.Content, wire.ContentBlock{Type: wire.BlockText, Text: a.Text})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(m)
}

// parseAnthropic decodes and validates a request the way the API does for
// the fields the fake relies on, returning the API's message on failure.
func parseAnthropic(body []byte) (*wire.MessagesRequest, string) {
	var present map[string]json.RawMessage
	if err := json.Unmarshal(body, &present); err != nil {
		return nil, "There was an error parsing the body of your request"
	}
	for _, f := range []string{"model", "max_tokens", "messages"} {
		if _, ok := present[f]; !ok {
			return nil, f + ": Field required"
		}
	}
	var req wire.MessagesRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, "invalid request: " + err.Error()
	}
	switch {
	case req.Model == "":
		return nil, "model: String should have at least 1 character"
	case req.MaxTokens < 1:
		return nil, "max_tokens: Input should be greater than or equal to 1"
	case len(req.Messages) == 0:
		return nil, "messages: at least one message is required"
	}
	for i, m := range req.Messages {
		if m.Role != wire.RoleUser && m.Role != wire.RoleAssistant {
			return nil, fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
	}
	return &req, ""
}

// anthropicTurns maps the request to Reply's turns: the system prompt, then
// each turn's tool results (as tool turns) before its text.
func anthropicTurns(req *wire.MessagesRequest) []Turn {
	var turns []Turn
	if len(req.System) > 0 {
		turns = append(turns, Turn{Role: "system", Text: req.System.Text()})
	}
	for _, m := range req.Messages {
		var text strings.Builder
		for _, b := range m.Content {
			switch b.Type {
			case wire.BlockToolResult:
				turns = append(turns, Turn{Role: "tool", Text: b.Content.Text()})
			case wire.BlockText:
				text.WriteString(b.Text)
			}
		}
		if text.Len() > 0 || m.Role == wire.RoleAssistant {
			turns = append(turns, Turn{Role: m.Role, Text: text.String()})
		}
	}
	return turns
}

// streamAnthropic sends the answer in the API's framing: message_start,
// one content block (text or tool_use) with a ping after its start, its
// deltas, message_delta with the stop reason and output usage, message_stop.
// Each delta counts as one chunk for fail.AfterChunks.
// https://platform.claude.com/docs/en/build-with-claude/streaming
func streamAnthropic(w http.ResponseWriter, model string, a Answer, stop string, th fakeThinking, usage wire.Usage, fail *Failure) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	send := func(name string, v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
		Flush(w)
	}
	send(wire.EventMessageStart, wire.MessageStartEvent{Type: wire.EventMessageStart, Message: wire.Message{
		ID: "msg_fake", Type: "message", Role: wire.RoleAssistant, Model: model, Content: []wire.ContentBlock{},
		Usage: wire.Usage{InputTokens: usage.InputTokens, OutputTokens: 1, CacheCreationInputTokens: usage.CacheCreationInputTokens,
			CacheReadInputTokens: usage.CacheReadInputTokens, CacheCreation: usage.CacheCreation},
	}})
	index := th.stream(send)
	block := wire.ContentBlock{Type: wire.BlockText}
	var deltas []wire.Delta
	if tc := a.ToolCall; tc != nil {
		block = wire.ContentBlock{Type: wire.BlockToolUse, ID: tc.ID, Name: tc.Name, Input: json.RawMessage("{}")}
		// Like the API, start with an empty fragment, then pieces that
		// split the JSON anywhere.
		deltas = append(deltas, wire.Delta{Type: wire.DeltaInputJSON})
		for _, p := range runePieces(tc.Arguments, 8) {
			deltas = append(deltas, wire.Delta{Type: wire.DeltaInputJSON, PartialJSON: p})
		}
	} else {
		for _, p := range Words(a.Text) {
			deltas = append(deltas, wire.Delta{Type: wire.DeltaText, Text: p})
		}
	}
	send(wire.EventContentBlockStart, wire.ContentBlockStartEvent{Type: wire.EventContentBlockStart, Index: index, ContentBlock: block})
	send(wire.EventPing, wire.TypeOnlyEvent{Type: wire.EventPing})
	for i, d := range deltas {
		if fail != nil && i >= fail.AfterChunks {
			panic(http.ErrAbortHandler)
		}
		send(wire.EventContentBlockDelta, wire.ContentBlockDeltaEvent{Type: wire.EventContentBlockDelta, Index: index, Delta: d})
	}
	if fail != nil {
		panic(http.ErrAbortHandler)
	}
	send(wire.EventContentBlockStop, wire.ContentBlockStopEvent{Type: wire.EventContentBlockStop, Index: index})
	send(wire.EventMessageDelta, wire.MessageDeltaEvent{Type: wire.EventMessageDelta,
		Delta: wire.Delta{StopReason: stop}, Usage: wire.DeltaUsage{OutputTokens: usage.OutputTokens,
			InputTokens: &usage.InputTokens, CacheCreationInputTokens: &usage.CacheCreationInputTokens,
			CacheReadInputTokens: &usage.CacheReadInputTokens, CacheCreation: usage.CacheCreation}})
	send(wire.EventMessageStop, wire.TypeOnlyEvent{Type: wire.EventMessageStop})
}

// runePieces splits s into pieces of at most n runes, so that no piece cuts
// a UTF-8 sequence.
func runePieces(s string, n int) []string {
	var out []string
	rs := []rune(s)
	for len(rs) > 0 {
		k := min(n, len(rs))
		out = append(out, string(rs[:k]))
		rs = rs[k:]
	}
	return out
}
