package anthropic

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

// decodeAll runs the stream decoder over r the way ChatStream and a caller
// would, returning every chunk and the error that ended the stream (nil for
// a clean io.EOF).
func decodeAll(r io.Reader) ([]llm.Chunk, error) {
	s := newStream(context.Background(), io.NopCloser(r))
	defer s.Close()
	var out []llm.Chunk
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
}

func usage(prompt, completion, cached int) *llm.Usage {
	return &llm.Usage{PromptTokens: prompt, CompletionTokens: completion, CachedTokens: cached}
}

// chunks stamps id and model on each chunk, as the decoder does.
func chunks(id, model string, cs ...llm.Chunk) []llm.Chunk {
	for i := range cs {
		cs[i].ID, cs[i].Model = id, model
	}
	return cs
}

func TestStreamTranscripts(t *testing.T) {
	tests := []struct {
		file    string
		want    []llm.Chunk
		wantErr *llmservice.Error // compared on Kind, Status and Message
	}{{
		file: "text.sse",
		want: chunks("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "claude-sonnet-4-5-20250929",
			llm.Chunk{Role: llm.RoleAssistant},
			llm.Chunk{Text: "Hello"},
			llm.Chunk{Text: "!"},
			llm.Chunk{FinishReason: llm.FinishStop, Usage: usage(25, 15, 0)},
		),
	}, {
		file: "tool_use.sse",
		want: chunks("msg_014p7gG3wDgGV9EUtLvnow3U", "claude-sonnet-4-5-20250929",
			llm.Chunk{Role: llm.RoleAssistant},
			llm.Chunk{Text: "Okay"},
			llm.Chunk{Text: ", let me check."},
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather"}}},
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"location":`}}},
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: ` "San Fra`}}},
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `ncisco, CA"}`}}},
			// A call without arguments gets "{}" when its block ends.
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "toolu_02", Name: "get_time"}}},
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: 1, Arguments: `{}`}}},
			llm.Chunk{FinishReason: llm.FinishToolCalls, Usage: usage(472, 89, 0)},
		),
	}, {
		// Thinking streams with its signature, unknown events and comments
		// are ignored, CRLF line ends are accepted, and message_delta's
		// cumulative input counts replace message_start's.
		file: "cache_crlf.sse",
		want: chunks("msg_01Cache", "claude-opus-4-6",
			llm.Chunk{Role: llm.RoleAssistant},
			llm.Chunk{Thinking: "Let me think.", ThinkingFamily: Family},
			llm.Chunk{Signature: "EqQBCgIYAhIM", ThinkingFamily: Family},
			llm.Chunk{Text: "Cached answer."},
			llm.Chunk{FinishReason: llm.FinishLength, Usage: &llm.Usage{PromptTokens: 6 + 1000 + 2000, CompletionTokens: 21, CachedTokens: 2000, CacheWriteTokens: 1000}},
		),
	}, {
		// Interleaved thinking: two signed blocks and a redacted one around
		// a tool call; the 1-hour cache writes come from message_delta.
		file: "thinking.sse",
		want: chunks("msg_01Think", "claude-sonnet-4-5",
			llm.Chunk{Role: llm.RoleAssistant},
			llm.Chunk{Thinking: "The user wants", ThinkingFamily: Family},
			llm.Chunk{Thinking: " the weather.", ThinkingFamily: Family},
			llm.Chunk{Signature: "WaUjzkypQ2mUEVM36O2TxuC06KN8xyfbJwyem2dw3URve/op91XWHOEBLLqIOMfFG/UvLEczmEsUjavL==", ThinkingFamily: Family},
			llm.Chunk{RedactedThinking: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP", ThinkingFamily: Family},
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "toolu_01", Name: "get_weather"}}},
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"city":"Paris"}`}}},
			llm.Chunk{FinishReason: llm.FinishToolCalls, Usage: &llm.Usage{PromptTokens: 12 + 500 + 300, CompletionTokens: 80, CachedTokens: 300, CacheWriteTokens: 200, CacheWrite1hTokens: 300}},
		),
	}, {
		file: "error.sse",
		want: chunks("msg_01Err", "claude-haiku-4-5",
			llm.Chunk{Role: llm.RoleAssistant},
			llm.Chunk{Text: "Partial"},
		),
		wantErr: &llmservice.Error{Kind: llmservice.Upstream, Status: 529, Message: "upstream error: Overloaded"},
	}, {
		file: "truncated.sse",
		want: chunks("msg_01Cut", "claude-haiku-4-5",
			llm.Chunk{Role: llm.RoleAssistant},
			llm.Chunk{Text: "Cut"},
		),
		wantErr: &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream stream ended before the message was complete"},
	}, {
		// message_delta carried everything; a lost message_stop loses nothing.
		file: "no_message_stop.sse",
		want: chunks("msg_01NoStop", "claude-haiku-4-5",
			llm.Chunk{Role: llm.RoleAssistant},
			llm.Chunk{Text: "Done"},
			llm.Chunk{FinishReason: llm.FinishStop, Usage: usage(3, 2, 0)},
		),
	}}
	for _, tt := range tests {
		data, err := os.ReadFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range []struct {
			name string
			r    func() io.Reader
		}{
			{"whole", func() io.Reader { return bytes.NewReader(data) }},
			{"byte by byte", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) }},
		} {
			t.Run(tt.file+"/"+mode.name, func(t *testing.T) {
				got, err := decodeAll(mode.r())
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("chunks mismatch (-want +got):\n%s", diff)
				}
				checkErr(t, err, tt.wantErr)
			})
		}
	}
}

// checkErr compares an error's kind, status and message with want; want nil
// means no error.
func checkErr(t *testing.T, err error, want *llmservice.Error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("error = %v; want none", err)
		}
		return
	}
	var e *llmservice.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T); want *llmservice.Error", err, err)
	}
	got := llmservice.Error{Kind: e.Kind, Status: e.Status, Message: e.Message, Param: e.Param, RetryAfter: e.RetryAfter, Code: e.Code}
	if diff := cmp.Diff(*want, got); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
}

func TestStreamAfterEndKeepsReturningEOF(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "text.sse"))
	if err != nil {
		t.Fatal(err)
	}
	s := newStream(context.Background(), io.NopCloser(bytes.NewReader(data)))
	for {
		if _, err := s.Recv(); err != nil {
			break
		}
	}
	for range 2 {
		if _, err := s.Recv(); !errors.Is(err, io.EOF) {
			t.Fatalf("Recv after the end = %v; want io.EOF", err)
		}
	}
}

func TestStreamBadEvent(t *testing.T) {
	_, err := decodeAll(bytes.NewReader([]byte("event: message_start\ndata: {not json\n\n")))
	checkErr(t, err, &llmservice.Error{Kind: llmservice.Upstream, Code: upstream.CodeUnreadable, Message: "The upstream's answer was unreadable: its stream event is not valid JSON"})
}

// FuzzStream feeds arbitrary bytes to the decoder: it may fail, but it must
// not panic or loop.
func FuzzStream(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.sse"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"index\":-1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"x\"}}\n\n"))
	f.Add([]byte("event: error\ndata: {}\n\n"))
	f.Add([]byte("data: null\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newStream(context.Background(), io.NopCloser(bytes.NewReader(b)))
		// Each chunk needs at least one event, and each event a byte.
		for range len(b) + 2 {
			c, err := s.Recv()
			if err != nil {
				return
			}
			if c.FinishReason != "" && c.Usage == nil {
				t.Fatalf("final chunk without usage: %+v", c)
			}
		}
		t.Fatalf("stream of %d bytes still yielding chunks", len(b))
	})
}
