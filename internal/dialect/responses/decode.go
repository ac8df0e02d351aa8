package responses

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

// request is what the dialect reads of a Responses request. Fields it does
// not model (prompt_cache_key, client_metadata, service_tier, truncation,
// and whatever comes next) are never refused: the pass-through lane sends
// them on untouched, and no translated upstream could honour them.
// https://platform.openai.com/docs/api-reference/responses/create
type request struct {
	Model              string            `json:"model"`
	Input              input             `json:"input"`
	Instructions       *string           `json:"instructions"`
	Tools              []tool            `json:"tools"`
	ToolChoice         json.RawMessage   `json:"tool_choice"`
	ParallelToolCalls  *bool             `json:"parallel_tool_calls"`
	Text               *textParam        `json:"text"`
	Reasoning          json.RawMessage   `json:"reasoning"`
	MaxOutputTokens    *int              `json:"max_output_tokens"`
	Temperature        *float64          `json:"temperature"`
	TopP               *float64          `json:"top_p"`
	Stream             bool              `json:"stream"`
	Store              *bool             `json:"store"`
	PreviousResponseID string            `json:"previous_response_id"`
	Include            []string          `json:"include"`
	Metadata           map[string]string `json:"metadata"`
	User               string            `json:"user"`
}

// stored reports whether the response is to be kept (the default, as at
// OpenAI).
func (r *request) stored() bool { return r.Store == nil || *r.Store }

// input is a string (one user message) or a list of items.
type input []item

func (in *input) UnmarshalJSON(b []byte) error {
	return shorthand.List(b, (*[]item)(in), func(s string) item {
		return item{Type: "message", Role: "user", Content: content{{Type: "input_text", Text: s}}}
	})
}

// item is an input item of any type; Type says which fields are set. An
// item with a role and no type is a message (the "easy" input message).
type item struct {
	Type             string          `json:"type"`
	ID               string          `json:"id,omitempty"`
	Role             string          `json:"role,omitempty"`
	Content          content         `json:"content,omitempty"`
	Status           string          `json:"status,omitempty"`
	CallID           string          `json:"call_id,omitempty"`
	Name             string          `json:"name,omitempty"`
	Arguments        *string         `json:"arguments,omitempty"`
	Input            *string         `json:"input,omitempty"`
	Output           json.RawMessage `json:"output,omitempty"`
	Summary          []summaryPart   `json:"summary,omitempty"`
	EncryptedContent *string         `json:"encrypted_content,omitempty"`
}

// content is a part list, or a string standing for one text part.
type content []part

func (c *content) UnmarshalJSON(b []byte) error {
	return shorthand.List(b, (*[]part)(c), func(s string) part { return part{Type: "input_text", Text: s} })
}

type part struct {
	Type     string  `json:"type"`
	Text     string  `json:"text"`
	ImageURL *string `json:"image_url,omitempty"`
	FileID   string  `json:"file_id,omitempty"`
	Detail   string  `json:"detail,omitempty"`
	Refusal  string  `json:"refusal,omitempty"`
}

type summaryPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// tool is a tool of any type. Functions translate as they are; a custom
// tool (free-form input, Codex's apply_patch) becomes a function taking
// one string, "input"; a namespace's functions are flattened; hosted
// tools (web_search, file_search, tool_search, ...) run at OpenAI only.
type tool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
	Tools       []tool          `json:"tools"`
}

type textParam struct {
	Format *format `json:"format"`
}

type format struct {
	Type   string          `json:"type"`
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
	Strict *bool           `json:"strict"`
}

type toolChoiceObject struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// customInput is the schema a custom tool takes in the translation lane.
const customInputSchema = `{"type":"object","properties":{"input":{"type":"string","description":"The tool's free-form input."}},"required":["input"]}`

// decoded is a request read for both lanes: as sent (the pass-through
// lane forwards the body) and in canonical form, with what the encoder
// needs to answer in kind.
type decoded struct {
	req  *request
	chat *llm.ChatRequest
	// custom names the tools the client declared as custom, whose calls
	// go back as custom_tool_call items.
	custom map[string]bool
	// history is the stored conversation previous_response_id continues.
	history []item
}

