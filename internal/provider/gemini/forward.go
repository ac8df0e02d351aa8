package gemini

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"

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
	return upstream.Pass(ctx, resp, []string{"Content-Type"},
		func(b []byte) ([]byte, upstream.Tally, error) { return wholeAnswer(b, reply, req.Op == OpCountTokens) },
		func(body io.ReadCloser) (llm.RawBody, error) {
			s := &sseBody{reply: reply}
			s.r = bufio.NewReaderSize(s.Watch(body), 16<<10)
			return s, s.Open(ctx, body, s.next, refuse)
		})
}

// scan accumulates what passes: usageMetadata holds running totals, so
// the last one seen is the answer's; text for a local count when the
// upstream reports none.
type scan struct{ upstream.Scan }

// note reads one GenerateContentResponse (a whole answer or a stream
// event).
func (s *scan) note(data []byte) (*geminiwire.GenerateContentResponse, bool) {
	var r geminiwire.GenerateContentResponse
	if json.Unmarshal(data, &r) != nil {
		return nil, false
	}
	if r.UsageMetadata != nil {
		s.Note(usage(r.UsageMetadata))
	}
	for _, c := range r.Candidates {
		if c.Content == nil {
			continue
		}
		for _, p := range c.Content.Parts {
			s.Keep(p.Text)
			if p.FunctionCall != nil {
				s.Keep(string(p.FunctionCall.Args))
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

// wholeAnswer reads a whole answer (or a token count) and sets its model.
func wholeAnswer(b []byte, reply string, count bool) ([]byte, upstream.Tally, error) {
	s := &scan{}
	if count {
		// https://ai.google.dev/api/tokens#response-body
		var v struct {
			TotalTokens             *int `json:"totalTokens"`
			CachedContentTokenCount int  `json:"cachedContentTokenCount"`
		}
		if json.Unmarshal(b, &v) != nil || v.TotalTokens == nil {
			return nil, nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream sent an unreadable token count"}
		}
		s.Note(llm.Usage{PromptTokens: *v.TotalTokens, CachedTokens: v.CachedContentTokenCount})
		return b, s, nil
	}
	r, ok := s.note(b)
	if !ok {
		return nil, nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream sent an unreadable response"}
	}
	if len(r.Candidates) == 0 && r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
		return nil, nil, blockedError(r.PromptFeedback.BlockReason)
	}
	return setModel(b, reply), s, nil
}

// sseBody passes a stream through event by event, each as it came apart
// from its modelVersion; usage and text are read on the way.
type sseBody struct {
	upstream.Relay
	scan
	r     *bufio.Reader
	reply string
	data  []byte
}

// next reads one event, notes it and rewrites its modelVersion.
func (s *sseBody) next() (out, data []byte, err error) {
	frame, err := upstream.ReadRawFrame(s.r)
	if err != nil {
		return nil, nil, err
	}
	s.data = upstream.FrameData(frame, s.data)
	if s.data == nil {
		return frame, nil, nil
	}
	s.note(s.data)
	if s.reply != "" && bytes.Contains(s.data, []byte(`"modelVersion"`)) {
		frame = upstream.SetFrameString(frame, s.data, []string{"modelVersion"}, s.reply)
	}
	return frame, s.data, nil
}

// refuse turns an error object the upstream sends first into the
// attempt's error.
func refuse(data []byte) error {
	var e geminiwire.ErrorResponse
	if json.Unmarshal(data, &e) == nil && e.Error != nil {
		return statusError(e.Error.Code, nil, data)
	}
	return nil
}
