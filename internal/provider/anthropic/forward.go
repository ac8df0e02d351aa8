package anthropic

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"

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
	return upstream.Pass(ctx, resp, []string{"Content-Type", "Request-Id"},
		func(b []byte) ([]byte, upstream.Tally, error) {
			return wholeAnswer(b, req.ReplyModel, req.Op == OpCountTokens)
		},
		func(body io.ReadCloser) (llm.RawBody, error) {
			s := &sseBody{reply: req.ReplyModel}
			s.r = bufio.NewReaderSize(s.Watch(body), 16<<10)
			return s, s.Open(ctx, body, s.next, refuse)
		})
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
	upstream.Scan
	input, output, cacheWrite, cacheRead, write5m, write1h int
	tiers                                                  bool
}

// merge adds a usage object: each count it has replaces the one before.
// The total is in the canonical accounting (toUsage): the prompt includes
// cache reads and writes; writes without a tier breakdown count as the
// default five-minute tier.
func (u *usageScan) merge(w *wireUsage) {
	if w == nil {
		return
	}
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
	t := wire.Usage{InputTokens: u.input, OutputTokens: u.output, CacheCreationInputTokens: u.cacheWrite, CacheReadInputTokens: u.cacheRead}
	if u.tiers {
		t.CacheCreation = &wire.CacheCreation{Ephemeral5mInputTokens: u.write5m, Ephemeral1hInputTokens: u.write1h}
	}
	u.Note(toUsage(&t))
}

// wholeAnswer reads a whole (non-streaming) answer and sets its model.
func wholeAnswer(b []byte, reply string, count bool) ([]byte, upstream.Tally, error) {
	if count {
		return upstream.CountAnswer(b)
	}
	s := &usageScan{}
	var m struct {
		Usage   *wireUsage `json:"usage"`
		Content []struct {
			Text     string          `json:"text"`
			Thinking string          `json:"thinking"`
			Input    json.RawMessage `json:"input"`
		} `json:"content"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream sent an unreadable response", Err: err}
	}
	s.merge(m.Usage)
	for _, c := range m.Content {
		s.Keep(c.Text)
		s.Keep(c.Thinking)
		s.Keep(string(c.Input))
	}
	if reply != "" {
		if nb, ok, err := upstream.SetString(b, []string{"model"}, reply); err == nil && ok {
			b = nb
		}
	}
	return b, s, nil
}

// sseBody passes a Messages event stream through frame by frame: each
// frame's bytes go to the client as they came, except message_start's,
// whose model is rewritten; usage and generated text are read on the way.
type sseBody struct {
	upstream.Relay
	usageScan
	r     *bufio.Reader
	reply string
	data  []byte
}

// next reads one frame; its data counts as such once it parses as an
// event with a type.
func (s *sseBody) next() (out, data []byte, err error) {
	frame, err := upstream.ReadRawFrame(s.r)
	if err != nil {
		return nil, nil, err
	}
	typ, data := s.inspect(frame)
	if typ == "" {
		data = nil
	}
	if typ == "message_start" && s.reply != "" {
		frame = upstream.SetFrameString(frame, data, []string{"message", "model"}, s.reply)
	}
	return frame, data, nil
}

// refuse turns an error event the upstream sends first into the attempt's
// error, with the status its type stands for.
func refuse(data []byte) error {
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &e) != nil || e.Type != "error" {
		return nil
	}
	return upstream.StatusError(errorStatus(e.Error.Type), nil, data)
}

// inspect reads the event's type and data and notes its usage and text.
func (s *sseBody) inspect(frame []byte) (typ string, data []byte) {
	s.data = upstream.FrameData(frame, s.data)
	if s.data == nil {
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
	case "message_stop":
		s.Ended() // the stream's terminal event
	case "content_block_delta":
		if d := e.Delta; d != nil {
			s.Keep(d.Text)
			s.Keep(d.Thinking)
			s.Keep(d.PartialJSON)
		}
	}
	return e.Type, s.data
}
