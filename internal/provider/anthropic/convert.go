package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/anthropic"
)

// Family is the provider family name this adapter's thinking parts carry:
// only parts of this family go back upstream, since only Anthropic can
// verify an Anthropic signature.
const Family = "anthropic"

// defaultMaxTokens is sent when the request sets none: the Messages API
// requires max_tokens, where OpenAI lets the model run to its limit.
const defaultMaxTokens = 4096

// emptySchema stands in for a tool declared without parameters: OpenAI allows
// that, but input_schema is required and must be an object schema.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// toWire translates a canonical request into a Messages API request. Param
// names in errors are the OpenAI ones, the vocabulary of the canonical types.
//
// Left out on purpose: NumCtx is for in-house models only; IncludeUsage only
// says what the client sees (usage is always read). Extra is read for the
// unsupported options below and for "thinking", which OpenAI-style clients
// send for Anthropic models with the Messages API's shape and meaning.
func toWire(req *llm.ChatRequest) (*wire.MessagesRequest, error) {
	if err := checkUnsupported(req); err != nil {
		return nil, err
	}
	out := &wire.MessagesRequest{
		Model:         req.Model,
		MaxTokens:     defaultMaxTokens,
		StopSequences: req.Stop,
		Temperature:   req.Temperature,
		TopP:          req.TopP,
		Stream:        req.Stream,
	}
	if req.MaxTokens != nil {
		// 0 would not mean "no limit" here: it asks the API to pre-warm the
		// prompt cache and generate nothing.
		if *req.MaxTokens < 1 {
			return nil, llmservice.InvalidParam("max_tokens", "max_tokens must be at least 1")
		}
		out.MaxTokens = *req.MaxTokens
	}
	if req.User != "" {
		out.Metadata = &wire.Metadata{UserID: req.User}
	}
	var err error
	if out.System, out.Messages, err = toWireMessages(req.Messages); err != nil {
		return nil, err
	}
	if out.Tools, err = toWireTools(req.Tools); err != nil {
		return nil, err
	}
	if out.ToolChoice, err = toWireToolChoice(req.ToolChoice, len(req.Tools) > 0); err != nil {
		return nil, err
	}
	if out.OutputConfig, err = toWireFormat(req.ResponseFormat); err != nil {
		return nil, err
	}
	if v, ok := req.Extra["thinking"]; ok && isSet(v) {
		if !json.Valid(v) || bytes.TrimSpace(v)[0] != '{' {
			return nil, llmservice.InvalidParam("thinking", "thinking must be an object such as {\"type\":\"enabled\",\"budget_tokens\":1024}")
		}
		out.Thinking = v
	}
	return out, nil
}

// checkUnsupported rejects the OpenAI options the Messages API has no
// equivalent for, when they are set to something other than their default.
func checkUnsupported(req *llm.ChatRequest) error {
	const why = "is not supported by Anthropic models"
	switch {
	case req.N != nil && *req.N > 1:
		return llmservice.InvalidParam("n", "n > 1 %s", why)
	case req.FrequencyPenalty != nil && *req.FrequencyPenalty != 0:
		return llmservice.InvalidParam("frequency_penalty", "frequency_penalty %s", why)
	case req.PresencePenalty != nil && *req.PresencePenalty != 0:
		return llmservice.InvalidParam("presence_penalty", "presence_penalty %s", why)
	case req.Seed != nil && *req.Seed != 0:
		return llmservice.InvalidParam("seed", "seed %s", why)
	}
	// logprobs has no canonical field: a dialect that does not model it
	// passes it through Extra, which is where it is found.
	for _, name := range []string{"logprobs", "top_logprobs"} {
		if v, ok := req.Extra[name]; ok && isSet(v) {
			return llmservice.InvalidParam(name, "%s %s", name, why)
		}
	}
	return nil
}

// isSet reports whether a raw JSON value is other than null, false, 0 or "".
func isSet(v json.RawMessage) bool {
	switch string(bytes.TrimSpace(v)) {
	case "", "null", "false", "0", `""`:
		return false
	}
	return true
}

