package ollama

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	ollamawire "github.com/llmservice/llmservice/internal/wire/ollama"
)

// stream decodes Ollama's NDJSON chat stream
// (https://docs.ollama.com/api/streaming): one JSON object per line, each
// with a piece of message.content, the last with done:true, done_reason and
// the token counts. One line may become several chunks (a tool call is two),
// so the decoder keeps a queue. It is not safe for concurrent use.
type stream struct {
	// ctx is the request's context, kept only to tell a cancelled or timed
	// out read from a broken upstream when a read fails.
	ctx     context.Context
	body    io.ReadCloser
	lines   *upstream.LineReader
	pending []llm.Chunk
	err     error // returned once pending is drained; io.EOF after done
	started bool  // the first chunk (which carries the role) was queued
	calls   int   // tool calls seen so far, for their indexes and IDs
	done    bool
}

var _ llm.Stream = (*stream)(nil)

func newStream(ctx context.Context, body io.ReadCloser) *stream {
	return &stream{ctx: ctx, body: body, lines: upstream.NewLineReader(body)}
}

// Recv returns the next chunk, io.EOF after the final one, or an
// *llmservice.Error when upstream fails or the stream is cut short.
func (s *stream) Recv() (llm.Chunk, error) {
	for len(s.pending) == 0 {
		if s.err != nil {
			return llm.Chunk{}, s.err
		}
		s.err = s.decodeLine()
	}
	c := s.pending[0]
	s.pending = s.pending[1:]
	return c, nil
}

// Close closes the upstream body, which also stops a stream not read to the end.
func (s *stream) Close() error { return s.body.Close() }

// prime decodes lines until the first chunk is queued, so that an error
// Ollama reports as the first line reaches ChatStream's caller, who may
// still retry or fall back.
func (s *stream) prime() error {
	for len(s.pending) == 0 {
		if err := s.decodeLine(); err != nil {
			return err
		}
	}
	return nil
}

// decodeLine reads one line and queues its chunks.
func (s *stream) decodeLine() error {
	if s.done {
		return io.EOF
	}
	line, err := s.lines.Next()
	if errors.Is(err, io.EOF) {
		// The final line carries the usage the gateway bills from, so a
		// stream that ends without it is broken, not finished.
		return &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream stream ended before its final message", Code: "upstream_stream_truncated"}
	}
	if err != nil {
		return upstream.ReadError(s.ctx, err)
	}
	var r ollamawire.ChatResponse
	if err := json.Unmarshal(line, &r); err != nil {
		return upstream.Unreadable("stream line", err)
	}
	if r.Error != "" {
		return streamError(r.Error)
	}
	s.queueLine(&r)
	return nil
}

func (s *stream) queueLine(r *ollamawire.ChatResponse) {
	if r.Message.Thinking != "" {
		s.queue(r, llm.Chunk{Thinking: r.Message.Thinking, ThinkingFamily: Family})
	}
	if r.Message.Content != "" {
		s.queue(r, llm.Chunk{Text: r.Message.Content})
	}
	// Ollama sends each tool call whole, arguments included, in one line.
	// Clients expect OpenAI's order: a first fragment naming the call, then
	// the argument text.
	for _, tc := range r.Message.ToolCalls {
		call := toolCallFromWire(s.calls, tc)
		s.queue(r, llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: s.calls, ID: call.ID, Name: call.Name}}})
		s.queue(r, llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: s.calls, Arguments: call.Arguments}}})
		s.calls++
	}
	if r.Done {
		u := usageFromWire(&r.Metrics)
		s.queue(r, llm.Chunk{FinishReason: finishFromWire(r.DoneReason, s.calls > 0), Usage: &u})
		s.done = true
	}
}

func (s *stream) queue(r *ollamawire.ChatResponse, c llm.Chunk) {
	c.Model = r.Model
	if !s.started {
		c.Role = llm.RoleAssistant
		s.started = true
	}
	s.pending = append(s.pending, c)
}
