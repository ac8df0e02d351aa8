package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/wire/shorthand"
)

// request is what the dialect reads of a Messages request. Fields it does
// not model (thinking, output_config, context_management, metadata,
// service_tier, and whatever comes next) are never refused: the
// pass-through lane sends them on untouched, and the translation lane has
// no upstream that could honour them.
type request struct {
	Model         string     `json:"model"`
	MaxTokens     *int       `json:"max_tokens"`
	Messages      []message  `json:"messages"`
	System        contents   `json:"system"`
	StopSequences []string   `json:"stop_sequences"`
	Stream        bool       `json:"stream"`
	Temperature   *float64   `json:"temperature"`
	TopP          *float64   `json:"top_p"`
	Tools         []tool     `json:"tools"`
	ToolChoice    *toolParam `json:"tool_choice"`
}

// message is one turn. Besides user and assistant, Claude Code sends
// role "system" turns inside messages (its per-turn-control beta).
type message struct {
	Role    string   `json:"role"`
	Content contents `json:"content"`
}

// block is a content block of any type; Type says which fields are set.
type block struct {
	Type         string          `json:"type"`
	Text         string          `json:"text"`
	Source       *source         `json:"source"`
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Input        json.RawMessage `json:"input"`
	ToolUseID    string          `json:"tool_use_id"`
	Content      contents        `json:"content"`
	IsError      bool            `json:"is_error"`
	Thinking     string          `json:"thinking"`
	Signature    string          `json:"signature"`
	Data         string          `json:"data"`
	CacheControl json.RawMessage `json:"cache_control"`
}

type source struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
	URL       string `json:"url"`
}

// contents is a block list, or a string standing for one text block.
type contents []block

func (c *contents) UnmarshalJSON(b []byte) error {
	return shorthand.List(b, (*[]block)(c), func(s string) block { return block{Type: "text", Text: s} })
}

type tool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
	Strict      *bool           `json:"strict"`
}

type toolParam struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// decode reads a Messages (or count_tokens) request: the body as sent, for
// the pass-through lane, and its canonical form, for the translation lane,
// local counts and admission. countOnly relaxes what count_tokens does not
// need (max_tokens).
func decode(body []byte, countOnly bool) (*request, *llm.ChatRequest, error) {
	var req request
	if err := httpx.Unmarshal(body, &req); err != nil {
		return nil, nil, err
	}
	if err := req.validate(countOnly); err != nil {
		return nil, nil, err
	}
	lr, err := req.toLLM()
	if err != nil {
		return nil, nil, err
	}
	return &req, lr, nil
}

