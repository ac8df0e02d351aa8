package anthropic

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
)

// The response shapes of the translation lane.
// https://platform.claude.com/docs/en/api/messages/create (response)

type outMessage struct {
	ID           string     `json:"id"`
	Type         string     `json:"type"`
	Role         string     `json:"role"`
	Model        string     `json:"model"`
	Content      []outBlock `json:"content"`
	StopReason   *string    `json:"stop_reason"`
	StopSequence *string    `json:"stop_sequence"`
	Usage        outUsage   `json:"usage"`
}

// outBlock is a content block; every field but Type is a pointer or
// omitted so that each type carries exactly its own fields, empty text
// included ({"type":"text","text":""} opens a streamed text block).
type outBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text,omitempty"`
	Thinking  *string         `json:"thinking,omitempty"`
	Signature *string         `json:"signature,omitempty"`
	Data      string          `json:"data,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
}

// outUsage follows Anthropic's accounting: input_tokens excludes the
// prompt tokens read from or written to the cache.
type outUsage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

func usageFromLLM(u llm.Usage) outUsage {
	write := u.CacheWriteTokens + u.CacheWrite1hTokens
	return outUsage{
		InputTokens:              max(0, u.PromptTokens-u.CachedTokens-write),
		CacheCreationInputTokens: write,
		CacheReadInputTokens:     u.CachedTokens,
		OutputTokens:             u.CompletionTokens,
	}
}

// stopReason maps a canonical finish reason to Anthropic's.
func stopReason(finish string) string {
	switch finish {
	case llm.FinishLength:
		return "max_tokens"
	case llm.FinishToolCalls:
		return "tool_use"
	case llm.FinishContentFilter:
		return "refusal"
	}
	return "end_turn"
}

func ptr[T any](v T) *T { return &v }

// toolInput is a call's arguments as the JSON object tool_use.input must
// be; arguments that are not one (a model's broken JSON) become {}.
func toolInput(args string) json.RawMessage {
	b := bytes.TrimSpace([]byte(args))
	if len(b) > 0 && b[0] == '{' && json.Valid(b) {
		return b
	}
	return json.RawMessage("{}")
}

// messageFromLLM encodes a translated non-streaming answer: thinking,
// text, then one tool_use block per call, the order the API answers in.
func messageFromLLM(res *gateway.Result, model string) *outMessage {
	m := &outMessage{ID: gateway.NewID("msg_"), Type: "message", Role: "assistant", Model: model, Content: []outBlock{}}
	finish := llm.FinishStop
	if len(res.Response.Choices) > 0 {
		c := res.Response.Choices[0]
		finish = c.FinishReason
		for _, p := range c.Message.Content {
			switch p.Type {
			case llm.PartThinking:
				m.Content = append(m.Content, outBlock{Type: "thinking", Thinking: ptr(p.Text), Signature: ptr(p.Signature)})
			case llm.PartRedactedThinking:
				m.Content = append(m.Content, outBlock{Type: "redacted_thinking", Data: p.Data})
			case llm.PartText:
				if p.Text != "" {
					m.Content = append(m.Content, outBlock{Type: "text", Text: ptr(p.Text)})
				}
			}
		}
		for _, tc := range c.Message.ToolCalls {
			m.Content = append(m.Content, outBlock{Type: "tool_use", ID: toolID(tc.ID), Name: tc.Name, Input: toolInput(tc.Arguments)})
		}
		if len(c.Message.ToolCalls) > 0 {
			finish = llm.FinishToolCalls
		}
	}
	m.StopReason = ptr(stopReason(finish))
	m.Usage = usageFromLLM(res.Usage)
	return m
}

// toolID gives a call without an id (Gemini's, Ollama's) one, since the
// client must quote it back in its tool_result.
func toolID(id string) string {
	if id == "" {
		return gateway.NewID("toolu_")
	}
	return id
}

// Stream event shapes.
type (
	evMessageStart struct {
		Type    string     `json:"type"`
		Message outMessage `json:"message"`
	}
	evBlockStart struct {
		Type         string   `json:"type"`
		Index        int      `json:"index"`
		ContentBlock outBlock `json:"content_block"`
	}
	evBlockDelta struct {
		Type  string   `json:"type"`
		Index int      `json:"index"`
		Delta outDelta `json:"delta"`
	}
	evBlockStop struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
	}
	evMessageDelta struct {
		Type  string   `json:"type"`
		Delta evStop   `json:"delta"`
		Usage outUsage `json:"usage"`
	}
	evStop struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	}
	evType struct {
		Type string `json:"type"`
	}
)

type outDelta struct {
	Type        string  `json:"type"`
	Text        *string `json:"text,omitempty"`
	Thinking    *string `json:"thinking,omitempty"`
	Signature   *string `json:"signature,omitempty"`
	PartialJSON *string `json:"partial_json,omitempty"`
}

// Block kinds of the stream encoder.
const (
	kindNone = iota
	kindText
	kindThinking
	kindTool
)

// streamEncoder turns canonical chunks into a Messages event stream: one
// content_block_start / delta / stop sequence per block, indexes counted
// from 0 and never reused, a new block whenever the kind of content (or
// the tool call) changes. Tool input goes only as input_json_delta, the
// one place Claude Code reads it from.
type streamEncoder struct {
	w      http.ResponseWriter
	index  int // of the open block; -1 before the first
	kind   int
	tool   int  // the canonical index of the open tool call
	toolIn bool // the open tool block has had input
	finish string
	err    error
}

func (e *streamEncoder) send(name string, v any) {
	if e.err != nil {
		return
	}
	b, _ := json.Marshal(v)
	e.err = httpx.SSEEvent(e.w, name, b)
}

func (e *streamEncoder) open(kind int, b outBlock) {
	e.close()
	e.index++
	e.kind = kind
	e.send("content_block_start", evBlockStart{Type: "content_block_start", Index: e.index, ContentBlock: b})
}

func (e *streamEncoder) close() {
	if e.kind == kindNone {
		return
	}
	if e.kind == kindTool && !e.toolIn {
		e.delta(outDelta{Type: "input_json_delta", PartialJSON: ptr("{}")})
	}
	e.send("content_block_stop", evBlockStop{Type: "content_block_stop", Index: e.index})
	e.kind, e.toolIn = kindNone, false
}

func (e *streamEncoder) delta(d outDelta) {
	e.send("content_block_delta", evBlockDelta{Type: "content_block_delta", Index: e.index, Delta: d})
}

// chunk encodes one canonical chunk.
func (e *streamEncoder) chunk(ch *llm.Chunk) {
	if ch.Thinking != "" || ch.Signature != "" {
		if e.kind != kindThinking {
			e.open(kindThinking, outBlock{Type: "thinking", Thinking: ptr(""), Signature: ptr("")})
		}
		if ch.Thinking != "" {
			e.delta(outDelta{Type: "thinking_delta", Thinking: ptr(ch.Thinking)})
		}
		if ch.Signature != "" {
			e.delta(outDelta{Type: "signature_delta", Signature: ptr(ch.Signature)})
		}
	}
	if ch.RedactedThinking != "" {
		e.open(kindNone, outBlock{Type: "redacted_thinking", Data: ch.RedactedThinking})
		e.send("content_block_stop", evBlockStop{Type: "content_block_stop", Index: e.index})
	}
	if ch.Text != "" {
		if e.kind != kindText {
			e.open(kindText, outBlock{Type: "text", Text: ptr("")})
		}
		e.delta(outDelta{Type: "text_delta", Text: ptr(ch.Text)})
	}
	for _, tc := range ch.ToolCalls {
		if e.kind != kindTool || e.tool != tc.Index {
			e.open(kindTool, outBlock{Type: "tool_use", ID: toolID(tc.ID), Name: tc.Name, Input: json.RawMessage("{}")})
			e.tool = tc.Index
		}
		if tc.Arguments != "" {
			e.toolIn = true
			e.delta(outDelta{Type: "input_json_delta", PartialJSON: ptr(tc.Arguments)})
		}
	}
	if ch.FinishReason != "" {
		e.finish = ch.FinishReason
	}
}

// streamMessages writes a translated stream and settles it.
func streamMessages(w http.ResponseWriter, s *gateway.StreamResult, model string) error {
	defer s.Close()
	httpx.StartSSE(w)
	e := &streamEncoder{w: w, index: -1}
	start := outMessage{ID: gateway.NewID("msg_"), Type: "message", Role: "assistant", Model: model, Content: []outBlock{},
		Usage: usageFromLLM(gateway.StreamUsage(s))}
	start.Usage.OutputTokens = 1
	e.send("message_start", evMessageStart{Type: "message_start", Message: start})
	e.send("ping", evType{Type: "ping"})
	sawTool := false
	failed, gone := httpx.RelayChunks(s, func(ch *llm.Chunk) error {
		if len(ch.ToolCalls) > 0 {
			sawTool = true
		}
		e.chunk(ch)
		return e.err
	})
	if failed != nil {
		e.close()
		e.send("error", json.RawMessage(errorEvent(failed)))
		return nil
	}
	if gone != nil {
		return nil // client went away; Close settles the call
	}
	e.close()
	finish := e.finish
	if sawTool && finish == llm.FinishStop {
		finish = llm.FinishToolCalls
	}
	e.send("message_delta", evMessageDelta{Type: "message_delta", Delta: evStop{StopReason: stopReason(finish)},
		Usage: usageFromLLM(gateway.StreamUsage(s))})
	e.send("message_stop", evType{Type: "message_stop"})
	return nil
}