// toWireMessages lifts system and developer turns into the top-level system
// prompt and merges consecutive turns of one role, since the API wants user
// and assistant turns to alternate and has no tool role: tool results are
// tool_result blocks in a user turn.
func toWireMessages(ms []llm.Message) (wire.Contents, []wire.MessageParam, error) {
	var system wire.Contents
	out := make([]wire.MessageParam, 0, len(ms))
	add := func(role string, blocks wire.Contents) {
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Content = append(out[n-1].Content, blocks...)
			return
		}
		out = append(out, wire.MessageParam{Role: role, Content: blocks})
	}
	for i, m := range ms {
		// The API has no per-message name; a tool turn's name only repeats
		// the function name, which the tool_use block already holds.
		if m.Name != "" && m.Role != llm.RoleTool {
			return nil, nil, llmservice.InvalidParam(fmt.Sprintf("messages[%d].name", i), "message names are not supported by Anthropic models")
		}
		switch m.Role {
		case llm.RoleSystem, llm.RoleDeveloper:
			for j, p := range m.Content {
				if p.Type != llm.PartText {
					return nil, nil, llmservice.InvalidParam(fmt.Sprintf("messages[%d].content[%d]", i, j), "system messages may only contain text")
				}
				if p.Text != "" {
					system = append(system, wire.ContentBlock{Type: wire.BlockText, Text: p.Text, CacheControl: p.CacheControl})
				}
			}
		case llm.RoleUser:
			blocks, err := toWireParts(i, m.Content, true)
			if err != nil {
				return nil, nil, err
			}
			if len(blocks) == 0 {
				if hasThinking(m.Content) {
					continue // only dropped thinking: nothing to send
				}
				return nil, nil, llmservice.InvalidParam(fmt.Sprintf("messages[%d].content", i), "user message content must not be empty")
			}
			add(wire.RoleUser, blocks)
		case llm.RoleAssistant:
			blocks, err := toWireAssistant(i, m)
			if err != nil {
				return nil, nil, err
			}
			if len(blocks) > 0 {
				add(wire.RoleAssistant, blocks)
			}
		case llm.RoleTool:
			if m.ToolCallID == "" {
				return nil, nil, llmservice.InvalidParam(fmt.Sprintf("messages[%d].tool_call_id", i), "tool messages need a tool_call_id")
			}
			content, err := toWireParts(i, m.Content, true)
			if err != nil {
				return nil, nil, err
			}
			add(wire.RoleUser, wire.Contents{{Type: wire.BlockToolResult, ToolUseID: m.ToolCallID, Content: content}})
		default:
			return nil, nil, llmservice.InvalidParam(fmt.Sprintf("messages[%d].role", i), "unknown role %q", m.Role)
		}
	}
	return system, out, nil
}

// toWireAssistant turns an assistant turn into text blocks followed by one
// tool_use block per call, the order the API itself answers in.
func toWireAssistant(i int, m llm.Message) (wire.Contents, error) {
	blocks, err := toWireParts(i, m.Content, false)
	if err != nil {
		return nil, err
	}
	for j, tc := range m.ToolCalls {
		input, err := toolInput(tc.Arguments)
		if err != nil {
			return nil, llmservice.InvalidParam(fmt.Sprintf("messages[%d].tool_calls[%d].function.arguments", i, j), "%v", err)
		}
		blocks = append(blocks, wire.ContentBlock{Type: wire.BlockToolUse, ID: tc.ID, Name: tc.Name, Input: input})
	}
	if len(blocks) == 0 {
		if hasThinking(m.Content) {
			// Only another family's thinking, dropped: the turn says
			// nothing Anthropic can read.
			return nil, nil
		}
		return nil, llmservice.InvalidParam(fmt.Sprintf("messages[%d].content", i), "assistant message needs content or tool_calls")
	}
	return blocks, nil
}

// toolInput parses a call's arguments: tool_use.input is a JSON object, not
// the JSON text OpenAI carries.
func toolInput(args string) (json.RawMessage, error) {
	b := bytes.TrimSpace([]byte(args))
	if len(b) == 0 {
		return json.RawMessage("{}"), nil
	}
	if b[0] != '{' || !json.Valid(b) {
		return nil, fmt.Errorf("tool call arguments must be a JSON object")
	}
	return json.RawMessage(b), nil
}

