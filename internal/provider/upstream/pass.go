package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

// What the forwarding adapters (llm.Forwarder) share: an upstream answer
// handed to the pass-through lane as it came, whole or event by event,
// with what passed noted for the ledger.

// MaxPassedAnswer bounds a non-streaming forwarded answer, held whole to
// read its usage and rewrite its model.
const MaxPassedAnswer = 64 << 20

// Tally is what a forwarded answer reports of itself (llm.RawBody's
// Usage and Text).
type Tally interface {
	Usage() (llm.Usage, bool)
	Text() string
}

// Scan keeps what passed: the usage the upstream reported last, and the
// generated text, for a local count when it reported none.
type Scan struct {
	usage llm.Usage
	seen  bool
	text  strings.Builder
}

// Note sets the usage the upstream reported.
func (s *Scan) Note(u llm.Usage) { s.usage, s.seen = u, true }

// Keep adds generated text.
func (s *Scan) Keep(text string) { s.text.WriteString(text) }

// Kept reports whether any text was kept.
func (s *Scan) Kept() bool { return s.text.Len() > 0 }

func (s *Scan) Usage() (llm.Usage, bool) { return s.usage, s.seen }
func (s *Scan) Text() string             { return s.text.String() }

// Relay hands a forwarded event stream to the client one event at a time.
// A forwarding adapter embeds it beside its Tally.
type Relay struct {
	ctx  context.Context
	body io.Closer
	// next reads the next event and returns its bytes as the client is to
	// get them, and its data (nil for an event without any).
	next func() (out, data []byte, err error)

	out   []byte // the current event, not yet read by the client
	err   error  // sticky
	ended bool   // the protocol's terminal event was read
	wait  WaitHook
}

// Watch returns body as the forwarder is to read it: through a hook that
// tells when a read is about to wait on the upstream's connection, for
// BeforeWait. The forwarder's buffered reader goes on top of it.
func (r *Relay) Watch(body io.Reader) io.Reader {
	r.wait.R = body
	return &r.wait
}

// BeforeWait has f called whenever the stream is about to read the
// upstream's connection (llm.WaitNotifier), when the forwarder reads its
// body through Watch: the relay to the client then flushes the events of
// one upstream write in one write instead of after each event.
func (r *Relay) BeforeWait(f func()) bool {
	if r.wait.R == nil {
		return false
	}
	r.wait.Before = f
	return true
}

// Ended marks the event next is returning as the stream's last (the
// protocol's terminal event, such as message_stop). Read then hands it out
// with io.EOF instead of waiting for the upstream to end its response:
// the gateway settles the call (ledger, response cache) before the client
// sees the end of its answer, so a client that sends its next request on
// seeing it finds both written. Close drains what the upstream still sends
// so that its connection is reused.
func (r *Relay) Ended() { r.ended = true }

// maxDrain bounds what Close reads of an upstream response after its
// terminal event before closing it (a longer tail costs the connection).
const maxDrain = 64 << 10

// Drain reads what an upstream still sends after the answer's end, at most
// maxDrain bytes, so that closing body lets the connection be reused.
func Drain(body io.Closer) {
	if rd, ok := body.(io.Reader); ok {
		_, _ = io.CopyN(io.Discard, rd, maxDrain)
	}
}

// Open starts relaying body: it reads up to and including the first event
// that carries data, so that an error the upstream sends as its first
// event (refuse says which, and as what) is the attempt's, and the gateway
// may still retry. On failure body is closed.
func (r *Relay) Open(ctx context.Context, body io.Closer, next func() (out, data []byte, err error), refuse func(data []byte) error) error {
	r.ctx, r.body, r.next = ctx, body, next
	for {
		out, data, err := next()
		if err == nil && data != nil {
			err = refuse(data)
		}
		if err != nil {
			_ = body.Close()
			if errors.Is(err, io.EOF) {
				return &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream ended the stream without an answer"}
			}
			return ReadError(ctx, err)
		}
		r.out = append(r.out, out...)
		if data != nil {
			return nil
		}
	}
}

// Read hands out the stream's bytes, one event at a time.
func (r *Relay) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.ended {
			r.err = io.EOF
			continue
		}
		out, _, err := r.next()
		if err != nil {
			r.err = err
			if !errors.Is(err, io.EOF) {
				r.err = ReadError(r.ctx, err)
			}
			continue
		}
		r.out = out
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	if len(r.out) == 0 && r.ended {
		r.err = io.EOF
		return n, io.EOF
	}
	return n, nil
}

func (r *Relay) Close() error {
	if r.ended {
		Drain(r.body)
	}
	return r.body.Close()
}

// Pass makes the pass-through lane's answer of a 2xx upstream response:
// the headers named in keep, and the body. A JSON answer is read whole
// (at most MaxPassedAnswer bytes) and handed to whole, which returns the
// bytes the client gets and what they report; an event stream is handed
// to stream, which opens it (closing the body when that fails).
func Pass(ctx context.Context, resp *http.Response, keep []string,
	whole func(b []byte) ([]byte, Tally, error), stream func(body io.ReadCloser) (llm.RawBody, error)) (*llm.RawResponse, error) {
	out := &llm.RawResponse{Status: resp.StatusCode, Header: map[string][]string{}}
	for _, k := range keep {
		if v := resp.Header.Values(k); len(v) > 0 {
			out.Header[k] = v
		}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" {
		body, err := stream(resp.Body)
		if err != nil {
			return nil, err
		}
		out.Body = body
		return out, nil
	}
	b, err := ReadAnswer(ctx, resp.Body, MaxPassedAnswer)
	if err != nil {
		return nil, err
	}
	b, t, err := whole(b)
	if err != nil {
		return nil, err
	}
	out.Body = &wholeBody{Reader: bytes.NewReader(b), Tally: t}
	return out, nil
}

// wholeBody is a whole (non-streaming) answer held in memory.
type wholeBody struct {
	*bytes.Reader
	Tally
}

func (*wholeBody) Close() error { return nil }

// CountAnswer reads a count_tokens answer of the Anthropic Messages and
// OpenAI Responses APIs, which both say {"input_tokens": N}, and returns
// it as Pass's whole answer.
func CountAnswer(b []byte) ([]byte, Tally, error) {
	var v struct {
		InputTokens *int `json:"input_tokens"`
	}
	if json.Unmarshal(b, &v) != nil || v.InputTokens == nil {
		return nil, nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream sent an unreadable token count"}
	}
	s := &Scan{}
	s.Note(llm.Usage{PromptTokens: *v.InputTokens})
	return b, s, nil
}

// FrameData returns the data of a raw SSE event (its data lines joined by
// "\n", appended to buf[:0]), or nil when it has none.
func FrameData(frame, buf []byte) []byte {
	buf, n := buf[:0], 0
	for _, line := range bytes.Split(frame, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if n > 0 {
				buf = append(buf, '\n')
			}
			buf = append(buf, bytes.TrimPrefix(v, []byte(" "))...)
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return buf
}

// SetFrameString returns a raw SSE event with the string at path in its
// data (as FrameData returned it) set to value, or the event unchanged
// when its data has no such string or spans several lines.
func SetFrameString(frame, data []byte, path []string, value string) []byte {
	nd, ok, err := SetString(data, path, value)
	if err != nil || !ok {
		return frame
	}
	i := bytes.Index(frame, data)
	if i < 0 {
		return frame
	}
	out := make([]byte, 0, len(frame)+len(nd)-len(data))
	out = append(out, frame[:i]...)
	out = append(out, nd...)
	return append(out, frame[i+len(data):]...)
}
