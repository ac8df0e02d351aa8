package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	geminiwire "github.com/llmservice/llmservice/internal/wire/gemini"
)

// stream decodes streamGenerateContent?alt=sse. Each SSE event is a whole
// GenerateContentResponse holding only the new parts; the decoder turns it
// into chunks and Recv hands them out one at a time. It runs no goroutine:
// every Recv that finds the queue empty reads the next event.
type stream struct {
	// ctx is the request's context, kept only to classify read errors
	// (a cancelled request is not an upstream failure).
	ctx   context.Context
	body  io.ReadCloser
	sse   *upstream.SSEReader
	dec   decoder
	queue []llm.Chunk
	err   error // returned once the queue is drained: io.EOF or the failure
}

var _ llm.Stream = (*stream)(nil)

func newStream(ctx context.Context, body io.ReadCloser) *stream {
	return &stream{ctx: ctx, body: body, sse: upstream.NewSSEReader(body), dec: newDecoder()}
}

// Recv returns the next chunk, io.EOF after the last one, or the error that
// ended the stream.
func (s *stream) Recv() (llm.Chunk, error) {
	for len(s.queue) == 0 {
		if s.err != nil {
			return llm.Chunk{}, s.err
		}
		s.fill()
	}
	c := s.queue[0]
	s.queue[0] = llm.Chunk{}
	s.queue = s.queue[1:]
	return c, nil
}

// Close closes the response body, which stops the upstream read.
func (s *stream) Close() error { return s.body.Close() }

// fill reads one event and queues its chunks, or records why the stream ended.
func (s *stream) fill() {
	ev, err := s.sse.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			chunks, err := s.dec.end()
			s.queue = append(s.queue, chunks...)
			s.err = err
			return
		}
		s.err = upstream.ReadError(s.ctx, err)
		return
	}
	chunks, err := s.dec.event(ev.Data)
	s.queue = append(s.queue, chunks...)
	if err != nil {
		s.err = err
	}
}

// prime reads until the first chunk is queued, so that a failure reported
// at the very start (a blocked prompt, an error event) comes back from
// ChatStream, while the caller can still retry or fall back.
func (s *stream) prime() error {
	for len(s.queue) == 0 && s.err == nil {
		s.fill()
	}
	if len(s.queue) == 0 && !errors.Is(s.err, io.EOF) {
		return s.err
	}
	return nil
}

// decoder is the per-stream state: which candidates have started, called
// tools and finished, and the latest running usage.
type decoder struct {
	id, model string
	seen      map[int]bool   // candidates that appeared in any event
	started   map[int]bool   // candidates whose role has been sent
	calls     map[int]int    // tool calls seen per candidate
	finished  map[int]string // finish reason per candidate
	seq       int            // tool calls seen in the whole response, for ids
	usage     *llm.Usage
	// usageSent is true while the last chunk handed out carries the
	// current usage. Usage is a running total, so a later chunk's usage
	// replaces an earlier one.
	usageSent bool
}

func newDecoder() decoder {
	return decoder{seen: map[int]bool{}, started: map[int]bool{}, calls: map[int]int{}, finished: map[int]string{}}
}

// streamEvent is one SSE event: a response, or an error that broke the
// stream after its 200 status.
type streamEvent struct {
	geminiwire.GenerateContentResponse
	Error *geminiwire.Status `json:"error"`
}

