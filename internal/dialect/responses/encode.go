package responses

import (
	"encoding/json"
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// The response object of the translation lane.
// https://platform.openai.com/docs/api-reference/responses/object
type response struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	CreatedAt          int64             `json:"created_at"`
	Status             string            `json:"status"`
	CompletedAt        *int64            `json:"completed_at"`
	Error              *respError        `json:"error"`
	IncompleteDetails  *incomplete       `json:"incomplete_details"`
	Instructions       *string           `json:"instructions"`
	MaxOutputTokens    *int              `json:"max_output_tokens"`
	Model              string            `json:"model"`
	Output             []outItem         `json:"output"`
	ParallelToolCalls  bool              `json:"parallel_tool_calls"`
	PreviousResponseID *string           `json:"previous_response_id"`
	Reasoning          json.RawMessage   `json:"reasoning"`
	Store              bool              `json:"store"`
	Temperature        float64           `json:"temperature"`
	Text               json.RawMessage   `json:"text"`
	ToolChoice         json.RawMessage   `json:"tool_choice"`
	Tools              []json.RawMessage `json:"tools"`
	TopP               float64           `json:"top_p"`
	Truncation         string            `json:"truncation"`
	Usage              *outUsage         `json:"usage"`
	User               *string           `json:"user"`
	Metadata           map[string]string `json:"metadata"`
}

type respError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type incomplete struct {
	Reason string `json:"reason"`
}

// outItem is an output item; each type carries its own fields.
type outItem struct {
	ID               string        `json:"id"`
	Type             string        `json:"type"`
	Status           string        `json:"status,omitempty"`
	Role             string        `json:"role,omitempty"`
	Content          *[]outPart    `json:"content,omitempty"`
	Summary          *[]outSummary `json:"summary,omitempty"`
	CallID           string        `json:"call_id,omitempty"`
	Name             string        `json:"name,omitempty"`
	Arguments        *string       `json:"arguments,omitempty"`
	Input            *string       `json:"input,omitempty"`
	EncryptedContent *string       `json:"encrypted_content,omitempty"`
}

type outPart struct {
	Type        string   `json:"type"`
	Text        string   `json:"text"`
	Annotations []string `json:"annotations"`
	Logprobs    []string `json:"logprobs"`
}

type outSummary struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type outUsage struct {
	InputTokens         int          `json:"input_tokens"`
	InputTokensDetails  cachedDetail `json:"input_tokens_details"`
	OutputTokens        int          `json:"output_tokens"`
	OutputTokensDetails reasonDetail `json:"output_tokens_details"`
	TotalTokens         int          `json:"total_tokens"`
}

type cachedDetail struct {
	CachedTokens int `json:"cached_tokens"`
}

type reasonDetail struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

func usageFromLLM(u llm.Usage) *outUsage {
	return &outUsage{InputTokens: u.PromptTokens, InputTokensDetails: cachedDetail{u.CachedTokens}, OutputTokens: u.CompletionTokens,
		OutputTokensDetails: reasonDetail{u.ReasoningTokens}, TotalTokens: u.Total()}
}

func ptr[T any](v T) *T { return &v }

