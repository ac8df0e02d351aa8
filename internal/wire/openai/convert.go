package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

// ToLLM validates a decoded request and converts it to the canonical form.
// Errors are *llmservice.Error of kind Invalid naming the field.
func (r *ChatRequest) ToLLM() (*llm.ChatRequest, error) {
	if r.Model == "" {
		return nil, llmservice.InvalidParam("model", "model is required")
	}
	if len(r.Messages) == 0 {
		return nil, llmservice.InvalidParam("messages", "messages must be a non-empty array")
	}
	out := &llm.ChatRequest{
		Model:            r.Model,
		MaxTokens:        r.MaxTokens,
		Temperature:      r.Temperature,
		TopP:             r.TopP,
		FrequencyPenalty: r.FrequencyPenalty,
		PresencePenalty:  r.PresencePenalty,
		Stop:             r.Stop,
		Seed:             r.Seed,
		N:                r.N,
		User:             r.User,
		Stream:           r.Stream,
		IncludeUsage:     r.StreamOptions != nil && r.StreamOptions.IncludeUsage,
		Extra:            r.Extra,
	}
	if r.MaxCompletionTokens != nil {
		// Checked here so that the error names the field the client sent.
		if *r.MaxCompletionTokens < 1 {
			return nil, llmservice.InvalidParam("max_completion_tokens", "max_completion_tokens must be at least 1")
		}
		out.MaxTokens = r.MaxCompletionTokens
	}
	if err := checkRanges(out); err != nil {
		return nil, err
	}
	msgs, err := MessagesToLLM(r.Messages)
	if err != nil {
		return nil, err
	}
	out.Messages = msgs
	for i, t := range r.Tools {
		if t.Type != "" && t.Type != "function" {
			return nil, llmservice.InvalidParam(fmt.Sprintf("tools[%d].type", i), "unsupported tool type %q; expected \"function\"", t.Type)
		}
		if t.Function.Name == "" {
			return nil, llmservice.InvalidParam(fmt.Sprintf("tools[%d].function.name", i), "tool function name is required")
		}
		out.Tools = append(out.Tools, llm.Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters, Strict: t.Function.Strict})
	}
	if len(r.ToolChoice) > 0 {
		tc, err := toolChoiceToLLM(r.ToolChoice)
		if err != nil {
			return nil, err
		}
		out.ToolChoice = tc
	}
	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case llm.FormatText:
		case llm.FormatJSONObject:
			out.ResponseFormat = &llm.ResponseFormat{Type: rf.Type}
		case llm.FormatJSONSchema:
			if rf.JSONSchema == nil || rf.JSONSchema.Name == "" {
				return nil, llmservice.InvalidParam("response_format.json_schema", "json_schema with a name is required when type is json_schema")
			}
			out.ResponseFormat = &llm.ResponseFormat{Type: rf.Type, Name: rf.JSONSchema.Name, Schema: rf.JSONSchema.Schema, Strict: rf.JSONSchema.Strict}
		default:
			return nil, llmservice.InvalidParam("response_format.type", "unsupported response_format type %q; expected text, json_object or json_schema", rf.Type)
		}
	}
	return out, nil
}

// checkRanges applies OpenAI's documented bounds, so a bad value fails here
// with a clear message rather than upstream with a vague one.
func checkRanges(r *llm.ChatRequest) error {
	if r.MaxTokens != nil && *r.MaxTokens < 1 {
		return llmservice.InvalidParam("max_tokens", "max_tokens must be at least 1")
	}
	if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 2) {
		return llmservice.InvalidParam("temperature", "temperature must be between 0 and 2")
	}
	if r.TopP != nil && (*r.TopP < 0 || *r.TopP > 1) {
		return llmservice.InvalidParam("top_p", "top_p must be between 0 and 1")
	}
	if r.FrequencyPenalty != nil && (*r.FrequencyPenalty < -2 || *r.FrequencyPenalty > 2) {
		return llmservice.InvalidParam("frequency_penalty", "frequency_penalty must be between -2 and 2")
	}
	if r.PresencePenalty != nil && (*r.PresencePenalty < -2 || *r.PresencePenalty > 2) {
		return llmservice.InvalidParam("presence_penalty", "presence_penalty must be between -2 and 2")
	}
	if r.N != nil && (*r.N < 1 || *r.N > 128) {
		return llmservice.InvalidParam("n", "n must be between 1 and 128")
	}
	if len(r.Stop) > 4 {
		return llmservice.InvalidParam("stop", "stop accepts at most 4 sequences")
	}
	return nil
}

