package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	wire "github.com/llmservice/llmservice/internal/wire/anthropic"
)

// stream decodes a Messages API event stream into chunks, one event at a
// time, on the caller's goroutine. It is not safe for concurrent use.
//
// Anthropic streams content blocks by index: a text block's text_delta
// fragments become Chunk.Text; a tool_use block becomes one tool call whose
// first fragment carries the ID and name and whose input_json_delta fragments
// become its arguments; a thinking block's thinking_delta fragments become
// Chunk.Thinking and its signature_delta Chunk.Signature, which closes it; a
// redacted_thinking block is one Chunk.RedactedThinking. Usage and the stop
// reason arrive at the end, and are sent together in the last chunk.
// https://platform.claude.com/docs/en/build-with-claude/streaming
type stream struct {
	// ctx is the request's context, kept only to tell a cancelled read from
	// a broken upstream; the body read itself already obeys it.
	ctx  context.Context
	body io.ReadCloser
	sse  *upstream.SSEReader

	id, model string
	usage     wire.Usage // raw counts, converted in the final chunk
	finish    string
	// tools maps a content block index to its tool call; nTools numbers the
	// calls from 0 the way OpenAI indexes tool_calls.
	tools  map[int]*toolCall
	nTools int
	// delivered is set once a chunk has reached the caller: from then on an
	// error event is a mid-stream failure rather than a refused request.
	delivered bool
	// ended is set when the final chunk has been queued.
	ended           bool
	sawMessageDelta bool // usage and stop reason are final

	pending []llm.Chunk
	err     error // sticky: io.EOF after the end, or the failure
}

type toolCall struct {
	index   int
	hasArgs bool
}

func newStream(ctx context.Context, body io.ReadCloser) *stream {
	return &stream{ctx: ctx, body: body, sse: upstream.NewSSEReader(body), tools: map[int]*toolCall{}}
}

// Recv returns the next chunk, or io.EOF after the last one.
func (s *stream) Recv() (llm.Chunk, error) {
	if err := s.fill(); err != nil {
		return llm.Chunk{}, err
	}
	c := s.pending[0]
	s.pending = s.pending[1:]
	s.delivered = true
	return c, nil
}

// fill reads events until a chunk is pending or the stream is over.
func (s *stream) fill() error {
	for len(s.pending) == 0 {
		if s.err != nil {
			return s.err
		}
		s.err = s.step()
	}
	return nil
}

// Close releases the connection; the body may still hold unread events.
func (s *stream) Close() error {
	return s.body.Close()
}

// step reads one event and queues the chunks it yields. It returns nil to go
// on, io.EOF at the end, or the error that ends the stream.
func (s *stream) step() error {
	if s.ended {
		return io.EOF
	}
	ev, err := s.sse.Next()
	if errors.Is(err, io.EOF) {
		if s.sawMessageDelta {
			// message_stop carries nothing: once message_delta has given the
			// stop reason and usage, the answer is whole without it.
			s.end()
			return nil
		}
		return &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream stream ended before the message was complete"}
	}
	if err != nil {
		return upstream.ReadError(s.ctx, err)
	}
	var e wire.StreamEvent
	if err := json.Unmarshal(ev.Data, &e); err != nil {
		return upstream.Unreadable("stream event", err)
	}
	typ := e.Type
	if typ == "" {
		typ = ev.Name
	}
	switch typ {
	case wire.EventMessageStart:
		if m := e.Message; m != nil {
			s.id, s.model = m.ID, m.Model
			s.usage = m.Usage
		}
		s.push(llm.Chunk{Role: llm.RoleAssistant})
	case wire.EventContentBlockStart:
		s.blockStart(e.Index, e.ContentBlock)
	case wire.EventContentBlockDelta:
		s.blockDelta(e.Index, e.Delta)
	case wire.EventContentBlockStop:
		// A call whose input streamed no fragment (a tool without
		// parameters) still needs arguments a client can parse.
		if tc := s.tools[e.Index]; tc != nil && !tc.hasArgs {
			tc.hasArgs = true
			s.push(llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: tc.index, Arguments: "{}"}}})
		}
	case wire.EventMessageDelta:
		if e.Delta != nil && e.Delta.StopReason != "" {
			s.finish = finishReason(e.Delta.StopReason)
		}
		if u := e.Usage; u != nil {
			s.mergeUsage(u)
		}
		s.sawMessageDelta = true
	case wire.EventMessageStop:
		s.end()
	case wire.EventError:
		return s.eventError(ev.Data, e.Error)
	}
	// ping, and event types added after this was written, carry nothing.
	return nil
}

