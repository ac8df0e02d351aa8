package httpx

import (
	"errors"
	"io"

	"github.com/llmservice/llmservice/internal/llm"
)

// ChunkSource is the receiving half of a stream (llm.Stream,
// gateway.StreamResult).
type ChunkSource interface {
	Recv() (llm.Chunk, error)
}

// RelayChunks is the loop every dialect that writes a stream runs: it passes each
// chunk of s to write, in order, until the stream ends (both results nil),
// the stream fails (failed is its error; nothing was passed for it) or
// write fails (gone is write's error: the client went away, and the rest
// of the stream is not read). What a chunk becomes on the wire, and what a
// failure or the end writes, stay with the dialect.
func RelayChunks(s ChunkSource, write func(*llm.Chunk) error) (failed, gone error) {
	for {
		ch, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			return err, nil
		}
		if err := write(&ch); err != nil {
			return nil, err
		}
	}
}
