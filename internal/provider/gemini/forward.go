package gemini

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/provider/upstream"
	geminiwire "github.com/llmservice/llmservice/internal/wire/gemini"
)

var _ llm.Forwarder = (*Client)(nil)

// Ops of the Gemini protocol the pass-through lane forwards: the methods
// on a model.
const (
	OpGenerate    = "generateContent"
	OpStream      = "streamGenerateContent"
	OpCountTokens = "countTokens"
)

// maxJSONAnswer bounds a non-streaming answer held to read its usage.
const maxJSONAnswer = 64 << 20

// Forwards reports whether p is the Gemini API.
func (c *Client) Forwards(p llm.Protocol) bool { return p == llm.GeminiGenerate }

// Forward sends a Gemini request upstream as the client sent it: the
// model is in the path, so the body is not touched at all. Streams are
// asked for in SSE framing. The answer comes back byte for byte apart
// from modelVersion, which names req.ReplyModel when the client used
// another name than the upstream's. For a stream the first event is read
// before Forward returns, so that an error there may still be retried.
func (c *Client) Forward(ctx context.Context, req *llm.RawRequest, model string) (*llm.RawResponse, error) {
	switch req.Op {
	case OpGenerate, OpStream, OpCountTokens:
	default:
		return nil, llmservice.InvalidParam("method", "method %q is not forwarded", req.Op)
	}
	u, err := c.methodURL(model, req.Op)
	if err != nil {
		return nil, err
	}
	if req.Op == OpStream {
		u += "?alt=sse"
	}
	resp, err := c.post(ctx, u, req.Body)
	if err != nil {
		return nil, err
	}
	reply := req.ReplyModel
	if reply == model {
		reply = ""
	}
	out := &llm.RawResponse{Status: resp.StatusCode, Header: map[string][]string{}}
	if v := resp.Header.Values("Content-Type"); len(v) > 0 {
		out.Header["Content-Type"] = v
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "text/event-stream" {
		b, err := newJSONBody(ctx, resp.Body, reply, req.Op == OpCountTokens)
		if err != nil {
			return nil, err
		}
		out.Body = b
		return out, nil
	}
	s := &sseBody{ctx: ctx, body: resp.Body, r: bufio.NewReaderSize(resp.Body, 16<<10), reply: reply}
	if err := s.first(); err != nil {
		_ = s.Close()
		return nil, err
	}
	out.Body = s
	return out, nil
}

// scan accumulates what passes: usageMetadata holds running totals, so
// the last one seen is the answer's; text for a local count when the
// upstream reports none.
type scan struct {
	u    llm.Usage
	seen bool
	text strings.Builder
}

func (s *scan) Usage() (llm.Usage, bool) { return s.u, s.seen }
func (s *scan) Text() string             { return s.text.String() }

// note reads one GenerateContentResponse (a whole answer or a stream
// event).
func (s *scan) note(data []byte) (*geminiwire.GenerateContentResponse, bool) {
	var r geminiwire.GenerateContentResponse
	if json.Unmarshal(data, &r) != nil {
		return nil, false
	}
	if r.UsageMetadata != nil {
		s.u, s.seen = usage(r.UsageMetadata), true
	}
	for _, c := range r.Candidates {
		if c.Content == nil {
			continue
		}
		for _, p := range c.Content.Parts {
			s.text.WriteString(p.Text)
			if p.FunctionCall != nil {
				s.text.Write(p.FunctionCall.Args)
			}
		}
	}
	return &r, true
}

// setModel rewrites modelVersion, when the answer has one.
func setModel(b []byte, reply string) []byte {
	if reply == "" {
		return b
	}
	if nb, ok, err := upstream.SetString(b, []string{"modelVersion"}, reply); err == nil && ok {
		return nb
	}
	return b
}

// jsonBody is a whole answer held in memory.
type jsonBody struct {
	*bytes.Reader
	scan
}

func (j *jsonBody) Close() error { return nil }

func newJSONBody(ctx context.Context, r io.ReadCloser, reply string, count bool) (*jsonBody, error) {
	b, err := upstream.ReadAnswer(ctx, r, maxJSONAnswer)
	if err != nil {
		return nil, err
	}
	jb := &jsonBody{}
	if count {
		// https://ai.google.dev/api/tokens#response-body
		var v struct {
			TotalTokens             *int `json:"totalTokens"`
			CachedContentTokenCount int  `json:"cachedContentTokenCount"`
		}
		if json.Unmarshal(b, &v) != nil || v.TotalTokens == nil {
			return nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream sent an unreadable token count"}
		}
		jb.u, jb.seen = llm.Usage{PromptTokens: *v.TotalTokens, CachedTokens: v.CachedContentTokenCount}, true
	} else {
		r, ok := jb.note(b)
		if !ok {
			return nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream sent an unreadable response"}
		}
		if len(r.Candidates) == 0 && r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
			return nil, blockedError(r.PromptFeedback.BlockReason)
		}
		b = setModel(b, reply)
	}
	jb.Reader = bytes.NewReader(b)
	return jb, nil
}

// sseBody passes a stream through event by event, each as it came apart
// from its modelVersion; usage and text are read on the way.
type sseBody struct {
	ctx   context.Context
	body  io.ReadCloser
	r     *bufio.Reader
	reply string
	scan

	out []byte // the current frame, not yet read by the client
	err error  // sticky
}

// first reads up to and including the first event that carries data; an
// error object there is returned as the upstream's refusal.
func (s *sseBody) first() error {
	for {
		frame, err := upstream.ReadRawFrame(s.r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream ended the stream without an answer"}
			}
			return upstream.ReadError(s.ctx, err)
		}
		data := frameData(frame)
		if data != nil {
			var e geminiwire.ErrorResponse
			if json.Unmarshal(data, &e) == nil && e.Error != nil {
				return statusError(e.Error.Code, nil, data)
			}
		}
		s.out = append(s.out, s.pass(frame, data)...)
		if data != nil {
			return nil
		}
	}
}

// Read hands out the stream's bytes, one event at a time.
func (s *sseBody) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		frame, err := upstream.ReadRawFrame(s.r)
		if err != nil {
			s.err = err
			if !errors.Is(err, io.EOF) {
				s.err = upstream.ReadError(s.ctx, err)
			}
			continue
		}
		s.out = s.pass(frame, frameData(frame))
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

func (s *sseBody) Close() error { return s.body.Close() }

// pass notes an event and returns its bytes, modelVersion rewritten.
func (s *sseBody) pass(frame, data []byte) []byte {
	if data == nil {
		return frame
	}
	s.note(data)
	if s.reply == "" || !bytes.Contains(data, []byte(`"modelVersion"`)) {
		return frame
	}
	nd := setModel(data, s.reply)
	i := bytes.Index(frame, data)
	if i < 0 {
		return frame
	}
	out := make([]byte, 0, len(frame)+len(nd)-len(data))
	out = append(out, frame[:i]...)
	out = append(out, nd...)
	return append(out, frame[i+len(data):]...)
}

// frameData returns the data of a single-data-line event (Gemini's
// framing), or nil.
func frameData(frame []byte) []byte {
	for _, line := range bytes.Split(frame, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			return bytes.TrimPrefix(v, []byte(" "))
		}
	}
	return nil
}
