package openai

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
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

var _ llm.Forwarder = (*Client)(nil)

// Ops of the Responses protocol the pass-through lane forwards.
const (
	OpResponses   = "responses"
	OpInputTokens = "input_tokens"
)

// maxJSONAnswer bounds a non-streaming answer held to rewrite its model.
const maxJSONAnswer = 64 << 20

// Forwards reports whether p is Chat Completions, which every upstream of
// this adapter speaks, or the Responses API when the upstream serves it
// (OpenAI itself; OpenAI-compatible servers speak Chat Completions only).
func (c *Client) Forwards(p llm.Protocol) bool {
	return p == llm.OpenAIChat || c.responses && p == llm.OpenAIResponses
}

// Forward sends a Chat Completions request as forwardChat does, or a
// Responses request upstream with only its top-level model
// replaced, and returns the answer as it comes, its response.model naming
// req.ReplyModel. For a stream the first event is read before Forward
// returns, so that an error the upstream reports as its first event is
// returned here and the gateway may still retry.
func (c *Client) Forward(ctx context.Context, req *llm.RawRequest, model string) (*llm.RawResponse, error) {
	if req.Protocol == llm.OpenAIChat {
		return c.forwardChat(ctx, req, model)
	}
	body, found, err := upstream.SetString(req.Body, []string{"model"}, model)
	if err != nil || !found {
		return nil, llmservice.InvalidParam("model", "request body must be a JSON object with a model")
	}
	url := c.base + "/responses"
	if req.Op == OpInputTokens {
		url += "/input_tokens"
	}
	h := c.headers.Clone()
	h.Set("Content-Type", "application/json")
	resp, err := upstream.Do(ctx, c.hc, http.MethodPost, url, h, body)
	if err != nil {
		return nil, err
	}
	out := &llm.RawResponse{Status: resp.StatusCode, Header: map[string][]string{}}
	for _, k := range []string{"Content-Type", "X-Request-Id"} {
		if v := resp.Header.Values(k); len(v) > 0 {
			out.Header[k] = v
		}
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "text/event-stream" {
		b, err := newJSONBody(ctx, resp.Body, req.ReplyModel, req.Op == OpInputTokens)
		if err != nil {
			return nil, err
		}
		out.Body = b
		return out, nil
	}
	s := &sseBody{ctx: ctx, body: resp.Body, r: upstream.NewSSEReader(resp.Body), reply: req.ReplyModel}
	if err := s.first(); err != nil {
		_ = s.Close()
		return nil, err
	}
	out.Body = s
	return out, nil
}

// responsesUsage is the usage of a response object.
// https://platform.openai.com/docs/api-reference/responses/object#responses/object-usage
type responsesUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

// usageScan keeps what passed: usage and generated text.
type usageScan struct {
	u    llm.Usage
	seen bool
	text strings.Builder
}

func (s *usageScan) merge(u *responsesUsage) {
	if u == nil {
		return
	}
	s.seen = true
	s.u = llm.Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens,
		CachedTokens: u.InputTokensDetails.CachedTokens, ReasoningTokens: u.OutputTokensDetails.ReasoningTokens}
}

func (s *usageScan) Usage() (llm.Usage, bool) { return s.u, s.seen }
func (s *usageScan) Text() string             { return s.text.String() }

// responseObject is what the scanner reads of a response object.
type responseObject struct {
	Usage  *responsesUsage `json:"usage"`
	Output []struct {
		Arguments string `json:"arguments"`
		Input     string `json:"input"`
		Content   []struct {
			Text string `json:"text"`
		} `json:"content"`
		Summary []struct {
			Text string `json:"text"`
		} `json:"summary"`
	} `json:"output"`
}

func (s *usageScan) response(r *responseObject) {
	s.merge(r.Usage)
	if s.text.Len() > 0 {
		return
	}
	for _, it := range r.Output {
		s.text.WriteString(it.Arguments)
		s.text.WriteString(it.Input)
		for _, c := range it.Content {
			s.text.WriteString(c.Text)
		}
		for _, c := range it.Summary {
			s.text.WriteString(c.Text)
		}
	}
}