// event turns one event into chunks. A function call arrives whole in one
// part, so it becomes two deltas: the id and name, then the arguments.
func (d *decoder) event(data []byte) ([]llm.Chunk, error) {
	var ev streamEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, upstream.Unreadable("stream event", err)
	}
	if ev.Error != nil {
		return nil, streamError(ev.Error)
	}
	if ev.ResponseID != "" {
		d.id = ev.ResponseID
	}
	if ev.ModelVersion != "" {
		d.model = ev.ModelVersion
	}
	if ev.UsageMetadata != nil {
		u := usage(ev.UsageMetadata)
		if d.usage != nil && *d.usage != u {
			// Newer totals than the ones already sent: send them again
			// at the end, so that the last usage seen is the right one.
			d.usageSent = false
		}
		d.usage = &u
	}
	if len(ev.Candidates) == 0 && ev.PromptFeedback != nil && ev.PromptFeedback.BlockReason != "" {
		return nil, blockedError(ev.PromptFeedback.BlockReason)
	}
	var out []llm.Chunk
	finishedNow := false
	for _, c := range ev.Candidates {
		i := c.Index
		d.seen[i] = true
		base := llm.Chunk{ID: d.id, Model: d.model, Index: i}
		var text []byte
		var calls []*geminiwire.FunctionCall
		var thoughts []llm.Chunk
		if c.Content != nil {
			for _, p := range c.Content.Parts {
				if p.Thought || p.ThoughtSignature != "" {
					ch := base
					ch.ThinkingFamily = Family
					ch.Signature = p.ThoughtSignature
					if p.Thought {
						ch.Thinking = p.Text
					}
					thoughts = append(thoughts, ch)
				}
				if p.Thought {
					continue
				}
				text = append(text, p.Text...)
				if p.FunctionCall != nil {
					calls = append(calls, p.FunctionCall)
				}
			}
		}
		emit := func(ch llm.Chunk) {
			if !d.started[i] {
				ch.Role = llm.RoleAssistant
				d.started[i] = true
			}
			// Usage belongs on the last chunk; anything after it means
			// it has to go out again.
			d.usageSent = false
			out = append(out, ch)
		}
		// Thoughts and signatures go first: a signature belongs to the
		// text or call that follows it (see thoughtParts).
		for _, ch := range thoughts {
			emit(ch)
		}
		if len(text) > 0 {
			ch := base
			ch.Text = string(text)
			emit(ch)
		}
		for _, fc := range calls {
			d.seq++
			k := d.calls[i]
			d.calls[i] = k + 1
			ch := base
			ch.ToolCalls = []llm.ToolCallDelta{{Index: k, ID: callID(fc.ID, d.seq), Name: fc.Name}}
			emit(ch)
			ch = base
			ch.ToolCalls = []llm.ToolCallDelta{{Index: k, Arguments: argsText(fc.Args)}}
			emit(ch)
		}
		if c.FinishReason != "" {
			if _, done := d.finished[i]; !done {
				reason := finishReason(c.FinishReason, d.calls[i] > 0)
				d.finished[i] = reason
				ch := base
				ch.FinishReason = reason
				emit(ch)
				finishedNow = true
			}
		}
	}
	// When the last open candidate finishes, its finish chunk also carries
	// the usage: Gemini sends the final totals on that same event.
	if finishedNow && d.usage != nil && d.allFinished() {
		u := *d.usage
		out[len(out)-1].Usage = &u
		d.usageSent = true
	}
	return out, nil
}

// allFinished reports whether every candidate seen so far has finished.
func (d *decoder) allFinished() bool {
	for i := range d.seen {
		if _, ok := d.finished[i]; !ok {
			return false
		}
	}
	return true
}

// end is called at the end of the body. A stream that stops before every
// candidate finished was cut off (Gemini ends each candidate with a finish
// reason), which must not pass for a complete answer. Usage that has not
// gone out yet travels in a last chunk of its own.
func (d *decoder) end() ([]llm.Chunk, error) {
	if len(d.finished) == 0 || !d.allFinished() {
		return nil, &llmservice.Error{Kind: llmservice.Upstream, Code: "upstream_stream_truncated", Message: "upstream stream ended before the answer was complete"}
	}
	if d.usageSent || d.usage == nil {
		return nil, io.EOF
	}
	u := *d.usage
	d.usageSent = true
	return []llm.Chunk{{ID: d.id, Model: d.model, Index: d.lastIndex(), Usage: &u}}, io.EOF
}

// lastIndex is the highest candidate index, for the usage-only chunk.
func (d *decoder) lastIndex() int {
	first, last := true, 0
	for i := range d.finished {
		if first || i > last {
			first, last = false, i
		}
	}
	return last
}