// decode reads a Responses (or input_tokens) request. history is the
// stored conversation previous_response_id points at, already resolved
// by the caller, placed before the request's own input.
func decode(body []byte, countOnly bool) (*decoded, error) {
	var req request
	if err := httpx.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	if err := req.validate(countOnly); err != nil {
		return nil, err
	}
	d := &decoded{req: &req, custom: map[string]bool{}}
	chat, err := req.toLLM(d.custom, nil)
	if err != nil {
		return nil, err
	}
	d.chat = chat
	return d, nil
}

func (r *request) validate(countOnly bool) error {
	if r.Model == "" {
		return llmservice.InvalidParam("model", "Missing required parameter: 'model'.")
	}
	if len(r.Input) == 0 && !countOnly && r.PreviousResponseID == "" {
		return llmservice.InvalidParam("input", "Missing required parameter: 'input'.")
	}
	if r.MaxOutputTokens != nil && *r.MaxOutputTokens < 16 {
		return llmservice.InvalidParam("max_output_tokens", "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got %d instead.", *r.MaxOutputTokens)
	}
	if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 2) {
		return llmservice.InvalidParam("temperature", "Invalid 'temperature': must be between 0 and 2.")
	}
	if r.TopP != nil && (*r.TopP < 0 || *r.TopP > 1) {
		return llmservice.InvalidParam("top_p", "Invalid 'top_p': must be between 0 and 1.")
	}
	for i, it := range r.Input {
		if err := it.validate(fmt.Sprintf("input[%d]", i)); err != nil {
			return err
		}
	}
	for i, t := range r.Tools {
		f := fmt.Sprintf("tools[%d]", i)
		switch t.Type {
		case "function", "custom":
			if t.Name == "" {
				return llmservice.InvalidParam(f+".name", "Missing required parameter: '%s.name'.", f)
			}
			if p := bytes.TrimSpace(t.Parameters); len(p) > 0 && p[0] != '{' && string(p) != "null" {
				return llmservice.InvalidParam(f+".parameters", "Invalid type for '%s.parameters': expected an object.", f)
			}
		case "":
			return llmservice.InvalidParam(f+".type", "Missing required parameter: '%s.type'.", f)
		}
	}
	if _, err := r.toolChoice(); err != nil {
		return err
	}
	if r.Text != nil && r.Text.Format != nil {
		switch f := r.Text.Format; f.Type {
		case "text", "json_object":
		case "json_schema":
			if f.Name == "" {
				return llmservice.InvalidParam("text.format.name", "Missing required parameter: 'text.format.name'.")
			}
			if s := bytes.TrimSpace(f.Schema); len(s) == 0 || s[0] != '{' {
				return llmservice.InvalidParam("text.format.schema", "Missing required parameter: 'text.format.schema'.")
			}
		default:
			return llmservice.InvalidParam("text.format.type", "Invalid value: '%s'. Supported values are: 'text', 'json_object' and 'json_schema'.", f.Type)
		}
	}
	if r.Reasoning != nil {
		var rp struct {
			Effort *string `json:"effort"`
		}
		if err := json.Unmarshal(r.Reasoning, &rp); err != nil {
			return llmservice.InvalidParam("reasoning", "Invalid type for 'reasoning': expected an object.")
		}
	}
	return nil
}