// toWireParts converts text, image and thinking parts. Empty text parts are
// dropped because the API rejects empty text blocks. Thinking parts go out
// only in assistant turns (imagesOK false), only when Anthropic produced
// them and only signed: the API refuses a thinking block whose signature
// does not verify, so a part it could not have signed is dropped, never
// sent (https://platform.claude.com/docs/en/build-with-claude/extended-thinking#preserving-thinking-blocks).
func toWireParts(i int, parts []llm.Part, imagesOK bool) (wire.Contents, error) {
	var out wire.Contents
	for j, p := range parts {
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				out = append(out, wire.ContentBlock{Type: wire.BlockText, Text: p.Text, CacheControl: p.CacheControl})
			}
		case llm.PartThinking:
			if !imagesOK && p.Family == Family && p.Signature != "" {
				out = append(out, wire.ContentBlock{Type: wire.BlockThinking, Thinking: p.Text, Signature: p.Signature})
			}
		case llm.PartRedactedThinking:
			if !imagesOK && p.Family == Family && p.Data != "" {
				out = append(out, wire.ContentBlock{Type: wire.BlockRedactedThinking, Data: p.Data})
			}
		case llm.PartImage:
			param := fmt.Sprintf("messages[%d].content[%d].image_url", i, j)
			if !imagesOK {
				return nil, llmservice.InvalidParam(param, "images are only allowed in user and tool messages")
			}
			// p.Detail has no counterpart: the API sizes images itself
			// (https://platform.claude.com/docs/en/build-with-claude/vision),
			// and the image is sent either way, so the hint is not a feature
			// lost.
			src, err := imageSource(p.ImageURL)
			if err != nil {
				return nil, llmservice.InvalidParam(param, "%v", err)
			}
			out = append(out, wire.ContentBlock{Type: wire.BlockImage, Source: src, CacheControl: p.CacheControl})
		default:
			return nil, llmservice.InvalidParam(fmt.Sprintf("messages[%d].content[%d].type", i, j), "content part type %q is not supported by Anthropic models", p.Type)
		}
	}
	return out, nil
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

// imageMediaTypes are the base64 image types the API accepts.
var imageMediaTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// imageSource maps a data: URL to a base64 source and an http(s) URL to a url
// source, which the API fetches itself.
func imageSource(u string) (*wire.ImageSource, error) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isBase64 || data == "" {
			return nil, fmt.Errorf("image data URLs must be base64: data:<media type>;base64,<data>")
		}
		mediaType = strings.ToLower(mediaType)
		if !imageMediaTypes[mediaType] {
			return nil, fmt.Errorf("image type %q is not supported; use image/jpeg, image/png, image/gif or image/webp", mediaType)
		}
		return &wire.ImageSource{Type: wire.SourceBase64, MediaType: mediaType, Data: data}, nil
	}
	if lower := strings.ToLower(u); strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") {
		return &wire.ImageSource{Type: wire.SourceURL, URL: u}, nil
	}
	return nil, fmt.Errorf("image_url must be an http(s) URL or a base64 data URL")
}

func toWireTools(tools []llm.Tool) ([]wire.Tool, error) {
	if len(tools) == 0 {
		return nil, nil
	}
	out := make([]wire.Tool, len(tools))
	for i, t := range tools {
		if t.Name == "" {
			return nil, llmservice.InvalidParam(fmt.Sprintf("tools[%d].function.name", i), "tool name is required")
		}
		schema := t.Parameters
		if s := bytes.TrimSpace(schema); len(s) == 0 || string(s) == "null" {
			schema = emptySchema
		}
		out[i] = wire.Tool{Name: t.Name, Description: t.Description, InputSchema: schema, Strict: t.Strict}
	}
	return out, nil
}

// toWireToolChoice maps OpenAI's modes: required is "any", a named function
// is "tool". Without tools, auto and none say nothing and are left out.
func toWireToolChoice(tc *llm.ToolChoice, hasTools bool) (*wire.ToolChoice, error) {
	if tc == nil {
		return nil, nil
	}
	var out wire.ToolChoice
	switch tc.Mode {
	case llm.ToolChoiceAuto:
		out.Type = wire.ToolChoiceAuto
	case llm.ToolChoiceNone:
		out.Type = wire.ToolChoiceNone
	case llm.ToolChoiceRequired:
		out.Type = wire.ToolChoiceAny
	case llm.ToolChoiceFunction:
		if tc.Name == "" {
			return nil, llmservice.InvalidParam("tool_choice.function.name", "tool_choice names no function")
		}
		out = wire.ToolChoice{Type: wire.ToolChoiceTool, Name: tc.Name}
	default:
		return nil, llmservice.InvalidParam("tool_choice", "unknown tool_choice %q", tc.Mode)
	}
	if !hasTools {
		if out.Type == wire.ToolChoiceAuto || out.Type == wire.ToolChoiceNone {
			return nil, nil
		}
		return nil, llmservice.InvalidParam("tool_choice", "tool_choice %q needs tools", tc.Mode)
	}
	return &out, nil
}