func (r *request) validate(countOnly bool) error {
	switch {
	case r.Model == "":
		return llmservice.InvalidParam("model", "model: Field required")
	case len(r.Messages) == 0:
		return llmservice.InvalidParam("messages", "messages: at least one message is required")
	}
	if !countOnly {
		switch {
		case r.MaxTokens == nil:
			return llmservice.InvalidParam("max_tokens", "max_tokens: Field required")
		case *r.MaxTokens < 1:
			return llmservice.InvalidParam("max_tokens", "max_tokens: must be at least 1")
		}
	}
	if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 2) {
		return llmservice.InvalidParam("temperature", "temperature: must be between 0 and 2")
	}
	for i, m := range r.Messages {
		switch m.Role {
		case "user", "assistant", "system":
		case "":
			return llmservice.InvalidParam(fmt.Sprintf("messages.%d.role", i), "messages.%d.role: Field required", i)
		default:
			return llmservice.InvalidParam(fmt.Sprintf("messages.%d.role", i), "messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		for j, b := range m.Content {
			if err := b.validate(fmt.Sprintf("messages.%d.content.%d", i, j)); err != nil {
				return err
			}
		}
	}
	for i, t := range r.Tools {
		if t.Name == "" {
			return llmservice.InvalidParam(fmt.Sprintf("tools.%d.name", i), "tools.%d.name: Field required", i)
		}
	}
	if tc := r.ToolChoice; tc != nil {
		switch tc.Type {
		case "auto", "any", "none":
		case "tool":
			if tc.Name == "" {
				return llmservice.InvalidParam("tool_choice.name", "tool_choice.name: Field required")
			}
		default:
			return llmservice.InvalidParam("tool_choice.type", "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
		}
	}
	return nil
}

func (b *block) validate(field string) error {
	switch b.Type {
	case "":
		return llmservice.InvalidParam(field+".type", "%s.type: Field required", field)
	case "tool_use":
		if b.ID == "" || b.Name == "" {
			return llmservice.InvalidParam(field, "%s: tool_use blocks need an id and a name", field)
		}
		if in := bytes.TrimSpace(b.Input); len(in) > 0 && in[0] != '{' && string(in) != "null" {
			return llmservice.InvalidParam(field+".input", "%s.input: Input should be an object", field)
		}
	case "tool_result":
		if b.ToolUseID == "" {
			return llmservice.InvalidParam(field+".tool_use_id", "%s.tool_use_id: Field required", field)
		}
	case "image":
		if b.Source == nil {
			return llmservice.InvalidParam(field+".source", "%s.source: Field required", field)
		}
	}
	return nil
}

// toLLM translates into the canonical request. Tool results become tool
// turns placed before the rest of their user turn, as OpenAI-style
// upstreams want them right after the assistant's calls; thinking blocks
// keep their signatures and are marked as Anthropic's, so that only an
// Anthropic upstream ever sees them again.
func (r *request) toLLM() (*llm.ChatRequest, error) {
	out := &llm.ChatRequest{
		Model:       r.Model,
		MaxTokens:   r.MaxTokens,
		Temperature: r.Temperature,
		TopP:        r.TopP,
		Stop:        r.StopSequences,
		Stream:      r.Stream,
	}
	if len(r.System) > 0 {
		out.Messages = append(out.Messages, llm.Message{Role: llm.RoleSystem, Content: textParts(r.System)})
	}
	for i, m := range r.Messages {
		switch m.Role {
		case "system":
			out.Messages = append(out.Messages, llm.Message{Role: llm.RoleSystem, Content: textParts(m.Content)})
		case "user":
			var parts []llm.Part
			for j, b := range m.Content {
				switch b.Type {
				case "tool_result":
					content := textParts(b.Content)
					if b.IsError {
						content = append([]llm.Part{{Type: llm.PartText, Text: "Error: "}}, content...)
					}
					out.Messages = append(out.Messages, llm.Message{Role: llm.RoleTool, ToolCallID: b.ToolUseID, Content: content})
				case "text":
					parts = append(parts, llm.Part{Type: llm.PartText, Text: b.Text, CacheControl: b.CacheControl})
				case "image":
					p, err := imagePart(b.Source)
					if err != nil {
						return nil, llmservice.InvalidParam(fmt.Sprintf("messages.%d.content.%d.source", i, j), "%v", err)
					}
					parts = append(parts, p)
				}
				// Documents, search results and server tool blocks have no
				// canonical form; no translated upstream could read them.
			}
			if len(parts) > 0 {
				out.Messages = append(out.Messages, llm.Message{Role: llm.RoleUser, Content: parts})
			}
		case "assistant":
			am := llm.Message{Role: llm.RoleAssistant}
			for _, b := range m.Content {
				switch b.Type {
				case "text":
					am.Content = append(am.Content, llm.Part{Type: llm.PartText, Text: b.Text})
				case "thinking":
					am.Content = append(am.Content, llm.Part{Type: llm.PartThinking, Text: b.Thinking, Signature: b.Signature, Family: "anthropic"})
				case "redacted_thinking":
					am.Content = append(am.Content, llm.Part{Type: llm.PartRedactedThinking, Data: b.Data, Family: "anthropic"})
				case "tool_use":
					args := "{}"
					if in := bytes.TrimSpace(b.Input); len(in) > 0 && string(in) != "null" {
						args = string(in)
					}
					am.ToolCalls = append(am.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
				}
			}
			out.Messages = append(out.Messages, am)
		}
	}
	for _, t := range r.Tools {
		if t.Type != "" && t.Type != "custom" {
			continue // server tools (web_search_..., bash_...) run at Anthropic only
		}
		schema := t.InputSchema
		if s := bytes.TrimSpace(schema); len(s) == 0 || string(s) == "null" {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, llm.Tool{Name: t.Name, Description: t.Description, Parameters: schema, Strict: t.Strict})
	}
	if tc := r.ToolChoice; tc != nil && len(out.Tools) > 0 {
		switch tc.Type {
		case "auto":
			out.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceAuto}
		case "any":
			out.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceRequired}
		case "none":
			out.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceNone}
		case "tool":
			out.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: tc.Name}
		}
	}
	return out, nil
}

// textParts keeps the text of blocks (a system prompt, a tool result).
func textParts(c contents) []llm.Part {
	var out []llm.Part
	for _, b := range c {
		if b.Type == "text" {
			out = append(out, llm.Part{Type: llm.PartText, Text: b.Text, CacheControl: b.CacheControl})
		}
	}
	return out
}

// imagePart turns an image source into the canonical URL form.
func imagePart(s *source) (llm.Part, error) {
	switch s.Type {
	case "base64":
		if s.MediaType == "" || s.Data == "" {
			return llm.Part{}, fmt.Errorf("base64 image sources need media_type and data")
		}
		return llm.Part{Type: llm.PartImage, ImageURL: "data:" + s.MediaType + ";base64," + s.Data}, nil
	case "url":
		if l := strings.ToLower(s.URL); !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") {
			return llm.Part{}, fmt.Errorf("url image sources need an http(s) url")
		}
		return llm.Part{Type: llm.PartImage, ImageURL: s.URL}, nil
	}
	return llm.Part{}, fmt.Errorf("image source type %q is not supported", s.Type)
}