func (it *item) validate(f string) error {
	typ := it.Type
	if typ == "" && it.Role != "" {
		typ = "message"
	}
	switch typ {
	case "message":
		switch it.Role {
		case "user", "assistant", "system", "developer":
		case "":
			return llmservice.InvalidParam(f+".role", "Missing required parameter: '%s.role'.", f)
		default:
			return llmservice.InvalidParam(f+".role", "Invalid value: '%s'. Supported values are: 'user', 'assistant', 'system', and 'developer'.", it.Role)
		}
		for j, p := range it.Content {
			pf := fmt.Sprintf("%s.content[%d]", f, j)
			switch p.Type {
			case "input_text", "output_text", "refusal", "summary_text", "reasoning_text":
			case "input_image":
				if (p.ImageURL == nil || *p.ImageURL == "") && p.FileID == "" {
					return llmservice.InvalidParam(pf+".image_url", "Missing required parameter: '%s.image_url'.", pf)
				}
				if p.ImageURL != nil && *p.ImageURL != "" {
					if l := strings.ToLower(*p.ImageURL); !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "data:") {
						return llmservice.InvalidParam(pf+".image_url", "Invalid '%s.image_url': expected an http(s) or data URL.", pf)
					}
				}
			case "input_file", "input_audio":
			case "":
				return llmservice.InvalidParam(pf+".type", "Missing required parameter: '%s.type'.", pf)
			default:
				return llmservice.InvalidParam(pf+".type", "Invalid value: '%s'. Supported values are: 'input_text', 'input_image', 'input_file' and 'output_text'.", p.Type)
			}
		}
	case "function_call":
		if it.CallID == "" {
			return llmservice.InvalidParam(f+".call_id", "Missing required parameter: '%s.call_id'.", f)
		}
		if it.Name == "" {
			return llmservice.InvalidParam(f+".name", "Missing required parameter: '%s.name'.", f)
		}
		if it.Arguments == nil {
			return llmservice.InvalidParam(f+".arguments", "Missing required parameter: '%s.arguments'.", f)
		}
	case "custom_tool_call":
		if it.CallID == "" || it.Name == "" {
			return llmservice.InvalidParam(f+".call_id", "Missing required parameter: '%s.call_id' and '%s.name'.", f, f)
		}
	case "function_call_output", "custom_tool_call_output":
		if it.CallID == "" {
			return llmservice.InvalidParam(f+".call_id", "Missing required parameter: '%s.call_id'.", f)
		}
		if len(it.Output) == 0 {
			return llmservice.InvalidParam(f+".output", "Missing required parameter: '%s.output'.", f)
		}
		if _, err := outputText(it.Output); err != nil {
			return llmservice.InvalidParam(f+".output", "Invalid type for '%s.output': expected a string or an array of content parts.", f)
		}
	case "reasoning", "item_reference", "web_search_call", "file_search_call", "computer_call", "computer_call_output",
		"local_shell_call", "local_shell_call_output", "tool_search_call", "tool_search_output", "compaction":
	case "":
		return llmservice.InvalidParam(f+".type", "Missing required parameter: '%s.type'.", f)
	default:
		return llmservice.InvalidParam(f+".type", "Invalid value: '%s' for '%s.type'.", it.Type, f)
	}
	return nil
}

// outputText reads a tool output: a string, or a list of parts whose text
// is kept.
func outputText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var parts []part
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// toolChoice reads tool_choice: "auto", "none", "required", or an object
// naming a function (or custom) tool.
func (r *request) toolChoice() (*llm.ToolChoice, error) {
	raw := bytes.TrimSpace(r.ToolChoice)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case "auto":
			return &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, nil
		case "none":
			return &llm.ToolChoice{Mode: llm.ToolChoiceNone}, nil
		case "required":
			return &llm.ToolChoice{Mode: llm.ToolChoiceRequired}, nil
		}
		return nil, llmservice.InvalidParam("tool_choice", "Invalid value: '%s'. Supported values are: 'none', 'auto', and 'required'.", s)
	}
	var o toolChoiceObject
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, llmservice.InvalidParam("tool_choice", "Invalid type for 'tool_choice': expected a string or an object.")
	}
	switch o.Type {
	case "function", "custom":
		if o.Name == "" {
			return nil, llmservice.InvalidParam("tool_choice.name", "Missing required parameter: 'tool_choice.name'.")
		}
		return &llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: o.Name}, nil
	case "allowed_tools":
		return &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, nil
	case "":
		return nil, llmservice.InvalidParam("tool_choice.type", "Missing required parameter: 'tool_choice.type'.")
	}
	// Hosted tools (web_search_preview, file_search, ...) run at OpenAI
	// only; elsewhere the model chooses.
	return &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, nil
}

