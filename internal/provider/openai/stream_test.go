package openai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

// The transcripts in testdata are written in the exact shapes these servers
// send (field order, extra fields such as obfuscation, timings and
// native_finish_reason, keep-alive comments, CRLF), so that a decoder change
// that trips on any of them fails here rather than in production.

// decodeAll runs the decoder over r as a caller would, returning every chunk
// and the error that ended the stream (nil for a clean io.EOF).
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

// chunks stamps id and model on each chunk, as the decoder does.
func chunks(id, model string, cs ...llm.Chunk) []llm.Chunk {
	for i := range cs {
		cs[i].ID, cs[i].Model = id, model
	}
	return cs
}

func usage(prompt, completion, cached int) *llm.Usage {
	return &llm.Usage{PromptTokens: prompt, CompletionTokens: completion, CachedTokens: cached}
}

func TestStreamTranscripts(t *testing.T) {
	tests := []struct {
		file    string
		want    []llm.Chunk
		wantErr *llmservice.Error // compared on Kind and Message
	}{{
		file: "text_usage.sse",
		want: chunks("chatcmpl-C0TextUsage7fQ2", "gpt-4o-mini-2024-07-18",
			llm.Chunk{Role: llm.RoleAssistant},
			llm.Chunk{Text: "Hello"},
			llm.Chunk{Text: "!"},
			llm.Chunk{Text: " How"},
			llm.Chunk{Text: " can I help?"},
			llm.Chunk{FinishReason: llm.FinishStop},
			llm.Chunk{Usage: usage(19, 8, 0)},
		),
	}, {
		file: "tool_calls.sse",
		want: chunks("chatcmpl-C0Tools9aZ", "gpt-4.1-2025-04-14",
			llm.Chunk{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_wX1", Name: "get_weather"}}},
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"lo`}}},
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `cation": "Par`}}},
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `is"}`}}},
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "call_wX2", Name: "get_time"}}},
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: 1, Arguments: `{}`}}},
			llm.Chunk{FinishReason: llm.FinishToolCalls},
			llm.Chunk{Usage: usage(81, 47, 64)},
		),
	}, {
		// A reasoning model: reasoning tokens are part of the completion,
		// cached tokens part of the prompt, both read from the details.
		file: "reasoning.sse",
		want: chunks("chatcmpl-C0Reason4k", "o4-mini-2025-04-16",
			llm.Chunk{Role: llm.RoleAssistant},
			llm.Chunk{Text: "42"},
			llm.Chunk{FinishReason: llm.FinishStop},
			llm.Chunk{Usage: &llm.Usage{PromptTokens: 1536, CompletionTokens: 202, CachedTokens: 1280, ReasoningTokens: 192}},
		),
	}, {
		// llama.cpp puts usage on the finishing chunk and may end without [DONE].
		file: "no_done.sse",
		want: chunks("chatcmpl-llamacpp1", "qwen2.5-7b-instruct-q4_k_m.gguf",
			llm.Chunk{Role: llm.RoleAssistant},
			llm.Chunk{Text: "Bonjour"},
			llm.Chunk{FinishReason: llm.FinishLength, Usage: usage(11, 2, 0)},
		),
	}, {
		// OpenRouter: CRLF, keep-alive comments, a role on every delta and
		// usage on a chunk of its own that still has a choice.
		file: "keepalive_crlf.sse",
		want: chunks("gen-1754006402-orKeep", "anthropic/claude-3.5-haiku",
			llm.Chunk{Role: llm.RoleAssistant, Text: "Hi"},
			llm.Chunk{Role: llm.RoleAssistant, Text: " there"},
			llm.Chunk{Role: llm.RoleAssistant, FinishReason: llm.FinishStop},
			llm.Chunk{Role: llm.RoleAssistant, Usage: usage(12, 3, 0)},
		),
	}, {
		file: "error_midstream.sse",
		want: chunks("gen-1754006403-orErr", "openai/gpt-4o",
			llm.Chunk{Role: llm.RoleAssistant, Text: "Part"},
		),
		wantErr: &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream error: Provider returned error"},
	}, {
		file: "two_choices.sse",
		want: chunks("chatcmpl-C0TwoChoices", "gpt-4o-mini-2024-07-18",
			llm.Chunk{Index: 0, Role: llm.RoleAssistant},
			llm.Chunk{Index: 1, Role: llm.RoleAssistant},
			llm.Chunk{Index: 0, Text: "Yes"},
			llm.Chunk{Index: 1, Text: "No"},
			llm.Chunk{Index: 0, FinishReason: llm.FinishStop},
			llm.Chunk{Index: 1, FinishReason: llm.FinishStop},
			llm.Chunk{Usage: usage(10, 2, 0)},
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

// checkErr compares an error's kind and message with want; want nil means
// no error.
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
	if e.Kind != want.Kind || e.Message != want.Message {
		t.Errorf("error = {Kind:%v Message:%q}; want {Kind:%v Message:%q}", e.Kind, e.Message, want.Kind, want.Message)
	}
}

func TestStreamEdgeCases(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []llm.Chunk
		wantErr *llmservice.Error
	}{
		{"empty body", "", nil, nil},
		{"only done", "data: [DONE]\n\n", nil, nil},
		{"done with spaces", "data:  [DONE] \n\n", nil, nil},
		{"nothing after done is read", "data: [DONE]\n\ndata: {not json\n\n", nil, nil},
		{"keep-alive comments only", ": ping\n\n: ping\n\n", nil, nil},
		{"chunk without blank line at the end", `data: {"id":"a","choices":[{"index":0,"delta":{"content":"x"}}]}`,
			[]llm.Chunk{{ID: "a", Text: "x"}}, nil},
		{"empty choices and no usage", `data: {"id":"a","choices":[]}` + "\n\n", nil, nil},
		{"bad json", "data: {not json\n\n", nil, &llmservice.Error{Kind: llmservice.Upstream, Code: upstream.CodeUnreadable, Message: "The upstream's answer was unreadable: its stream chunk is not valid JSON"}},
		{"wrong type", `data: {"choices":[{"index":"0"}]}` + "\n\n", nil, &llmservice.Error{Kind: llmservice.Upstream, Code: upstream.CodeUnreadable, Message: "The upstream's answer was unreadable: its stream chunk is not valid JSON"}},
		{"error event", `data: {"error":{"message":"overloaded","type":"server_error"}}` + "\n\n", nil,
			&llmservice.Error{Kind: llmservice.Upstream, Message: "upstream error: overloaded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAll(strings.NewReader(tt.in))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("chunks mismatch (-want +got):\n%s", diff)
			}
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestStreamAfterEndKeepsReturningEOF(t *testing.T) {
	s := newStream(context.Background(), io.NopCloser(strings.NewReader("data: [DONE]\n\n")))
	for range 3 {
		if _, err := s.Recv(); !errors.Is(err, io.EOF) {
			t.Fatalf("Recv() = %v; want io.EOF", err)
		}
	}
}

// A connection cut in the middle of the stream is an error, not an end.
func TestStreamCutConnection(t *testing.T) {
	r := io.MultiReader(strings.NewReader(`data: {"id":"a","choices":[{"index":0,"delta":{"content":"x"}}]}`+"\n\n"), iotest.ErrReader(io.ErrUnexpectedEOF))
	got, err := decodeAll(r)
	if len(got) != 1 {
		t.Errorf("got %d chunks; want 1", len(got))
	}
	checkErr(t, err, &llmservice.Error{Kind: llmservice.Upstream, Message: "the upstream's answer broke off before its end"})
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestStreamCloseClosesBody(t *testing.T) {
	body := &closeRecorder{Reader: strings.NewReader("")}
	s := newStream(context.Background(), body)
	if err := s.Close(); err != nil || !body.closed {
		t.Errorf("Close() = %v, body closed %v; want nil, true", err, body.closed)
	}
}

// FuzzStream feeds arbitrary bytes to the decoder. It may fail, but it must
// not panic or loop, and reading byte by byte must give what reading whole
// gives.
func FuzzStream(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.sse"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("data: {\"choices\":[{\"index\":-1,\"delta\":{\"tool_calls\":[{\"index\":-5}]}}],\"usage\":{}}\n\n"))
	f.Add([]byte("data: null\n\ndata: []\n\ndata: \"x\"\n\n"))
	f.Add([]byte("data: {\"error\":null}\r\rdata: {\"error\":{}}\r\r"))
	f.Fuzz(func(t *testing.T, b []byte) {
		whole, errWhole := fuzzDecode(t, bytes.NewReader(b), len(b))
		bytewise, errBytewise := fuzzDecode(t, iotest.OneByteReader(bytes.NewReader(b)), len(b))
		if diff := cmp.Diff(whole, bytewise); diff != "" {
			t.Fatalf("byte-by-byte chunks differ (-whole +bytewise):\n%s", diff)
		}
		if (errWhole == nil) != (errBytewise == nil) {
			t.Fatalf("errors differ: whole %v, byte by byte %v", errWhole, errBytewise)
		}
		if errWhole != nil {
			if _, ok := errors.AsType[*llmservice.Error](errWhole); !ok {
				t.Fatalf("error %v (%T) is not an *llmservice.Error", errWhole, errWhole)
			}
		}
	})
}

// fuzzDecode reads at most a bounded number of chunks: every chunk needs
// some input, so a decoder that yields more is looping.
func fuzzDecode(t *testing.T, r io.Reader, n int) ([]llm.Chunk, error) {
	s := newStream(context.Background(), io.NopCloser(r))
	var out []llm.Chunk
	for range n + 2 {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	t.Fatalf("stream of %d bytes still yielding chunks", n)
	return nil, nil
}