// MessagesToLLM converts and validates OpenAI messages.
func MessagesToLLM(in []Message) ([]llm.Message, error) {
	out := make([]llm.Message, len(in))
	for i := range in {
		m := &in[i]
		field := func(f string) string { return fmt.Sprintf("messages[%d].%s", i, f) }
		switch m.Role {
		case llm.RoleSystem, llm.RoleUser, llm.RoleAssistant, llm.RoleTool, llm.RoleDeveloper:
		case "":
			return nil, llmservice.InvalidParam(field("role"), "role is required")
		default:
			return nil, llmservice.InvalidParam(field("role"), "unsupported role %q; expected system, developer, user, assistant or tool", m.Role)
		}
		lm := llm.Message{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID}
		if m.Content.Text != nil {
			lm.Content = []llm.Part{{Type: llm.PartText, Text: *m.Content.Text}}
		}
		for j, p := range m.Content.Parts {
			switch p.Type {
			case "text":
				lm.Content = append(lm.Content, llm.Part{Type: llm.PartText, Text: p.Text, CacheControl: cacheControl(p.CacheControl)})
			case "image_url":
				if p.ImageURL == nil || p.ImageURL.URL == "" {
					return nil, llmservice.InvalidParam(field(fmt.Sprintf("content[%d].image_url.url", j)), "image_url.url is required")
				}
				lm.Content = append(lm.Content, llm.Part{Type: llm.PartImage, ImageURL: p.ImageURL.URL, Detail: p.ImageURL.Detail, CacheControl: cacheControl(p.CacheControl)})
			default:
				return nil, llmservice.InvalidParam(field(fmt.Sprintf("content[%d].type", j)), "unsupported content part type %q; expected text or image_url", p.Type)
			}
		}
		for j, tc := range m.ToolCalls {
			if m.Role != llm.RoleAssistant {
				return nil, llmservice.InvalidParam(field("tool_calls"), "only assistant messages carry tool_calls")
			}
			if tc.Function.Name == "" {
				return nil, llmservice.InvalidParam(field(fmt.Sprintf("tool_calls[%d].function.name", j)), "function name is required")
			}
			lm.ToolCalls = append(lm.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		switch {
		case m.Role == llm.RoleTool && m.ToolCallID == "":
			return nil, llmservice.InvalidParam(field("tool_call_id"), "tool messages need tool_call_id")
		case len(lm.Content) == 0 && len(lm.ToolCalls) == 0 && m.Role != llm.RoleAssistant:
			return nil, llmservice.InvalidParam(field("content"), "content is required")
		}
		out[i] = lm
	}
	return out, nil
}

func toolChoiceToLLM(raw json.RawMessage) (*llm.ToolChoice, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case llm.ToolChoiceAuto, llm.ToolChoiceNone, llm.ToolChoiceRequired:
			return &llm.ToolChoice{Mode: s}, nil
		}
		return nil, llmservice.InvalidParam("tool_choice", "unsupported tool_choice %q; expected auto, none, required or an object", s)
	}
	var o struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || o.Type != "function" || o.Function.Name == "" {
		return nil, llmservice.InvalidParam("tool_choice", `tool_choice object must be {"type":"function","function":{"name":...}}`)
	}
	return &llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: o.Function.Name}, nil
}

