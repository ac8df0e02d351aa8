package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
)

// maxFrame bounds one SSE event or NDJSON line, so a broken upstream cannot
// make the gateway buffer without end.
const maxFrame = 8 << 20

// Event is one server-sent event.
type Event struct {
	Name string // the "event:" field; empty for the default "message"
	Data []byte // the "data:" lines joined by "\n"; valid until the next Next call
}

// SSEReader splits a text/event-stream into events as the WHATWG HTML
// specification describes (section 9.2.6): lines end in LF, CR or CRLF;
// a blank line ends an event; comment lines start with ':'.
type SSEReader struct {
	r    *bufio.Reader
	data []byte
	name []byte
	line []byte
	// afterCR is set when the last line ended in CR: a LF that follows
	// belongs to that CRLF. Remembering this, instead of peeking at the next
	// byte, keeps a CR-terminated event from waiting on the upstream's next
	// write before it is dispatched.
	afterCR bool
}

// NewSSEReader reads events from r. Its buffer comes from a pool: a
// reader whose owner calls Release once done gives it back.
func NewSSEReader(r io.Reader) *SSEReader {
	br := sseBufs.Get().(*bufio.Reader)
	br.Reset(r)
	return &SSEReader{r: br}
}

// sseBufs holds the 16 KiB read buffers of SSE readers, which a stream
// would otherwise allocate each. What Next returns is copied out of them
// (into data and line), so nothing of a buffer outlives its Release.
var sseBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}

// WaitHook is a reader that calls Before, when set, before each read of R:
// under a bufio.Reader, that is when the buffer is empty and the read may
// wait on the network (llm.WaitNotifier).
type WaitHook struct {
	R      io.Reader
	Before func()
}

func (h *WaitHook) Read(p []byte) (int, error) {
	if h.Before != nil {
		h.Before()
	}
	return h.R.Read(p)
}

// errReleased is what a released reader's Next returns.
var errReleased = errors.New("sse reader used after Release")

// Release gives the reader's buffer back to the pool; Next fails after it.
// It does not close the underlying reader.
func (s *SSEReader) Release() {
	if s.r == nil {
		return
	}
	s.r.Reset(nil)
	sseBufs.Put(s.r)
	s.r = nil
}

// Next returns the next event with data, or io.EOF at the end of the stream.
// Events without data lines (keep-alives) are skipped.
func (s *SSEReader) Next() (Event, error) {
	s.data = s.data[:0]
	s.name = s.name[:0]
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && hasData {
				// A final event without its blank line is still dispatched.
				return Event{Name: string(s.name), Data: s.data}, nil
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if hasData {
				return Event{Name: string(s.name), Data: s.data}, nil
			}
			s.name = s.name[:0]
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if hasData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			hasData = true
			if len(s.data) > maxFrame {
				return Event{}, fmt.Errorf("sse event larger than %d bytes", maxFrame)
			}
		case "event":
			s.name = append(s.name[:0], value...)
		}
	}
}

// readLine returns one line without its terminator, accepting LF, CRLF and
// CR. It takes what is buffered a line at a time rather than byte by byte
// (a stream's events are a few hundred bytes each), and waits on the
// upstream only when nothing is buffered, as reading a byte would.
func (s *SSEReader) readLine() ([]byte, error) {
	if s.r == nil {
		return nil, errReleased
	}
	s.line = s.line[:0]
	for {
		if _, err := s.r.Peek(1); err != nil {
			if errors.Is(err, io.EOF) && len(s.line) > 0 {
				return s.line, nil
			}
			return nil, err
		}
		buf, _ := s.r.Peek(s.r.Buffered())
		if s.afterCR {
			s.afterCR = false
			if buf[0] == '\n' && len(s.line) == 0 {
				_, _ = s.r.Discard(1) // the LF of a CRLF
				continue
			}
		}
		end := lineEnd(buf)
		if end < 0 {
			s.line = append(s.line, buf...)
			_, _ = s.r.Discard(len(buf))
			if len(s.line) > maxFrame {
				return nil, fmt.Errorf("sse line longer than %d bytes", maxFrame)
			}
			continue
		}
		s.line = append(s.line, buf[:end]...)
		s.afterCR = buf[end] == '\r'
		_, _ = s.r.Discard(end + 1)
		if len(s.line) > maxFrame {
			return nil, fmt.Errorf("sse line longer than %d bytes", maxFrame)
		}
		return s.line, nil
	}
}

// lineEnd returns the index of the first CR or LF in b, or -1.
func lineEnd(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return bytes.IndexByte(b, '\r')
	}
	if j := bytes.IndexByte(b[:i], '\r'); j >= 0 {
		return j
	}
	return i
}

// LineReader splits newline-delimited JSON (Ollama's stream) into lines.
type LineReader struct {
	r *bufio.Reader
}

// NewLineReader reads lines from r.
func NewLineReader(r io.Reader) *LineReader {
	return &LineReader{r: bufio.NewReaderSize(r, 16<<10)}
}

// Next returns the next non-blank line, valid until the next call, or io.EOF.
func (l *LineReader) Next() ([]byte, error) {
	for {
		line, err := l.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			buf := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = l.r.ReadSlice('\n')
				buf = append(buf, line...)
				if len(buf) > maxFrame {
					return nil, fmt.Errorf("ndjson line longer than %d bytes", maxFrame)
				}
			}
			line = buf
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		t := bytes.TrimSpace(line)
		if len(t) > 0 {
			return t, nil
		}
		if err != nil {
			return nil, io.EOF
		}
	}
}

// ReadRawFrame reads one SSE event as its bytes: lines up to and including
// the blank line that ends it (or what is left at the end of the stream),
// for pass-through lanes that must hand each event on unchanged.
func ReadRawFrame(r *bufio.Reader) ([]byte, error) {
	var f []byte
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			f = append(f, line...)
			if len(f) > maxFrame {
				return nil, fmt.Errorf("sse event larger than %d bytes", maxFrame)
			}
			continue
		}
		f = append(f, line...)
		if err != nil {
			if errors.Is(err, io.EOF) && len(f) > 0 {
				return f, nil
			}
			return nil, err
		}
		if t := bytes.TrimRight(line, "\r\n"); len(t) == 0 {
			return f, nil
		}
	}
}
