package httpx_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
)

// chunks is a stream of texts ending with end.
type chunks struct {
	texts []string
	end   error
	read  int
}

func (c *chunks) Recv() (llm.Chunk, error) {
	if c.read == len(c.texts) {
		return llm.Chunk{}, c.end
	}
	c.read++
	return llm.Chunk{Text: c.texts[c.read-1]}, nil
}

func TestRelayChunks(t *testing.T) {
	upstream := errors.New("upstream failed")
	client := errors.New("broken pipe")
	tests := []struct {
		name         string
		end          error
		breakAt      string // write fails on this text
		wrote        []string
		read         int
		failed, gone error
	}{
		{"to the end", io.EOF, "", []string{"a", "b", "c"}, 3, nil, nil},
		{"wrapped EOF ends too", fmt.Errorf("done: %w", io.EOF), "", []string{"a", "b", "c"}, 3, nil, nil},
		{"stream fails", upstream, "", []string{"a", "b", "c"}, 3, upstream, nil},
		{"client leaves", io.EOF, "b", []string{"a", "b"}, 2, nil, client},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &chunks{texts: []string{"a", "b", "c"}, end: tt.end}
			var wrote []string
			failed, gone := httpx.RelayChunks(s, func(ch *llm.Chunk) error {
				wrote = append(wrote, ch.Text)
				if ch.Text == tt.breakAt {
					return client
				}
				return nil
			})
			if failed != tt.failed || gone != tt.gone {
				t.Errorf("RelayChunks = (%v, %v); want (%v, %v)", failed, gone, tt.failed, tt.gone)
			}
			if diff := cmp.Diff(tt.wrote, wrote); diff != "" {
				t.Errorf("written (-want +got):\n%s", diff)
			}
			if s.read != tt.read {
				t.Errorf("read %d chunks; want %d (none after the client left)", s.read, tt.read)
			}
		})
	}
}
