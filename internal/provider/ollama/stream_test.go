package ollama

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
)

func usage(p, c int) *llm.Usage { return &llm.Usage{PromptTokens: p, CompletionTokens: c} }

// streamCases are recorded Ollama /api/chat streams (testdata/*.ndjson) and
// the chunks they must decode to, followed by the error Recv ends with.
var streamCases = []struct {
	file    string
	want    []llm.Chunk
	wantErr string // the Upstream error's Message; "" means io.EOF
}{
	{
		file: "text.ndjson",
		want: []llm.Chunk{
			{Model: "llama3.2", Role: "assistant", Text: "The"},
			{Model: "llama3.2", Text: " sky"},
			{Model: "llama3.2", Text: " is blue."},
			{Model: "llama3.2", FinishReason: "stop", Usage: usage(26, 4)},
		},
	},
	{
		file: "tool_call.ndjson",
		want: []llm.Chunk{
			{Model: "qwen3", Role: "assistant", ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_1", Name: "get_weather"}}},
			{Model: "qwen3", ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"city":"Paris","unit":"celsius"}`}}},
			{Model: "qwen3", ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "call_upstream7", Name: "get_time"}}},
			{Model: "qwen3", ToolCalls: []llm.ToolCallDelta{{Index: 1, Arguments: `{}`}}},
			{Model: "qwen3", FinishReason: "tool_calls", Usage: usage(180, 31)},
		},
	},
	{
		// CRLF line ends, a blank line, and text on the final line.
		file: "length_crlf.ndjson",
		want: []llm.Chunk{
			{Model: "gemma3", Role: "assistant", Text: "That"},
			{Model: "gemma3", Text: " is"},
			{Model: "gemma3", FinishReason: "length", Usage: usage(12, 2)},
		},
	},
	{
		// Reasoning streams as thinking chunks of the ollama family.
		file: "thinking.ndjson",
		want: []llm.Chunk{
			{Model: "qwen3", Role: "assistant", Thinking: "The user says hi.", ThinkingFamily: "ollama"},
			{Model: "qwen3", Text: "Hello"},
			{Model: "qwen3", Text: "!"},
			{Model: "qwen3", FinishReason: "stop", Usage: usage(9, 12)},
		},
	},
	{
		file: "midstream_error.ndjson",
		want: []llm.Chunk{
			{Model: "gemma3", Role: "assistant", Text: " Yes"},
			{Model: "gemma3", Text: "."},
		},
		wantErr: "upstream error: an error was encountered while running the model",
	},
	{
		file: "truncated.ndjson",
		want: []llm.Chunk{
			{Model: "llama3.2", Role: "assistant", Text: "The"},
			{Model: "llama3.2", Text: " sky"},
		},
		wantErr: "upstream stream ended before its final message",
	},
	{
		file:    "garbage.ndjson",
		want:    []llm.Chunk{{Model: "llama3.2", Role: "assistant", Text: "The"}},
		wantErr: "The upstream's answer was unreadable: its stream line is not valid JSON (it looks like an HTML page)",
	},
}

// drain reads s to its end and returns the chunks and the final error.
func drain(t *testing.T, s llm.Stream) ([]llm.Chunk, error) {
	t.Helper()
	var got []llm.Chunk
	for range 1000 {
		c, err := s.Recv()
		if err != nil {
			return got, err
		}
		got = append(got, c)
	}
	t.Fatal("stream did not end")
	return nil, nil
}

func TestStreamTranscripts(t *testing.T) {
	readers := map[string]func([]byte) io.Reader{
		"whole":     func(b []byte) io.Reader { return bytes.NewReader(b) },
		"bytewise":  func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"halfwise":  func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
		"errOnLast": func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
	}
	for _, tc := range streamCases {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		for name, rd := range readers {
			t.Run(tc.file+"/"+name, func(t *testing.T) {
				s := newStream(context.Background(), io.NopCloser(rd(data)))
				got, err := drain(t, s)
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("chunks mismatch (-want +got):\n%s", diff)
				}
				if tc.wantErr == "" {
					if !errors.Is(err, io.EOF) {
						t.Fatalf("end error = %v; want io.EOF", err)
					}
				} else {
					var le *llmservice.Error
					if !errors.As(err, &le) || le.Kind != llmservice.Upstream || le.Message != tc.wantErr {
						t.Fatalf("end error = %v; want Upstream %q", err, tc.wantErr)
					}
				}
				// The end is sticky.
				if _, err2 := s.Recv(); !errors.Is(err2, err) {
					t.Errorf("second Recv after end = %v; want %v", err2, err)
				}
			})
		}
	}
}

func TestStreamPrimeReturnsFirstLineError(t *testing.T) {
	body := io.NopCloser(bytes.NewReader([]byte(`{"error":"model requires more system memory (9.0 GiB) than is available (4.0 GiB)"}` + "\n")))
	s := newStream(context.Background(), body)
	err := s.prime()
	if llmservice.ErrorKind(err) != llmservice.Upstream {
		t.Fatalf("prime() = %v; want an Upstream error", err)
	}
}

func TestStreamBrokenConnection(t *testing.T) {
	rd := io.MultiReader(bytes.NewReader([]byte(`{"model":"m","message":{"content":"Hi"},"done":false}`+"\n")), iotest.ErrReader(io.ErrUnexpectedEOF))
	s := newStream(context.Background(), io.NopCloser(rd))
	got, err := drain(t, s)
	if len(got) != 1 || got[0].Text != "Hi" {
		t.Errorf("chunks = %+v; want one chunk with Hi", got)
	}
	if llmservice.ErrorKind(err) != llmservice.Upstream {
		t.Errorf("end error = %v; want Upstream", err)
	}
}

func TestStreamCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := newStream(ctx, io.NopCloser(iotest.ErrReader(context.Canceled)))
	_, err := s.Recv()
	var le *llmservice.Error
	if !errors.As(err, &le) || le.Code != "cancelled" {
		t.Errorf("Recv() = %v; want the cancelled Upstream error", err)
	}
}

// FuzzStream feeds arbitrary bytes to the decoder: it must never panic, and
// must end with io.EOF only after a final chunk that carries usage.
func FuzzStream(f *testing.F) {
	for _, tc := range streamCases {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"done":true}`))
	f.Add([]byte(`{"message":{"tool_calls":[{"function":{"name":"x","arguments":null}}]},"done":true}`))
	f.Add([]byte("\n\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newStream(context.Background(), io.NopCloser(bytes.NewReader(data)))
		var last llm.Chunk
		for range 2*len(data) + 4 {
			c, err := s.Recv()
			if errors.Is(err, io.EOF) {
				if last.Usage == nil || last.FinishReason == "" {
					t.Fatalf("io.EOF after a chunk without usage and finish reason: %+v", last)
				}
				return
			}
			if err != nil {
				if llmservice.ErrorKind(err) == llmservice.Internal {
					t.Fatalf("error of kind Internal: %v", err)
				}
				return
			}
			last = c
		}
		// Each line yields at most a few chunks, and each takes a byte at
		// least, so more chunks than bytes would mean a loop.
		t.Fatalf("more chunks than input bytes")
	})
}