// toLLM translates into the canonical request: instructions and
// system/developer messages become system turns, function_call items
// join the assistant turn before them, function_call_output items become
// tool turns. Reasoning items are dropped: their encrypted content only
// OpenAI can read, and the pass-through lane carries them there.
func (r *request) toLLM(custom map[string]bool, history []item) (*llm.ChatRequest, error) {
	out := &llm.ChatRequest{
		Model:        r.Model,
		MaxTokens:    r.MaxOutputTokens,
		Temperature:  r.Temperature,
		TopP:         r.TopP,
		Stream:       r.Stream,
		User:         r.User,
		IncludeUsage: true,
	}
	if r.Instructions != nil && *r.Instructions != "" {
		out.Messages = append(out.Messages, llm.TextMessage(llm.RoleSystem, *r.Instructions))
	}
	items := append(append([]item(nil), history...), r.Input...)
	// assistant is the open assistant turn that function calls join.
	assistant := -1
	for i, it := range items {
		typ := it.Type
		if typ == "" {
			typ = "message"
		}
		switch typ {
		case "message":
			m, err := messageToLLM(it, i)
			if err != nil {
				return nil, err
			}
			if m.Role == llm.RoleAssistant {
				if assistant >= 0 && len(out.Messages[assistant].ToolCalls) == 0 {
					out.Messages[assistant].Content = append(out.Messages[assistant].Content, m.Content...)
					continue
				}
				out.Messages = append(out.Messages, m)
				assistant = len(out.Messages) - 1
				continue
			}
			out.Messages = append(out.Messages, m)
			assistant = -1
		case "function_call", "custom_tool_call":
			args := "{}"
			if typ == "function_call" {
				if a := strings.TrimSpace(*it.Arguments); a != "" {
					args = a
				}
			} else {
				in := ""
				if it.Input != nil {
					in = *it.Input
				}
				b, _ := json.Marshal(map[string]string{"input": in})
				args = string(b)
			}
			if assistant < 0 {
				out.Messages = append(out.Messages, llm.Message{Role: llm.RoleAssistant})
				assistant = len(out.Messages) - 1
			}
			out.Messages[assistant].ToolCalls = append(out.Messages[assistant].ToolCalls, llm.ToolCall{ID: it.CallID, Name: it.Name, Arguments: args})
		case "function_call_output", "custom_tool_call_output":
			text, _ := outputText(it.Output)
			out.Messages = append(out.Messages, llm.Message{Role: llm.RoleTool, ToolCallID: it.CallID, Content: []llm.Part{{Type: llm.PartText, Text: text}}})
			// Calls after a tool result open a new assistant turn.
			assistant = -1
		}
		// reasoning, item_reference and hosted tool items have no
		// canonical form.
	}
	for _, t := range r.Tools {
		out.Tools = appendTool(out.Tools, t, custom)
	}
	tc, _ := r.toolChoice()
	if tc != nil && len(out.Tools) > 0 {
		out.ToolChoice = tc
	}
	if r.Text != nil && r.Text.Format != nil {
		switch f := r.Text.Format; f.Type {
		case "json_object":
			out.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONObject}
		case "json_schema":
			out.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: f.Name, Schema: f.Schema, Strict: f.Strict}
		}
	}
	return out, nil
}

func appendTool(out []llm.Tool, t tool, custom map[string]bool) []llm.Tool {
	switch t.Type {
	case "function":
		schema := t.Parameters
		if s := bytes.TrimSpace(schema); len(s) == 0 || string(s) == "null" {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		return append(out, llm.Tool{Name: t.Name, Description: t.Description, Parameters: schema, Strict: t.Strict})
	case "custom":
		custom[t.Name] = true
		return append(out, llm.Tool{Name: t.Name, Description: t.Description, Parameters: json.RawMessage(customInputSchema)})
	case "namespace":
		for _, inner := range t.Tools {
			out = appendTool(out, inner, custom)
		}
	}
	return out
}

func messageToLLM(it item, i int) (llm.Message, error) {
	m := llm.Message{Role: it.Role}
	if it.Role == llm.RoleDeveloper {
		m.Role = llm.RoleSystem
	}
	for j, p := range it.Content {
		switch p.Type {
		case "input_text", "output_text":
			m.Content = append(m.Content, llm.Part{Type: llm.PartText, Text: p.Text})
		case "refusal":
			m.Content = append(m.Content, llm.Part{Type: llm.PartText, Text: p.Refusal})
		case "input_image":
			if p.ImageURL == nil || *p.ImageURL == "" {
				return m, llmservice.InvalidParam(fmt.Sprintf("input[%d].content[%d].image_url", i, j),
					"input[%d].content[%d]: images by file_id are not supported for this model; send image_url", i, j)
			}
			m.Content = append(m.Content, llm.Part{Type: llm.PartImage, ImageURL: *p.ImageURL, Detail: p.Detail})
		}
	}
	if m.Content == nil {
		m.Content = []llm.Part{{Type: llm.PartText}}
	}
	return m, nil
}
