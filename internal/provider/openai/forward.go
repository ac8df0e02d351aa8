package openai

import (
	"context"
	"encoding/json"
	"io"
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
	return upstream.Pass(ctx, resp, []string{"Content-Type", "X-Request-Id"},
		func(b []byte) ([]byte, upstream.Tally, error) {
			return wholeAnswer(b, req.ReplyModel, req.Op == OpInputTokens)
		},
		func(body io.ReadCloser) (llm.RawBody, error) {
			s := &sseBody{reply: req.ReplyModel}
			s.r = upstream.NewSSEReader(s.Watch(body))
			return s, s.Open(ctx, body, s.next, s.refuse)
		})
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
type usageScan struct{ upstream.Scan }

func (s *usageScan) merge(u *responsesUsage) {
	if u == nil {
		return
	}
	s.Note(llm.Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens,
		CachedTokens: u.InputTokensDetails.CachedTokens, ReasoningTokens: u.OutputTokensDetails.ReasoningTokens})
}

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
	if s.Kept() {
		return
	}
	for _, it := range r.Output {
		s.Keep(it.Arguments)
		s.Keep(it.Input)
		for _, c := range it.Content {
			s.Keep(c.Text)
		}
		for _, c := range it.Summary {
			s.Keep(c.Text)
		}
	}
}

// wholeAnswer reads a whole (non-streaming) answer and sets its model.
func wholeAnswer(b []byte, reply string, count bool) ([]byte, upstream.Tally, error) {
	if count {
		return upstream.CountAnswer(b)
	}
	s := &usageScan{}
	var ro responseObject
	if err := json.Unmarshal(b, &ro); err != nil {
		return nil, nil, &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream sent an unreadable response", Err: err}
	}
	s.response(&ro)
	if reply != "" {
		if nb, ok, err := upstream.SetString(b, []string{"model"}, reply); err == nil && ok {
			b = nb
		}
	}
	return b, s, nil
}

// sseBody passes a Responses event stream through event by event, each
// framed as OpenAI frames it (event and data lines, a blank line), the
// data as it came except the model of the response object the lifecycle
// events carry; usage and generated text are read on the way.
type sseBody struct {
	upstream.Relay
	usageScan
	r     *upstream.SSEReader
	reply string
}

func (s *sseBody) next() (out, data []byte, err error) {
	ev, err := s.r.Next()
	if err != nil {
		return nil, nil, err
	}
	return s.frame(ev, s.inspect(ev.Data)), ev.Data, nil
}

// refuse turns an error the upstream sends as its first event into the
// attempt's error.
func (s *sseBody) refuse(data []byte) error {
	var e struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &e) == nil && (e.Type == "error" || e.Type == "response.failed") {
		return upstream.StatusError(http.StatusBadGateway, nil, data)
	}
	return nil
}

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
			s.Keep(d)
		}
	case "response.completed", "response.incomplete", "response.failed":
		if e.Response != nil {
			s.response(e.Response)
		}
		s.Ended() // the stream's terminal event
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
