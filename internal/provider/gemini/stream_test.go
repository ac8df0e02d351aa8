package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want.json from the decoder's output")

// outcome is what a stream yields: its chunks and how it ended.
type outcome struct {
	Chunks []llm.Chunk `json:"chunks"`
	// End is "EOF" or the error's kind, code and message.
	End string `json:"end"`
}

// drain reads a stream to its end. The bound keeps a decoder bug from
// hanging the test.
func drain(t testing.TB, r io.Reader) outcome {
	t.Helper()
	s := newStream(context.Background(), io.NopCloser(r))
	var out outcome
	for range 100000 {
		c, err := s.Recv()
		if err != nil {
			out.End = endOf(err)
			if _, again := s.Recv(); endOf(again) != out.End {
				t.Errorf("Recv after the end = %v; want the same end %q", again, out.End)
			}
			return out
		}
		out.Chunks = append(out.Chunks, c)
	}
	t.Fatal("stream did not end")
	return out
}

func endOf(err error) string {
	if errors.Is(err, io.EOF) {
		return "EOF"
	}
	var e *llmservice.Error
	if errors.As(err, &e) {
		return e.Kind.String() + " " + e.Code + ": " + e.Message
	}
	return "unexpected error type: " + err.Error()
}

// TestStreamTranscripts decodes recorded streams, whole and one byte at a
// time, and compares with the golden outcome in testdata/NAME.want.json.
func TestStreamTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.sse")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sse")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := drain(t, bytes.NewReader(in))
			golden := strings.TrimSuffix(f, ".sse") + ".want.json"
			if *update {
				b, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			var want outcome
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decode %s mismatch (-want +got):\n%s", name, diff)
			}
			bytewise := drain(t, iotest.OneByteReader(bytes.NewReader(in)))
			if diff := cmp.Diff(want, bytewise); diff != "" {
				t.Errorf("decode %s one byte at a time mismatch (-want +got):\n%s", name, diff)
			}
		})
	}
}

// TestStreamContract checks the promises the gateway relies on, on every
// transcript that ends well: the last chunk carries the usage, exactly one
// finish reason per candidate, and tool call deltas start with id and name.
func TestStreamContract(t *testing.T) {
	for _, name := range []string{"text", "tool_call", "thoughts", "two_candidates", "safety", "usage_last", "late_candidate"} {
		in, err := os.ReadFile("testdata/" + name + ".sse")
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, bytes.NewReader(in))
		if got.End != "EOF" || len(got.Chunks) == 0 {
			t.Fatalf("%s: ended %q after %d chunks; want EOF after some", name, got.End, len(got.Chunks))
		}
		if got.Chunks[len(got.Chunks)-1].Usage == nil {
			t.Errorf("%s: last chunk has no usage", name)
		}
		finishes := map[int]int{}
		named := map[[2]int]bool{}
		for _, c := range got.Chunks {
			if c.FinishReason != "" {
				finishes[c.Index]++
			}
			for _, d := range c.ToolCalls {
				key := [2]int{c.Index, d.Index}
				if !named[key] && (d.ID == "" || d.Name == "") {
					t.Errorf("%s: first delta of call %v has no id or name: %+v", name, key, d)
				}
				named[key] = true
			}
		}
		for i, n := range finishes {
			if n != 1 {
				t.Errorf("%s: candidate %d finished %d times; want once", name, i, n)
			}
		}
	}
}

// TestPrime checks that a refusal at the start of a stream is returned
// before any chunk, so the caller can still fall back.
func TestPrime(t *testing.T) {
	tests := []struct {
		file    string
		wantErr bool
		kind    llmservice.Kind
	}{
		{"blocked", true, llmservice.Invalid},
		{"error_first", true, llmservice.Upstream},
		{"truncated", false, 0},
		{"error_midstream", false, 0},
	}
	for _, tt := range tests {
		in, err := os.ReadFile("testdata/" + tt.file + ".sse")
		if err != nil {
			t.Fatal(err)
		}
		s := newStream(context.Background(), io.NopCloser(bytes.NewReader(in)))
		err = s.prime()
		if !tt.wantErr {
			if err != nil {
				t.Errorf("prime(%s) = %v; want nil (the failure comes after the first chunk)", tt.file, err)
			}
			continue
		}
		if k := llmservice.ErrorKind(err); err == nil || k != tt.kind {
			t.Errorf("prime(%s) = %v; want kind %v", tt.file, err, tt.kind)
		}
	}
}

// FuzzStream feeds arbitrary bytes to the decoder: it must never panic and
// must always end, with io.EOF or an *llmservice.Error.
func FuzzStream(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.sse")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("data: {\"candidates\":[{\"index\":-3,\"finishReason\":\"STOP\"}]}\n\n"))
	f.Add([]byte("data: {\"error\":{}}\n\ndata: {}\r\r"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := drain(t, bytes.NewReader(b))
		if strings.HasPrefix(out.End, "unexpected error type") {
			t.Errorf("stream ended with %s", out.End)
		}
	})
}