// FromLLM builds the upstream request for an OpenAI-protocol provider.
func FromLLM(r *llm.ChatRequest) *ChatRequest {
	out := &ChatRequest{
		Model:            r.Model,
		MaxTokens:        r.MaxTokens,
		Temperature:      r.Temperature,
		TopP:             r.TopP,
		FrequencyPenalty: r.FrequencyPenalty,
		PresencePenalty:  r.PresencePenalty,
		Stop:             r.Stop,
		Seed:             r.Seed,
		N:                r.N,
		User:             r.User,
		Stream:           r.Stream,
		Extra:            r.Extra,
		Messages:         make([]Message, len(r.Messages)),
	}
	if r.Stream {
		// Always ask for usage: the gateway bills from it, whether or not
		// the client asked to see it.
		out.StreamOptions = &StreamOptions{IncludeUsage: true}
	}
	for i, m := range r.Messages {
		out.Messages[i] = MessageFromLLM(m)
	}
	for _, t := range r.Tools {
		out.Tools = append(out.Tools, Tool{Type: "function", Function: FunctionDef{Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict}})
	}
	if tc := r.ToolChoice; tc != nil {
		if tc.Mode == llm.ToolChoiceFunction {
			b, _ := json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}})
			out.ToolChoice = b
		} else {
			b, _ := json.Marshal(tc.Mode)
			out.ToolChoice = b
		}
	}
	if rf := r.ResponseFormat; rf != nil {
		out.ResponseFormat = &ResponseFormat{Type: rf.Type}
		if rf.Type == llm.FormatJSONSchema {
			out.ResponseFormat.JSONSchema = &JSONSchema{Name: rf.Name, Schema: rf.Schema, Strict: rf.Strict}
		}
	}
	return out
}

// MessageFromLLM converts one canonical message to OpenAI's shape. Chat
// Completions has no place for thinking parts: they are dropped, never sent
// as text (another family's reasoning is not the user's or the model's words).
func MessageFromLLM(m llm.Message) Message {
	om := Message{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID}
	onlyText := true
	if hasThinking(m.Content) {
		m.Content = withoutThinking(m.Content)
	}
	for _, p := range m.Content {
		if p.Type != llm.PartText {
			onlyText = false
		}
	}
	switch {
	case len(m.Content) == 0:
	case onlyText:
		t := m.Text()
		om.Content.Text = &t
	default:
		for _, p := range m.Content {
			if p.Type == llm.PartImage {
				om.Content.Parts = append(om.Content.Parts, ContentPart{Type: "image_url", ImageURL: &ImageURL{URL: p.ImageURL, Detail: p.Detail}})
			} else {
				om.Content.Parts = append(om.Content.Parts, ContentPart{Type: "text", Text: p.Text})
			}
		}
	}
	for _, tc := range m.ToolCalls {
		om.ToolCalls = append(om.ToolCalls, ToolCall{ID: tc.ID, Type: "function", Function: FunctionCall{Name: tc.Name, Arguments: tc.Arguments}})
	}
	return om
}

// cacheControl keeps a part's cache_control object; null and other
// non-objects say nothing.
func cacheControl(v json.RawMessage) json.RawMessage {
	if b := bytes.TrimSpace(v); len(b) > 0 && b[0] == '{' {
		return b
	}
	return nil
}

// hasThinking reports whether parts hold a thinking part of any family.
func hasThinking(parts []llm.Part) bool {
	for _, p := range parts {
		if p.Type == llm.PartThinking || p.Type == llm.PartRedactedThinking {
			return true
		}
	}
	return false
}

// withoutThinking returns a copy of parts without the thinking parts.
func withoutThinking(parts []llm.Part) []llm.Part {
	out := make([]llm.Part, 0, len(parts))
	for _, p := range parts {
		if p.Type != llm.PartThinking && p.Type != llm.PartRedactedThinking {
			out = append(out, p)
		}
	}
	return out
}

// UsageFromLLM converts usage to OpenAI's shape.
func UsageFromLLM(u llm.Usage) *Usage {
	out := &Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.Total(),
		PromptTokensDetails:     &PromptTokensDetails{CachedTokens: u.CachedTokens},
		CompletionTokensDetails: &CompletionTokensDetails{ReasoningTokens: u.ReasoningTokens}}
	return out
}

// UsageToLLM converts OpenAI usage to the canonical form.
func UsageToLLM(u *Usage) llm.Usage {
	if u == nil {
		return llm.Usage{}
	}
	out := llm.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
	if u.PromptTokensDetails != nil {
		out.CachedTokens = u.PromptTokensDetails.CachedTokens
	}
	if u.CompletionTokensDetails != nil {
		out.ReasoningTokens = u.CompletionTokensDetails.ReasoningTokens
	}
	return out
}