// newResponse is the response object before its output, echoing the
// request's settings as OpenAI does.
func newResponse(d *decoded, now int64) *response {
	r := d.req
	out := &response{
		ID: gateway.NewID("resp_"), Object: "response", CreatedAt: now, Status: "in_progress", Model: r.Model,
		Output: []outItem{}, ParallelToolCalls: r.ParallelToolCalls == nil || *r.ParallelToolCalls, Store: r.stored(),
		Instructions: r.Instructions, MaxOutputTokens: r.MaxOutputTokens, Reasoning: r.Reasoning, Temperature: 1, TopP: 1,
		Text: json.RawMessage(`{"format":{"type":"text"}}`), ToolChoice: json.RawMessage(`"auto"`), Tools: []json.RawMessage{},
		Truncation: "disabled", Metadata: r.Metadata,
	}
	if out.Reasoning == nil {
		out.Reasoning = json.RawMessage("null")
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	if r.PreviousResponseID != "" {
		out.PreviousResponseID = ptr(r.PreviousResponseID)
	}
	if r.Temperature != nil {
		out.Temperature = *r.Temperature
	}
	if r.TopP != nil {
		out.TopP = *r.TopP
	}
	if r.Text != nil && r.Text.Format != nil {
		b, _ := json.Marshal(map[string]any{"format": r.Text.Format})
		out.Text = b
	}
	if len(r.ToolChoice) > 0 {
		out.ToolChoice = r.ToolChoice
	}
	for _, t := range r.Tools {
		b, _ := json.Marshal(t)
		out.Tools = append(out.Tools, b)
	}
	if r.User != "" {
		out.User = ptr(r.User)
	}
	return out
}

// finish sets the response's final status from the finish reason.
func (r *response) finish(finish string, u llm.Usage, now int64) {
	r.Usage = usageFromLLM(u)
	if finish == llm.FinishLength {
		r.Status = "incomplete"
		r.IncompleteDetails = &incomplete{Reason: "max_output_tokens"}
		return
	}
	if finish == llm.FinishContentFilter {
		r.Status = "incomplete"
		r.IncompleteDetails = &incomplete{Reason: "content_filter"}
		return
	}
	r.Status = "completed"
	r.CompletedAt = ptr(now)
}

// callItem is a tool call as an output item: a custom_tool_call for the
// tools the client declared as custom (their input is the one string the
// translation gave them), a function_call otherwise.
func callItem(d *decoded, id, name, args string, done bool) outItem {
	status := "in_progress"
	if done {
		status = "completed"
	}
	if id == "" {
		id = gateway.NewID("call_")
	}
	if d.custom[name] {
		in := ""
		if done {
			in = customInput(args)
		}
		return outItem{ID: gateway.NewID("ctc_"), Type: "custom_tool_call", Status: status, CallID: id, Name: name, Input: ptr(in)}
	}
	if !done {
		args = ""
	}
	return outItem{ID: gateway.NewID("fc_"), Type: "function_call", Status: status, CallID: id, Name: name, Arguments: ptr(args)}
}

// customInput takes a custom tool's input out of its translated arguments.
func customInput(args string) string {
	var v struct {
		Input string `json:"input"`
	}
	if json.Unmarshal([]byte(args), &v) == nil {
		return v.Input
	}
	return args
}

func messageItem(text string, done bool) outItem {
	parts := []outPart{}
	status := "in_progress"
	if done {
		parts = append(parts, textPart(text))
		status = "completed"
	}
	return outItem{ID: gateway.NewID("msg_"), Type: "message", Status: status, Role: "assistant", Content: &parts}
}

func textPart(text string) outPart {
	return outPart{Type: "output_text", Text: text, Annotations: []string{}, Logprobs: []string{}}
}

func reasoningItem(text string, done bool) outItem {
	s := []outSummary{}
	if done && text != "" {
		s = append(s, outSummary{Type: "summary_text", Text: text})
	}
	return outItem{ID: gateway.NewID("rs_"), Type: "reasoning", Summary: &s}
}

// responseFromLLM encodes a translated non-streaming answer: reasoning,
// the message, then one item per tool call.
func responseFromLLM(d *decoded, res *gateway.Result, now int64) *response {
	r := newResponse(d, now)
	finish := llm.FinishStop
	if len(res.Response.Choices) > 0 {
		c := res.Response.Choices[0]
		finish = c.FinishReason
		thinking, text := "", ""
		for _, p := range c.Message.Content {
			switch p.Type {
			case llm.PartThinking:
				thinking += p.Text
			case llm.PartText:
				text += p.Text
			}
		}
		if thinking != "" {
			r.Output = append(r.Output, reasoningItem(thinking, true))
		}
		if text != "" || len(c.Message.ToolCalls) == 0 {
			r.Output = append(r.Output, messageItem(text, true))
		}
		for _, tc := range c.Message.ToolCalls {
			r.Output = append(r.Output, callItem(d, tc.ID, tc.Name, tc.Arguments, true))
		}
	}
	r.finish(finish, res.Usage, now)
	return r
}

// Stream events. Every event carries its type and a sequence number
// counted from 0.
type event map[string]any

// streamEncoder turns canonical chunks into a Responses event stream: one
// output item per run of reasoning, text or a tool call, each opened with
// output_item.added and closed with output_item.done (the event Codex
// builds its items from), then response.completed, .incomplete or .failed.
type streamEncoder struct {
	w    http.ResponseWriter
	d    *decoded
	resp *response
	seq  int
	err  error

	open  *outItem // the open item, or nil
	index int      // its output_index
	text  string   // its accumulated text or arguments
	tool  int      // the canonical index of the open tool call
	name  string   // the open tool call's name
}

func (e *streamEncoder) send(name string, ev event) {
	if e.err != nil {
		return
	}
	ev["type"] = name
	ev["sequence_number"] = e.seq
	e.seq++
	b, _ := json.Marshal(ev)
	e.err = httpx.SSEEvent(e.w, name, b)
}

func (e *streamEncoder) begin(it outItem) {
	e.close()
	e.open, e.index, e.text = &it, len(e.resp.Output), ""
	e.resp.Output = append(e.resp.Output, it)
	e.send("response.output_item.added", event{"output_index": e.index, "item": it})
	switch it.Type {
	case "message":
		e.send("response.content_part.added", event{"item_id": it.ID, "output_index": e.index, "content_index": 0, "part": textPart("")})
	case "reasoning":
		e.send("response.reasoning_summary_part.added", event{"item_id": it.ID, "output_index": e.index, "summary_index": 0,
			"part": outSummary{Type: "summary_text"}})
	}
}

// close finishes the open item.
func (e *streamEncoder) close() {
	it := e.open
	if it == nil {
		return
	}
	e.open = nil
	base := func() event { return event{"item_id": it.ID, "output_index": e.index} }
	switch it.Type {
	case "message":
		ev := base()
		ev["content_index"], ev["text"], ev["logprobs"] = 0, e.text, []string{}
		e.send("response.output_text.done", ev)
		ev = base()
		ev["content_index"], ev["part"] = 0, textPart(e.text)
		e.send("response.content_part.done", ev)
		parts := []outPart{textPart(e.text)}
		it.Content, it.Status = &parts, "completed"
	case "reasoning":
		ev := base()
		ev["summary_index"], ev["text"] = 0, e.text
		e.send("response.reasoning_summary_text.done", ev)
		ev = base()
		ev["summary_index"], ev["part"] = 0, outSummary{Type: "summary_text", Text: e.text}
		e.send("response.reasoning_summary_part.done", ev)
		s := []outSummary{{Type: "summary_text", Text: e.text}}
		it.Summary = &s
	case "function_call":
		args := e.text
		if args == "" {
			args = "{}"
		}
		ev := base()
		ev["name"], ev["arguments"] = it.Name, args
		e.send("response.function_call_arguments.done", ev)
		it.Arguments, it.Status = &args, "completed"
	case "custom_tool_call":
		in := customInput(e.text)
		ev := base()
		ev["delta"] = in
		e.send("response.custom_tool_call_input.delta", ev)
		ev = base()
		ev["input"] = in
		e.send("response.custom_tool_call_input.done", ev)
		it.Input, it.Status = &in, "completed"
	}
	e.resp.Output[e.index] = *it
	e.send("response.output_item.done", event{"output_index": e.index, "item": *it})
}

// chunk encodes one canonical chunk.
func (e *streamEncoder) chunk(ch *llm.Chunk) {
	if ch.Thinking != "" {
		if e.open == nil || e.open.Type != "reasoning" {
			e.begin(reasoningItem("", false))
		}
		e.text += ch.Thinking
		e.send("response.reasoning_summary_text.delta", event{"item_id": e.open.ID, "output_index": e.index, "summary_index": 0, "delta": ch.Thinking})
	}
	if ch.Text != "" {
		if e.open == nil || e.open.Type != "message" {
			e.begin(messageItem("", false))
		}
		e.text += ch.Text
		e.send("response.output_text.delta", event{"item_id": e.open.ID, "output_index": e.index, "content_index": 0,
			"delta": ch.Text, "logprobs": []string{}})
	}
	for _, tc := range ch.ToolCalls {
		isCall := e.open != nil && (e.open.Type == "function_call" || e.open.Type == "custom_tool_call")
		if !isCall || e.tool != tc.Index {
			e.begin(callItem(e.d, tc.ID, tc.Name, "", false))
			e.tool = tc.Index
		}
		if tc.Arguments != "" {
			e.text += tc.Arguments
			if e.open.Type == "function_call" {
				e.send("response.function_call_arguments.delta", event{"item_id": e.open.ID, "output_index": e.index, "delta": tc.Arguments})
			}
		}
	}
}

// streamResponse writes a translated stream and settles it.
func streamResponse(w http.ResponseWriter, s *gateway.StreamResult, d *decoded, now func() int64, keep func(*response)) error {
	defer s.Close()
	httpx.StartSSE(w)
	e := &streamEncoder{w: w, d: d, resp: newResponse(d, now())}
	e.send("response.created", event{"response": *e.resp})
	e.send("response.in_progress", event{"response": *e.resp})
	finish := ""
	sawTool := false
	failed, gone := httpx.RelayChunks(s, func(ch *llm.Chunk) error {
		if len(ch.ToolCalls) > 0 {
			sawTool = true
		}
		if ch.FinishReason != "" {
			finish = ch.FinishReason
		}
		e.chunk(ch)
		return e.err
	})
	if failed != nil {
		e.close()
		le := llmservice.AsError(failed)
		e.resp.Status = "failed"
		e.resp.Error = &respError{Code: errorCode(le), Message: le.Message}
		e.resp.Usage = usageFromLLM(gateway.StreamUsage(s))
		e.send("response.failed", event{"response": *e.resp})
		return nil
	}
	if gone != nil {
		return nil // client went away; Close settles the call
	}
	e.close()
	if sawTool && (finish == "" || finish == llm.FinishStop) {
		finish = llm.FinishToolCalls
	}
	e.resp.finish(finish, gateway.StreamUsage(s), now())
	if keep != nil {
		keep(e.resp)
	}
	name := "response.completed"
	if e.resp.Status == "incomplete" {
		name = "response.incomplete"
	}
	e.send(name, event{"response": *e.resp})
	return nil
}

// errorCode is a failed response's error.code.
func errorCode(e *llmservice.Error) string {
	b := wire.NewErrorBody(e)
	if b.Error.Code != nil {
		return *b.Error.Code
	}
	switch e.Kind {
	case llmservice.RateLimited:
		return "rate_limit_exceeded"
	case llmservice.Invalid:
		return "invalid_prompt"
	}
	return "server_error"
}
