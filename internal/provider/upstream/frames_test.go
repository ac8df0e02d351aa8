package upstream

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// readEvents reads r to its end, copying each event because Data is only
// valid until the next call.
func readEvents(r io.Reader) ([]Event, error) {
	s := NewSSEReader(r)
	var out []Event
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, Event{Name: ev.Name, Data: bytes.Clone(ev.Data)})
	}
}

// byteEqual compares Data by content: an empty data field may come back
// as nil or as an empty slice.
var byteEqual = cmp.Comparer(bytes.Equal)

func ev(name, data string) Event { return Event{Name: name, Data: []byte(data)} }

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Event
	}{
		{"empty", "", nil},
		{"lf", "data: a\n\ndata: b\n\n", []Event{ev("", "a"), ev("", "b")}},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []Event{ev("", "a"), ev("", "b")}},
		{"cr", "data: a\r\rdata: b\r\r", []Event{ev("", "a"), ev("", "b")}},
		{"mixed line ends", "data: a\r\n\rdata: b\n\r\n", []Event{ev("", "a"), ev("", "b")}},
		// CR then CRLF is two line ends, so the event ends after "a".
		{"cr before crlf", "data: a\r\r\ndata: b\n\n", []Event{ev("", "a"), ev("", "b")}},
		{"comments", ": keep-alive\n\n: OPENROUTER PROCESSING\ndata: a\n: between\n\n", []Event{ev("", "a")}},
		{"only comments", ":x\n\n:y\n\n", nil},
		{"multi-line data", "data: a\ndata: b\ndata:\ndata: c\n\n", []Event{ev("", "a\nb\n\nc")}},
		{"no space after colon", "data:a\n\n", []Event{ev("", "a")}},
		{"only one space stripped", "data:  a \n\n", []Event{ev("", " a ")}},
		{"field without colon", "data\n\n", []Event{ev("", "")}},
		{"colon in value", "data: {\"a\":\"b:c\"}\n\n", []Event{ev("", `{"a":"b:c"}`)}},
		{"event name", "event: delta\ndata: x\n\n", []Event{ev("delta", "x")}},
		{"event name after data", "data: x\nevent: delta\n\n", []Event{ev("delta", "x")}},
		{"name does not leak into the next event", "event: a\ndata: 1\n\ndata: 2\n\n", []Event{ev("a", "1"), ev("", "2")}},
		{"event without data is skipped with its name", "event: ping\n\ndata: x\n\n", []Event{ev("", "x")}},
		{"id, retry and unknown fields ignored", "id: 5\nretry: 10\nfoo: bar\ndata : no\ndata: x\n\n", []Event{ev("", "x")}},
		{"final event without blank line", "data: a\n\ndata: b", []Event{ev("", "a"), ev("", "b")}},
		{"final event without blank line, with lf", "data: b\n", []Event{ev("", "b")}},
		{"final event ending in cr", "event: e\ndata: b\r", []Event{ev("e", "b")}},
		{"done marker", "data: {}\n\ndata: [DONE]\n\n", []Event{ev("", "{}"), ev("", "[DONE]")}},
	}
	for _, tt := range tests {
		for _, mode := range readModes {
			t.Run(tt.name+"/"+mode.name, func(t *testing.T) {
				got, err := readEvents(mode.wrap(strings.NewReader(tt.in)))
				if err != nil {
					t.Fatalf("Next() error = %v", err)
				}
				if diff := cmp.Diff(tt.want, got, byteEqual); diff != "" {
					t.Errorf("events mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

var readModes = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"byte by byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
}

// chunkReader hands out one chunk per Read and records a read past the last
// one, which on a live connection would block until upstream writes again.
type chunkReader struct {
	chunks   []string
	overread bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		r.overread = true
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	if r.chunks[0] == "" {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

// An event ended by CR must be dispatched without waiting for the byte
// after the CR: a lone CR is a whole line end, and a live upstream may send
// nothing more until the next token.
func TestSSEReaderDispatchesCREventWithoutReadingAhead(t *testing.T) {
	for _, in := range []string{"data: a\r\r", "data: a\n\n", "data: a\r\n\r\n"} {
		r := &chunkReader{chunks: []string{in}}
		s := NewSSEReader(r)
		got, err := s.Next()
		if err != nil {
			t.Fatalf("Next(%q) error = %v", in, err)
		}
		if string(got.Data) != "a" {
			t.Errorf("Next(%q).Data = %q; want %q", in, got.Data, "a")
		}
		if r.overread {
			t.Errorf("Next(%q) read past the end of the event", in)
		}
	}
}

func TestSSEReaderOversize(t *testing.T) {
	tests := []struct {
		name string
		in   func() io.Reader
	}{
		{"one long line", func() io.Reader {
			return strings.NewReader("data: " + strings.Repeat("x", maxFrame+1) + "\n\n")
		}},
		{"many data lines", func() io.Reader {
			line := "data: " + strings.Repeat("x", 1<<20) + "\n"
			return strings.NewReader(strings.Repeat(line, maxFrame>>20+1) + "\n")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSSEReader(tt.in()).Next()
			if err == nil || errors.Is(err, io.EOF) {
				t.Fatalf("Next() error = %v; want an oversize error", err)
			}
		})
	}
}

func TestSSEReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom))
	got, err := readEvents(r)
	if !errors.Is(err, boom) {
		t.Fatalf("error = %v; want %v", err, boom)
	}
	// The event cut by the failure is not dispatched as if it were whole.
	if diff := cmp.Diff([]Event{ev("", "a")}, got); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("y", 100<<10) // longer than the 16 KiB buffer
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"blank lines only", "\n \r\n\t\n", nil},
		{"lines", "{\"a\":1}\n{\"b\":2}\n", []string{`{"a":1}`, `{"b":2}`}},
		{"crlf and blanks", "a\r\n\r\n  b  \r\n", []string{"a", "b"}},
		{"last line without newline", "a\nb", []string{"a", "b"}},
		{"line longer than the buffer", "a\n" + long + "\nb\n", []string{"a", long, "b"}},
		{"long last line without newline", long, []string{long}},
	}
	for _, tt := range tests {
		for _, mode := range readModes {
			t.Run(tt.name+"/"+mode.name, func(t *testing.T) {
				l := NewLineReader(mode.wrap(strings.NewReader(tt.in)))
				var got []string
				for {
					line, err := l.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatalf("Next() error = %v", err)
					}
					got = append(got, string(line))
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("lines mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestLineReaderOversize(t *testing.T) {
	l := NewLineReader(strings.NewReader(strings.Repeat("z", maxFrame+2) + "\n"))
	if _, err := l.Next(); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("Next() error = %v; want an oversize error", err)
	}
}

func TestLineReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	l := NewLineReader(io.MultiReader(strings.NewReader("a\n"), iotest.ErrReader(boom)))
	if line, err := l.Next(); err != nil || string(line) != "a" {
		t.Fatalf("Next() = %q, %v; want \"a\", nil", line, err)
	}
	if _, err := l.Next(); !errors.Is(err, boom) {
		t.Fatalf("Next() error = %v; want %v", err, boom)
	}
}

// refEvents is a plain reading of the WHATWG event stream rules (plus the
// reader's one liberty: a final event without its blank line counts), used
// as the oracle for FuzzSSE.
func refEvents(b []byte) []Event {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var out []Event
	var name, data string
	hasData := false
	dispatch := func() {
		if hasData {
			out = append(out, Event{Name: name, Data: []byte(data)})
		}
		name, data, hasData = "", "", false
	}
	for _, line := range strings.Split(s, "\n") {
		switch {
		case line == "":
			dispatch()
			continue
		case line[0] == ':':
			continue
		}
		field, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch field {
		case "data":
			if hasData {
				data += "\n"
			}
			data += value
			hasData = true
		case "event":
			name = value
		}
	}
	dispatch()
	return out
}

// FuzzSSE checks the reader against refEvents, whole and byte by byte.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"data: a\n\n", "data: a\r\n\r\n", "data: a\r\rdata: b", "event: x\ndata: 1\ndata: 2\n\n",
		": c\n\ndata\n\n", "data:\r\n", "\r\r\n\n", "event: e\n\nevent: f\ndata: g\r",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := refEvents(b)
		for _, mode := range readModes {
			got, err := readEvents(mode.wrap(bytes.NewReader(b)))
			if err != nil {
				t.Fatalf("%s: error = %v", mode.name, err)
			}
			if diff := cmp.Diff(want, got, byteEqual); diff != "" {
				t.Fatalf("%s: events mismatch for %q (-want +got):\n%s", mode.name, b, diff)
			}
		}
	})
}

// A released reader gives its pooled buffer back: a later Next fails
// instead of reading through a buffer another stream may now own, and a
// second Release is harmless. A reader taken from the pool afterwards
// starts clean.
func TestSSEReaderRelease(t *testing.T) {
	s := NewSSEReader(strings.NewReader("data: a\n\ndata: b\n\n"))
	if ev, err := s.Next(); err != nil || string(ev.Data) != "a" {
		t.Fatalf("Next = %q, %v; want a", ev.Data, err)
	}
	s.Release()
	s.Release()
	if _, err := s.Next(); !errors.Is(err, errReleased) {
		t.Errorf("Next after Release error = %v; want errReleased", err)
	}
	s2 := NewSSEReader(strings.NewReader("data: c\n\n"))
	defer s2.Release()
	if ev, err := s2.Next(); err != nil || string(ev.Data) != "c" {
		t.Errorf("Next of a new reader = %q, %v; want c", ev.Data, err)
	}
}
