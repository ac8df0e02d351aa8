package anthropic

import (
	"bufio"
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
	"github.com/llmservice/llmservice/internal/provider/upstream"
	wire "github.com/llmservice/llmservice/internal/wire/anthropic"
)

var _ llm.Forwarder = (*Client)(nil)

// Ops of the Messages protocol the pass-through lane forwards.
const (
	OpMessages    = "messages"
	OpCountTokens = "count_tokens"
)

// forwardHeaders are the client headers that reach the upstream as sent:
// the API version and beta flags decide what the body means.
var forwardHeaders = []string{"Anthropic-Version", "Anthropic-Beta"}

// maxJSONAnswer bounds a non-streaming answer held to rewrite its model.
const maxJSONAnswer = 64 << 20

// Forwards reports whether p is the Messages API.
func (c *Client) Forwards(p llm.Protocol) bool { return p == llm.AnthropicMessages }

// Forward sends a Messages request upstream with only its top-level model
// replaced, and returns the answer as it comes, its model field naming
// req.ReplyModel. For a stream the first event is read before Forward
// returns, so that an error the upstream reports as its first event (an
// overloaded_error) is returned here and the gateway may still retry.
func (c *Client) Forward(ctx context.Context, req *llm.RawRequest, model string) (*llm.RawResponse, error) {
	body, found, err := upstream.SetString(req.Body, []string{"model"}, model)
	if err != nil || !found {
		return nil, llmservice.InvalidParam("model", "request body must be a JSON object with a model")
	}
	url := c.url
	if req.Op == OpCountTokens {
		url += "/count_tokens"
	}
	h := c.header.Clone()
	for _, k := range forwardHeaders {
		if v := http.Header(req.Header).Values(k); len(v) > 0 {
			h[k] = v
		}
	}
	resp, err := upstream.Do(ctx, c.hc, http.MethodPost, url, h, body)
	if err != nil {
		return nil, err
	}
	out := &llm.RawResponse{Status: resp.StatusCode, Header: map[string][]string{}}
	for _, k := range []string{"Content-Type", "Request-Id"} {
		if v := resp.Header.Values(k); len(v) > 0 {
			out.Header[k] = v
		}
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "text/event-stream" {
		b, err := newJSONBody(ctx, resp.Body, req.ReplyModel, req.Op == OpCountTokens)
		if err != nil {
			return nil, err
		}
		out.Body = b
		return out, nil
	}
	s := &sseBody{ctx: ctx, body: resp.Body, r: bufio.NewReaderSize(resp.Body, 16<<10), reply: req.ReplyModel}
	if err := s.first(); err != nil {
		_ = s.Close()
		return nil, err
	}
	out.Body = s
	return out, nil
}

// wireUsage is every usage field of the Messages API the gateway bills
// from, in message_start, message_delta and a whole message. Pointers tell
// an absent count (message_delta of older versions) from a zero.
// https://platform.claude.com/docs/en/build-with-claude/prompt-caching
type wireUsage struct {
	InputTokens              *int `json:"input_tokens"`
	OutputTokens             *int `json:"output_tokens"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
	CacheCreation            *struct {
		Ephemeral5m *int `json:"ephemeral_5m_input_tokens"`
		Ephemeral1h *int `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
}

// usageScan accumulates usage as frames pass.
type usageScan struct {
	input, output, cacheWrite, cacheRead, write5m, write1h int
	tiers                                                  bool
	seen                                                   bool
	text                                                   strings.Builder
}

func (u *usageScan) merge(w *wireUsage) {
	if w == nil {
		return
	}
	u.seen = true
	set := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	set(&u.input, w.InputTokens)
	set(&u.output, w.OutputTokens)
	set(&u.cacheWrite, w.CacheCreationInputTokens)
	set(&u.cacheRead, w.CacheReadInputTokens)
	if cc := w.CacheCreation; cc != nil {
		u.tiers = true
		set(&u.write5m, cc.Ephemeral5m)
		set(&u.write1h, cc.Ephemeral1h)
	}
}

// Usage converts to the canonical accounting (toUsage): the prompt includes
// cache reads and writes; writes without a tier breakdown count as the
// default five-minute tier.
func (u *usageScan) Usage() (llm.Usage, bool) {
	w := wire.Usage{InputTokens: u.input, OutputTokens: u.output, CacheCreationInputTokens: u.cacheWrite, CacheReadInputTokens: u.cacheRead}
	if u.tiers {
		w.CacheCreation = &wire.CacheCreation{Ephemeral5mInputTokens: u.write5m, Ephemeral1hInputTokens: u.write1h}
	}
	return toUsage(&w), u.seen
}

func (u *usageScan) Text() string { return u.text.String() }

// jsonBody is a whole (non-streaming) answer held in memory with its model
// rewritten.
type jsonBody struct {
	*bytes.Reader
	usageScan
}

func newJSONBody(ctx context.Context, r io.ReadCloser, reply string, count bool) (*jsonBody, error) {
	b, err := upstream.ReadAnswer(ctx, r, maxJSONAnswer)
	if err != nil {
		return nil, err
	}
	jb := &jsonBody{}
	if count {
		var v struct {
			InputTokens *int `json:"input_tokens"`
		}
		if json.Unmarshal(b, &v) != nil || v.InputTokens == nil {
			return nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream sent an unreadable token count"}
		}
		jb.input, jb.seen = *v.InputTokens, true
	} else {
		var m struct {
			Usage   *wireUsage `json:"usage"`
			Content []struct {
				Text     string          `json:"text"`
				Thinking string          `json:"thinking"`
				Input    json.RawMessage `json:"input"`
			} `json:"content"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream sent an unreadable response", Err: err}
		}
		jb.merge(m.Usage)
		for _, c := range m.Content {
			jb.text.WriteString(c.Text)
			jb.text.WriteString(c.Thinking)
			jb.text.Write(c.Input)
		}
		if reply != "" {
			if nb, ok, err := upstream.SetString(b, []string{"model"}, reply); err == nil && ok {
				b = nb
			}
		}
	}
	jb.Reader = bytes.NewReader(b)
	return jb, nil
}

func (j *jsonBody) Close() error { return nil }

// sseBody passes a Messages event stream through frame by frame: each
// frame's bytes go to the client as they came, except message_start's,
// whose model is rewritten; usage and generated text are read on the way.
type sseBody struct {
	ctx   context.Context
	body  io.ReadCloser
	r     *bufio.Reader
	reply string
	usageScan

	out  []byte // the current frame, not yet read by the client
	err  error  // sticky
	data []byte
}

// first reads up to and including the first frame that carries data; an
// error event there is returned as the upstream's refusal.
func (s *sseBody) first() error {
	for {
		frame, err := s.frame()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream ended the stream without an answer"}
			}
			return err
		}
		typ, data := s.inspect(frame)
		if typ == "error" {
			var e struct {
				Error struct {
					Type string `json:"type"`
				} `json:"error"`
			}
			_ = json.Unmarshal(data, &e)
			return upstream.StatusError(errorStatus(e.Error.Type), nil, data)
		}
		s.out = append(s.out, s.rewrite(frame, typ)...)
		if typ != "" {
			return nil
		}
	}
}

// Read hands out the stream's bytes, one frame at a time.
func (s *sseBody) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		frame, err := s.frame()
		if err != nil {
			s.err = err
			if !errors.Is(err, io.EOF) {
				s.err = upstream.ReadError(s.ctx, err)
			}
			continue
		}
		typ, _ := s.inspect(frame)
		s.out = s.rewrite(frame, typ)
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

func (s *sseBody) Close() error { return s.body.Close() }

// frame reads one event as its bytes.
func (s *sseBody) frame() ([]byte, error) { return upstream.ReadRawFrame(s.r) }

// inspect reads the event's type and data and notes its usage and text.
func (s *sseBody) inspect(frame []byte) (typ string, data []byte) {
	s.data = s.data[:0]
	n := 0
	for _, line := range bytes.Split(frame, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if n > 0 {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, bytes.TrimPrefix(v, []byte(" "))...)
			n++
		}
	}
	if n == 0 {
		return "", nil
	}
	var e struct {
		Type    string `json:"type"`
		Message *struct {
			Usage *wireUsage `json:"usage"`
		} `json:"message"`
		Usage *wireUsage `json:"usage"`
		Delta *struct {
			Text        string `json:"text"`
			Thinking    string `json:"thinking"`
			PartialJSON string `json:"partial_json"`
		} `json:"delta"`
	}
	if json.Unmarshal(s.data, &e) != nil {
		return "", s.data
	}
	switch e.Type {
	case "message_start":
		if e.Message != nil {
			s.merge(e.Message.Usage)
		}
	case "message_delta":
		s.merge(e.Usage)
	case "content_block_delta":
		if d := e.Delta; d != nil {
			s.text.WriteString(d.Text)
			s.text.WriteString(d.Thinking)
			s.text.WriteString(d.PartialJSON)
		}
	}
	return e.Type, s.data
}

// rewrite sets message_start's message.model to the reply model; every
// other frame is returned as it is.
func (s *sseBody) rewrite(frame []byte, typ string) []byte {
	if typ != "message_start" || s.reply == "" {
		return frame
	}
	i := bytes.Index(frame, []byte("data:"))
	if i < 0 {
		return frame
	}
	j := bytes.IndexByte(frame[i:], '\n')
	if j < 0 {
		j = len(frame) - i
	}
	line := frame[i : i+j]
	head := 5
	if len(line) > 5 && line[5] == ' ' {
		head = 6
	}
	payload := bytes.TrimRight(line[head:], "\r")
	nb, ok, err := upstream.SetString(payload, []string{"message", "model"}, s.reply)
	if err != nil || !ok {
		return frame
	}
	out := make([]byte, 0, len(frame)+len(nb)-len(payload))
	out = append(out, frame[:i+head]...)
	out = append(out, nb...)
	out = append(out, frame[i+head+len(payload):]...)
	return out
}