// toWireFormat maps json_schema to structured outputs (output_config.format),
// generally available without a beta header. There is no schema-less JSON
// mode to map json_object to.
// https://platform.claude.com/docs/en/build-with-claude/structured-outputs
func toWireFormat(rf *llm.ResponseFormat) (*wire.OutputConfig, error) {
	if rf == nil {
		return nil, nil
	}
	switch rf.Type {
	case "", llm.FormatText:
		return nil, nil
	case llm.FormatJSONSchema:
		if s := bytes.TrimSpace(rf.Schema); len(s) == 0 || string(s) == "null" {
			return nil, llmservice.InvalidParam("response_format.json_schema.schema", "json_schema needs a schema")
		}
		// Strict needs no mapping: the API always constrains decoding to the
		// schema. Name has no counterpart and changes nothing in the output.
		return &wire.OutputConfig{Format: &wire.OutputFormat{Type: wire.OutputFormatJSONSchema, Schema: rf.Schema}}, nil
	case llm.FormatJSONObject:
		return nil, llmservice.InvalidParam("response_format", "response_format json_object is not supported by Anthropic models; use json_schema with a schema")
	default:
		return nil, llmservice.InvalidParam("response_format", "unknown response_format type %q", rf.Type)
	}
}

// fromWire translates a Messages API answer. created stands in for the
// creation time, which the API does not report.
//
// Thinking and redacted thinking blocks become parts of their own, in order,
// carrying their signature or data verbatim; consecutive text blocks (text
// split by tool_use blocks, which become tool calls) merge into one part.
func fromWire(m *wire.Message, created int64) *llm.ChatResponse {
	var parts []llm.Part
	var calls []llm.ToolCall
	hasText := false
	for _, b := range m.Content {
		switch b.Type {
		case wire.BlockText:
			hasText = true
			if n := len(parts); n > 0 && parts[n-1].Type == llm.PartText {
				parts[n-1].Text += b.Text
			} else {
				parts = append(parts, llm.Part{Type: llm.PartText, Text: b.Text})
			}
		case wire.BlockThinking:
			parts = append(parts, llm.Part{Type: llm.PartThinking, Text: b.Thinking, Signature: b.Signature, Family: Family})
		case wire.BlockRedactedThinking:
			parts = append(parts, llm.Part{Type: llm.PartRedactedThinking, Data: b.Data, Family: Family})
		case wire.BlockToolUse:
			calls = append(calls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: toolArguments(b.Input)})
		}
		// Server tool blocks have no canonical form and are not part of the
		// answer text.
	}
	msg := llm.Message{Role: llm.RoleAssistant, Content: parts, ToolCalls: calls}
	if !hasText && len(calls) == 0 {
		msg.Content = append(msg.Content, llm.Part{Type: llm.PartText})
	}
	finish := finishReason(m.StopReason)
	if finish == "" {
		finish = llm.FinishStop
	}
	return &llm.ChatResponse{
		ID:       m.ID,
		Model:    m.Model,
		Created:  created,
		Choices:  []llm.Choice{{Index: 0, Message: msg, FinishReason: finish}},
		Usage:    toUsage(&m.Usage),
		HasUsage: true,
	}
}

// toolArguments is the JSON text of a tool_use input, as OpenAI carries it.
func toolArguments(input json.RawMessage) string {
	if s := bytes.TrimSpace(input); len(s) > 0 && string(s) != "null" {
		return string(s)
	}
	return "{}"
}

// finishReason maps a stop reason to OpenAI's vocabulary; "" stays "".
// https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons
func finishReason(stop string) string {
	switch stop {
	case "":
		return ""
	case wire.StopMaxTokens, wire.StopContextLimit:
		return llm.FinishLength
	case wire.StopToolUse:
		return llm.FinishToolCalls
	case wire.StopRefusal:
		return llm.FinishContentFilter
	default: // end_turn, stop_sequence, pause_turn and reasons added later
		return llm.FinishStop
	}
}

// toUsage counts cached input as prompt tokens: input_tokens excludes both
// cache writes and cache reads, and the gateway bills the whole prompt. Cache
// writes are split by lifetime when the API says (cache_creation), and are
// all 5-minute writes, the default lifetime, when it does not. Anthropic
// does not report thinking tokens apart: they are in output_tokens.
func toUsage(u *wire.Usage) llm.Usage {
	out := llm.Usage{
		PromptTokens:     u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens,
		CompletionTokens: u.OutputTokens,
		CachedTokens:     u.CacheReadInputTokens,
		CacheWriteTokens: u.CacheCreationInputTokens,
	}
	if c := u.CacheCreation; c != nil && c.Ephemeral5mInputTokens+c.Ephemeral1hInputTokens > 0 {
		out.CacheWriteTokens = c.Ephemeral5mInputTokens
		out.CacheWrite1hTokens = c.Ephemeral1hInputTokens
		// A total that disagrees with its split keeps the difference in the
		// default tier, so that no written token goes unbilled.
		if rest := u.CacheCreationInputTokens - c.Ephemeral5mInputTokens - c.Ephemeral1hInputTokens; rest > 0 {
			out.CacheWriteTokens += rest
		}
	}
	return out
}