// CompletionFromLLM renders a canonical answer as a chat.completion.
func CompletionFromLLM(resp *llm.ChatResponse, id, model string) *ChatCompletion {
	out := &ChatCompletion{ID: id, Object: "chat.completion", Created: resp.Created, Model: model, Choices: make([]Choice, len(resp.Choices)), Usage: UsageFromLLM(resp.Usage)}
	for i, c := range resp.Choices {
		m := MessageFromLLM(c.Message)
		rm := RespMessage{Role: llm.RoleAssistant, ToolCalls: m.ToolCalls}
		if c.Message.HasContent() || len(m.ToolCalls) == 0 {
			t := c.Message.Text()
			rm.Content = &t
		}
		out.Choices[i] = Choice{Index: c.Index, Message: rm, FinishReason: c.FinishReason, Logprobs: null}
	}
	return out
}

// CompletionToLLM converts an upstream chat.completion to the canonical form.
func CompletionToLLM(c *ChatCompletion) *llm.ChatResponse {
	out := &llm.ChatResponse{ID: c.ID, Model: c.Model, Created: c.Created, Choices: make([]llm.Choice, len(c.Choices)), HasUsage: c.Usage != nil, Usage: UsageToLLM(c.Usage)}
	for i, ch := range c.Choices {
		m := llm.Message{Role: llm.RoleAssistant}
		if ch.Message.Content != nil {
			m.Content = []llm.Part{{Type: llm.PartText, Text: *ch.Message.Content}}
		}
		for _, tc := range ch.Message.ToolCalls {
			m.ToolCalls = append(m.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		out.Choices[i] = llm.Choice{Index: ch.Index, Message: m, FinishReason: ch.FinishReason}
	}
	return out
}

// ChunkToLLM splits an upstream chunk into canonical chunks, one per choice;
// a usage-only chunk (empty choices) becomes one chunk with Usage.
func ChunkToLLM(c *ChatChunk, dst []llm.Chunk) []llm.Chunk {
	for _, ch := range c.Choices {
		lc := llm.Chunk{ID: c.ID, Model: c.Model, Index: ch.Index, Role: ch.Delta.Role}
		if ch.Delta.Content != nil {
			lc.Text = *ch.Delta.Content
		}
		if ch.FinishReason != nil {
			lc.FinishReason = *ch.FinishReason
		}
		for _, tc := range ch.Delta.ToolCalls {
			lc.ToolCalls = append(lc.ToolCalls, llm.ToolCallDelta{Index: tc.Index, ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		dst = append(dst, lc)
	}
	if c.Usage != nil {
		u := UsageToLLM(c.Usage)
		if len(dst) > 0 && len(c.Choices) > 0 {
			dst[len(dst)-1].Usage = &u
		} else {
			dst = append(dst, llm.Chunk{ID: c.ID, Model: c.Model, Usage: &u})
		}
	}
	return dst
}

// ChunkFromLLM renders a canonical chunk as a chat.completion.chunk. A chunk
// with only Usage becomes OpenAI's usage chunk with empty choices.
func ChunkFromLLM(ch *llm.Chunk, id, model string, created int64, withUsage bool) *ChatChunk {
	out := &ChatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model}
	onlyUsage := ch.Usage != nil && ch.Text == "" && ch.Role == "" && ch.FinishReason == "" && len(ch.ToolCalls) == 0
	if !onlyUsage {
		cc := ChunkChoice{Index: ch.Index, Delta: Delta{Role: ch.Role}}
		if ch.Text != "" || (ch.Role != "" && len(ch.ToolCalls) == 0) {
			t := ch.Text
			cc.Delta.Content = &t
		}
		if ch.FinishReason != "" {
			fr := ch.FinishReason
			cc.FinishReason = &fr
		}
		for _, tc := range ch.ToolCalls {
			d := ToolCallDelta{Index: tc.Index, ID: tc.ID, Function: FunctionCallDelta{Name: tc.Name, Arguments: tc.Arguments}}
			if tc.ID != "" {
				d.Type = "function"
			}
			cc.Delta.ToolCalls = append(cc.Delta.ToolCalls, d)
		}
		out.Choices = []ChunkChoice{cc}
	} else {
		out.Choices = []ChunkChoice{}
	}
	if withUsage && ch.Usage != nil {
		out.Usage = UsageFromLLM(*ch.Usage)
	}
	return out
}

// PromptText joins legacy prompt strings; several prompts are not supported
// because the canonical request carries one conversation.
func PromptText(p StringList) (string, error) {
	switch len(p) {
	case 0:
		return "", llmservice.InvalidParam("prompt", "prompt or messages is required")
	case 1:
		return p[0], nil
	}
	return strings.Join(p, ""), llmservice.InvalidParam("prompt", "several prompts in one request are not supported; send one prompt string")
}

// ToLLM validates a legacy completion request and converts it to a chat
// request: a prompt becomes one user message; "messages" is accepted too,
// because several of our users' clients post chat messages to this path.
func (req *CompletionRequest) ToLLM() (*llm.ChatRequest, error) {
	if req.Model == "" {
		return nil, llmservice.InvalidParam("model", "model is required")
	}
	switch {
	case req.Echo != nil && *req.Echo:
		return nil, llmservice.InvalidParam("echo", "echo is not supported")
	case req.Suffix != nil && *req.Suffix != "":
		return nil, llmservice.InvalidParam("suffix", "suffix is not supported")
	case req.BestOf != nil && *req.BestOf > 1:
		return nil, llmservice.InvalidParam("best_of", "best_of is not supported")
	case req.Logprobs != nil:
		return nil, llmservice.InvalidParam("logprobs", "logprobs is not supported on /v1/completions")
	}
	cr := ChatRequest{Model: req.Model, Messages: req.Messages, MaxTokens: req.MaxTokens, Temperature: req.Temperature, TopP: req.TopP,
		FrequencyPenalty: req.FrequencyPenalty, PresencePenalty: req.PresencePenalty, Stop: req.Stop, Seed: req.Seed, N: req.N,
		User: req.User, Stream: req.Stream, StreamOptions: req.StreamOptions}
	if len(req.Messages) == 0 {
		prompt, err := PromptText(req.Prompt)
		if err != nil {
			return nil, err
		}
		cr.Messages = []Message{{Role: llm.RoleUser, Content: Content{Text: &prompt}}}
	} else if len(req.Prompt) > 0 {
		return nil, llmservice.InvalidParam("prompt", "send either prompt or messages, not both")
	}
	return cr.ToLLM()
}

// MaxEmbedInputs is OpenAI's documented limit of inputs per request.
const MaxEmbedInputs = 2048

// ToLLM validates an embeddings request: strings only (token arrays are
// refused, since not every provider takes them).
func (req *EmbeddingRequest) ToLLM() (*llm.EmbedRequest, error) {
	if req.Model == "" {
		return nil, llmservice.InvalidParam("model", "model is required")
	}
	switch req.EncodingFormat {
	case "", "float", "base64":
	default:
		return nil, llmservice.InvalidParam("encoding_format", "encoding_format must be float or base64")
	}
	if req.Dimensions != nil && *req.Dimensions < 1 {
		return nil, llmservice.InvalidParam("dimensions", "dimensions must be at least 1")
	}
	in := bytes.TrimSpace(req.Input)
	var inputs []string
	switch {
	case len(in) == 0 || bytes.Equal(in, null):
		return nil, llmservice.InvalidParam("input", "input is required")
	case in[0] == '"':
		var s string
		if err := json.Unmarshal(in, &s); err != nil {
			return nil, llmservice.InvalidParam("input", "input must be a string or an array of strings")
		}
		inputs = []string{s}
	default:
		if err := json.Unmarshal(in, &inputs); err != nil {
			return nil, llmservice.InvalidParam("input", "input must be a string or an array of strings; token arrays are not supported")
		}
	}
	if len(inputs) == 0 || len(inputs) > MaxEmbedInputs {
		return nil, llmservice.InvalidParam("input", "input must hold between 1 and %d strings", MaxEmbedInputs)
	}
	for i, s := range inputs {
		if s == "" {
			return nil, llmservice.InvalidParam("input", "input[%d] is empty", i)
		}
	}
	return &llm.EmbedRequest{Model: req.Model, Input: inputs, Dimensions: req.Dimensions, User: req.User}, nil
}