// jsonBody is a whole (non-streaming) answer held in memory with its model
// rewritten.
type jsonBody struct {
	*bytes.Reader
	usageScan
}

func (j *jsonBody) Close() error { return nil }

func newJSONBody(ctx context.Context, r io.ReadCloser, reply string, count bool) (*jsonBody, error) {
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxJSONAnswer+1))
	if err != nil {
		return nil, upstream.ReadError(ctx, err)
	}
	if len(b) > maxJSONAnswer {
		return nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream answer is too large"}
	}
	jb := &jsonBody{}
	if count {
		var v struct {
			InputTokens *int `json:"input_tokens"`
		}
		if json.Unmarshal(b, &v) != nil || v.InputTokens == nil {
			return nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream sent an unreadable token count"}
		}
		jb.u.PromptTokens, jb.seen = *v.InputTokens, true
	} else {
		var ro responseObject
		if err := json.Unmarshal(b, &ro); err != nil {
			return nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream sent an unreadable response", Err: err}
		}
		jb.response(&ro)
		if reply != "" {
			if nb, ok, err := upstream.SetString(b, []string{"model"}, reply); err == nil && ok {
				b = nb
			}
		}
	}
	jb.Reader = bytes.NewReader(b)
	return jb, nil
}

// sseBody passes a Responses event stream through event by event, each
// framed as OpenAI frames it (event and data lines, a blank line), the
// data as it came except the model of the response object the lifecycle
// events carry; usage and generated text are read on the way.
type sseBody struct {
	ctx   context.Context
	body  io.ReadCloser
	r     *upstream.SSEReader
	reply string
	usageScan

	out []byte
	err error
}

// first reads the first event; an error there is the upstream's refusal.
func (s *sseBody) first() error {
	ev, err := s.r.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream ended the stream without an answer"}
		}
		return upstream.ReadError(s.ctx, err)
	}
	typ := s.inspect(ev.Data)
	if typ == "error" || typ == "response.failed" {
		return upstream.StatusError(http.StatusBadGateway, nil, ev.Data)
	}
	s.out = s.frame(ev, typ)
	return nil
}

// Read hands out the stream's bytes, one event at a time.
func (s *sseBody) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		ev, err := s.r.Next()
		if err != nil {
			s.err = err
			if !errors.Is(err, io.EOF) {
				s.err = upstream.ReadError(s.ctx, err)
			}
			continue
		}
		s.out = s.frame(ev, s.inspect(ev.Data))
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

func (s *sseBody) Close() error { return s.body.Close() }

// inspect reads an event's type and notes its usage and text.
func (s *sseBody) inspect(data []byte) string {
	var e struct {
		Type     string          `json:"type"`
		Delta    json.RawMessage `json:"delta"`
		Response *responseObject `json:"response"`
	}
	if json.Unmarshal(data, &e) != nil {
		return ""
	}
	switch e.Type {
	case "response.output_text.delta", "response.function_call_arguments.delta", "response.reasoning_summary_text.delta",
		"response.reasoning_text.delta", "response.custom_tool_call_input.delta", "response.refusal.delta":
		var d string
		if json.Unmarshal(e.Delta, &d) == nil {
			s.text.WriteString(d)
		}
	case "response.completed", "response.incomplete", "response.failed":
		if e.Response != nil {
			s.response(e.Response)
		}
	}
	return e.Type
}

// frame encodes an event, its response.model set to the reply model.
func (s *sseBody) frame(ev upstream.Event, typ string) []byte {
	data := ev.Data
	if s.reply != "" && strings.HasPrefix(typ, "response.") {
		if nb, ok, err := upstream.SetString(data, []string{"response", "model"}, s.reply); err == nil && ok {
			data = nb
		}
	}
	name := ev.Name
	if name == "" {
		name = typ
	}
	out := make([]byte, 0, len(name)+len(data)+16)
	if name != "" {
		out = append(append(append(out, "event: "...), name...), '\n')
	}
	out = append(append(append(out, "data: "...), data...), "\n\n"...)
	return out
}
