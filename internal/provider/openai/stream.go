package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"io"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

var done = []byte("[DONE]")

// stream decodes OpenAI's SSE chunks
// (https://platform.openai.com/docs/api-reference/chat-streaming).
type stream struct {
	ctx     context.Context
	body    io.ReadCloser
	sse     *upstream.SSEReader
	pending []llm.Chunk
	ended   bool
}

func newStream(ctx context.Context, body io.ReadCloser) *stream {
	return &stream{ctx: ctx, body: body, sse: upstream.NewSSEReader(body)}
}

func (s *stream) Recv() (llm.Chunk, error) {
	for len(s.pending) == 0 {
		if s.ended {
			return llm.Chunk{}, io.EOF
		}
		ev, err := s.sse.Next()
		if err == io.EOF {
			// Some compatible servers end without [DONE].
			s.ended = true
			continue
		}
		if err != nil {
			return llm.Chunk{}, upstream.ReadError(s.ctx, err)
		}
		data := bytes.TrimSpace(ev.Data)
		if bytes.Equal(data, done) {
			s.ended = true
			continue
		}
		var c struct {
			wire.ChatChunk
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(data, &c); err != nil {
			return llm.Chunk{}, upstream.Unreadable("stream chunk", err)
		}
		if c.Error != nil {
			return llm.Chunk{}, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream error: " + c.Error.Message}
		}
		s.pending = wire.ChunkToLLM(&c.ChatChunk, s.pending[:0])
	}
	ch := s.pending[0]
	s.pending = s.pending[1:]
	return ch, nil
}

func (s *stream) Close() error { return s.body.Close() }