func (s *stream) blockStart(index int, b *wire.ContentBlock) {
	if b == nil {
		return
	}
	switch b.Type {
	case wire.BlockText:
		if b.Text != "" {
			s.push(llm.Chunk{Text: b.Text})
		}
	case wire.BlockToolUse:
		tc := &toolCall{index: s.nTools}
		s.nTools++
		s.tools[index] = tc
		s.push(llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: tc.index, ID: b.ID, Name: b.Name}}})
	case wire.BlockThinking:
		// The start carries empty thinking and signature; should the API
		// ever send either here, it is not lost.
		if b.Thinking != "" || b.Signature != "" {
			s.push(llm.Chunk{Thinking: b.Thinking, Signature: b.Signature, ThinkingFamily: Family})
		}
	case wire.BlockRedactedThinking:
		s.push(llm.Chunk{RedactedThinking: b.Data, ThinkingFamily: Family})
	}
	// server tool blocks have no canonical form.
}

func (s *stream) blockDelta(index int, d *wire.Delta) {
	if d == nil {
		return
	}
	switch d.Type {
	case wire.DeltaText:
		if d.Text != "" {
			s.push(llm.Chunk{Text: d.Text})
		}
	case wire.DeltaThinking:
		if d.Thinking != "" {
			s.push(llm.Chunk{Thinking: d.Thinking, ThinkingFamily: Family})
		}
	case wire.DeltaSignature:
		s.push(llm.Chunk{Signature: d.Signature, ThinkingFamily: Family})
	case wire.DeltaInputJSON:
		// The first fragment is often "": skip it, so that a call without
		// arguments is still recognised at content_block_stop.
		if tc := s.tools[index]; tc != nil && d.PartialJSON != "" {
			tc.hasArgs = true
			s.push(llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: tc.index, Arguments: d.PartialJSON}}})
		}
	}
}

// mergeUsage applies message_delta's cumulative counts. Output always comes
// from here; input counts only when this API version reports them.
func (s *stream) mergeUsage(u *wire.DeltaUsage) {
	s.usage.OutputTokens = u.OutputTokens
	if u.InputTokens != nil {
		s.usage.InputTokens = *u.InputTokens
	}
	if u.CacheCreationInputTokens != nil {
		s.usage.CacheCreationInputTokens = *u.CacheCreationInputTokens
	}
	if u.CacheReadInputTokens != nil {
		s.usage.CacheReadInputTokens = *u.CacheReadInputTokens
	}
	if u.CacheCreation != nil {
		s.usage.CacheCreation = u.CacheCreation
	}
}

// end queues the final chunk: the finish reason and, always, the usage, which
// the gateway bills from.
func (s *stream) end() {
	finish := s.finish
	if finish == "" {
		finish = llm.FinishStop
	}
	u := toUsage(&s.usage)
	s.push(llm.Chunk{FinishReason: finish, Usage: &u})
	s.ended = true
}

func (s *stream) push(c llm.Chunk) {
	c.ID, c.Model = s.id, s.model
	s.pending = append(s.pending, c)
}

// eventError turns an error event into an error. Before any chunk has been
// delivered it is classified like the HTTP error of the same type, so the
// gateway may still retry an overloaded upstream; after, it is a mid-stream
// upstream failure.
func (s *stream) eventError(data []byte, d *wire.ErrorDetail) error {
	var typ, msg string
	if d != nil {
		typ, msg = d.Type, d.Message
	}
	status := errorStatus(typ)
	if !s.delivered {
		return upstream.StatusError(status, nil, data)
	}
	if msg == "" {
		msg = "stream failed"
	}
	return &llmservice.Error{Kind: llmservice.Upstream, Status: status, Message: "upstream error: " + msg}
}
