package gemini

import (
	"encoding/json"
	"fmt"
	"math"
	"path"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	geminiwire "github.com/llmservice/llmservice/internal/wire/gemini"
)

// toWire translates a canonical chat request into a generateContent body.
// Fields Gemini cannot honour are refused with an Invalid error naming the
// parameter; a few advisory fields with no Gemini counterpart are ignored,
// each with its reason below.
//
// Ignored on purpose: Message.Name (OpenAI's optional speaker label; Gemini
// turns carry no name), User (an end-user id for OpenAI's abuse monitoring),
// Part.Detail (Gemini picks the image resolution itself), Tool.Strict and
// ResponseFormat.Strict (Gemini always constrains decoding to the given
// schema), NumCtx (an Ollama knob), IncludeUsage (Gemini always reports
// usage) and Extra (only a Gemini dialect could fill it, and there is none).
func toWire(req *llm.ChatRequest) (*geminiwire.GenerateContentRequest, error) {
	if err := checkExtra(req.Extra); err != nil {
		return nil, err
	}
	contents, system, err := toContents(req.Model, req.Messages)
	if err != nil {
		return nil, err
	}
	gc, err := toGenerationConfig(req)
	if err != nil {
		return nil, err
	}
	tools, tc, err := toTools(req.Tools, req.ToolChoice)
	if err != nil {
		return nil, err
	}
	return &geminiwire.GenerateContentRequest{
		Contents:          contents,
		SystemInstruction: system,
		Tools:             tools,
		ToolConfig:        tc,
		GenerationConfig:  gc,
	}, nil
}

// checkExtra refuses the OpenAI fields that arrive through Extra but that
// the canonical response cannot carry back from Gemini.
func checkExtra(extra map[string]json.RawMessage) error {
	for _, name := range []string{"logprobs", "top_logprobs"} {
		v, ok := extra[name]
		if !ok {
			continue
		}
		switch strings.TrimSpace(string(v)) {
		case "", "null", "false", "0":
			continue
		}
		return llmservice.InvalidParam(name, "logprobs are not supported for Gemini models")
	}
	return nil
}

// Family is the provider family name this adapter's thinking parts carry:
// only parts of this family go back upstream.
const Family = "gemini"

// toContents maps the conversation: system and developer messages become
// systemInstruction parts, assistant turns become "model" turns, and tool
// results become functionResponse parts of a user turn.
func toContents(model string, msgs []llm.Message) ([]geminiwire.Content, *geminiwire.Content, error) {
	var (
		contents []geminiwire.Content
		system   *geminiwire.Content
		// callNames maps a tool call id to its function name: Gemini matches
		// a functionResponse to its call by name, and OpenAI's tool message
		// only carries the id.
		callNames = map[string]string{}
		lastTool  bool
		signature = needsThoughtSignature(model)
	)
	for i, m := range msgs {
		p := fmt.Sprintf("messages[%d]", i)
		isTool := false
		switch m.Role {
		case llm.RoleSystem, llm.RoleDeveloper:
			text, err := textOnly(p, m.Content)
			if err != nil {
				return nil, nil, err
			}
			if text == "" {
				continue
			}
			if system == nil {
				system = &geminiwire.Content{}
			}
			system.Parts = append(system.Parts, geminiwire.Part{Text: text})
		case llm.RoleUser:
			var none string
			parts, err := toParts(p, m.Content, &none)
			if err != nil {
				return nil, nil, err
			}
			if len(parts) > 0 {
				contents = append(contents, geminiwire.Content{Role: geminiwire.RoleUser, Parts: parts})
			}
		case llm.RoleAssistant:
			var pending string
			parts, err := toParts(p, m.Content, &pending)
			if err != nil {
				return nil, nil, err
			}
			for j, tc := range m.ToolCalls {
				args, err := callArgs(fmt.Sprintf("%s.tool_calls[%d].function.arguments", p, j), tc.Arguments)
				if err != nil {
					return nil, nil, err
				}
				part := geminiwire.Part{FunctionCall: &geminiwire.FunctionCall{Name: tc.Name, Args: args}}
				switch {
				case pending != "":
					part.ThoughtSignature, pending = pending, ""
				case signature:
					part.ThoughtSignature = skipThoughtSignature
				}
				parts = append(parts, part)
				callNames[tc.ID] = tc.Name
			}
			if len(parts) > 0 {
				contents = append(contents, geminiwire.Content{Role: geminiwire.RoleModel, Parts: parts})
			}
		case llm.RoleTool:
			name := callNames[m.ToolCallID]
			if name == "" {
				name = m.Name
			}
			if name == "" {
				return nil, nil, llmservice.InvalidParam(p+".tool_call_id", "no earlier assistant tool call has id %q", m.ToolCallID)
			}
			text, err := textOnly(p, m.Content)
			if err != nil {
				return nil, nil, err
			}
			part := geminiwire.Part{FunctionResponse: &geminiwire.FunctionResponse{Name: name, Response: toolResponse(text)}}
			// The results of parallel calls go back together in one turn.
			// https://ai.google.dev/gemini-api/docs/function-calling#parallel_function_calling
			if lastTool {
				last := &contents[len(contents)-1]
				last.Parts = append(last.Parts, part)
			} else {
				contents = append(contents, geminiwire.Content{Role: geminiwire.RoleUser, Parts: []geminiwire.Part{part}})
			}
			isTool = true
		default:
			return nil, nil, llmservice.InvalidParam(p+".role", "unsupported role %q", m.Role)
		}
		if m.Role != llm.RoleSystem && m.Role != llm.RoleDeveloper {
			lastTool = isTool
		}
	}
	return contents, system, nil
}

// skipThoughtSignature is Google's documented placeholder for a functionCall
// part replayed without the signature the model gave it. Gemini 3 answers
// 400 "Function call is missing a thought_signature" otherwise, and the
// canonical ToolCall has nowhere to keep the real one.
// https://ai.google.dev/gemini-api/docs/thought-signatures
const skipThoughtSignature = "skip_thought_signature_validator"

// needsThoughtSignature reports whether model is Gemini 3 or later, the
// generations that validate thought signatures. Earlier ones ignore them,
// so they get none.
func needsThoughtSignature(model string) bool {
	rest, ok := strings.CutPrefix(path.Base(model), "gemini-")
	if !ok {
		return false
	}
	n, i := 0, 0
	for ; i < len(rest) && i < 4 && rest[i] >= '0' && rest[i] <= '9'; i++ {
		n = n*10 + int(rest[i]-'0')
	}
	return i > 0 && n >= 3
}

// textOnly returns the text of a message whose role accepts only text.
func textOnly(p string, content []llm.Part) (string, error) {
	var b strings.Builder
	for j, c := range content {
		if c.Type != llm.PartText && c.Type != "" {
			return "", llmservice.InvalidParam(fmt.Sprintf("%s.content[%d]", p, j), "only text content is supported in this message for Gemini models")
		}
		b.WriteString(c.Text)
	}
	return b.String(), nil
}

// toParts maps user or assistant content. Empty text parts are left out:
// Gemini rejects a request with an empty text part. A Gemini thought
// signature is put on the next part; one with no part after it is left in
// pending, for the turn's first function call.
func toParts(p string, content []llm.Part, pending *string) ([]geminiwire.Part, error) {
	parts := make([]geminiwire.Part, 0, len(content))
	for j, c := range content {
		switch c.Type {
		case llm.PartText, "":
			if c.Text != "" {
				parts = append(parts, geminiwire.Part{Text: c.Text, ThoughtSignature: *pending})
				*pending = ""
			}
		case llm.PartImage:
			part, err := imagePart(fmt.Sprintf("%s.content[%d].image_url", p, j), c.ImageURL)
			if err != nil {
				return nil, err
			}
			part.ThoughtSignature, *pending = *pending, ""
			parts = append(parts, part)
		case llm.PartThinking:
			// Gemini's own signature goes back on the part that follows
			// it, the one it came on; the thought text is not sent back
			// (the API does not need it). Another family's reasoning
			// cannot be verified here and is dropped.
			if c.Family == Family && c.Signature != "" {
				*pending = c.Signature
			}
		case llm.PartRedactedThinking:
		default:
			return nil, llmservice.InvalidParam(fmt.Sprintf("%s.content[%d].type", p, j), "unsupported content part type %q", c.Type)
		}
	}
	return parts, nil
}

// imagePart maps an image URL. data: URLs travel inline; https URLs go as
// fileData, which Gemini fetches itself (public or signed URLs).
// https://ai.google.dev/gemini-api/docs/file-input-methods
func imagePart(param, u string) (geminiwire.Part, error) {
	if rest, ok := cutPrefixFold(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mime, _, _ := strings.Cut(meta, ";")
		if !ok || !strings.HasSuffix(meta, ";base64") || !strings.Contains(mime, "/") || data == "" {
			return geminiwire.Part{}, llmservice.InvalidParam(param, "image data URL must have the form data:<mime type>;base64,<data>")
		}
		return geminiwire.Part{InlineData: &geminiwire.Blob{MIMEType: mime, Data: data}}, nil
	}
	if _, ok := cutPrefixFold(u, "https://"); ok {
		return geminiwire.Part{FileData: &geminiwire.FileData{FileURI: u, MIMEType: imageMIME(u)}}, nil
	}
	return geminiwire.Part{}, llmservice.InvalidParam(param, "image URL must be an https URL or a base64 data: URL for Gemini models")
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// imageMIME guesses an image's type from its URL path. When it cannot tell,
// it returns "" and Gemini, for which the field is optional, decides.
func imageMIME(u string) string {
	p, _, _ := strings.Cut(u, "?")
	p, _, _ = strings.Cut(p, "#")
	switch strings.ToLower(path.Ext(p)) {
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".webp":
		return "image/webp"
	case ".gif":
		return "image/gif"
	case ".heic":
		return "image/heic"
	case ".heif":
		return "image/heif"
	}
	return ""
}

// callArgs turns OpenAI's argument text into functionCall.args, which must be
// a JSON object.
func callArgs(param, args string) (json.RawMessage, error) {
	t := strings.TrimSpace(args)
	if t == "" {
		return json.RawMessage("{}"), nil
	}
	if t[0] != '{' || !json.Valid([]byte(t)) {
		return nil, llmservice.InvalidParam(param, "tool call arguments must be a JSON object for Gemini models")
	}
	return json.RawMessage(t), nil
}

// toolResponse wraps a tool's text as functionResponse.response, which must
// be a JSON object: an object result is sent as is, anything else as
// {"result": text}.
func toolResponse(text string) json.RawMessage {
	t := strings.TrimSpace(text)
	if t != "" && t[0] == '{' && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(map[string]string{"result": text})
	return b
}

// hasJSON reports whether raw holds a value other than null.
func hasJSON(raw json.RawMessage) bool {
	t := strings.TrimSpace(string(raw))
	return t != "" && t != "null"
}

// toGenerationConfig maps the sampling options; it returns nil when none is set.
func toGenerationConfig(req *llm.ChatRequest) (*geminiwire.GenerationConfig, error) {
	g := &geminiwire.GenerationConfig{
		StopSequences:    req.Stop,
		CandidateCount:   req.N,
		MaxOutputTokens:  req.MaxTokens,
		Temperature:      req.Temperature,
		TopP:             req.TopP,
		PresencePenalty:  req.PresencePenalty,
		FrequencyPenalty: req.FrequencyPenalty,
	}
	if s := req.Seed; s != nil {
		if *s < math.MinInt32 || *s > math.MaxInt32 {
			return nil, llmservice.InvalidParam("seed", "seed must fit in 32 bits for Gemini models")
		}
		v := int32(*s)
		g.Seed = &v
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", llm.FormatText:
		case llm.FormatJSONObject:
			g.ResponseMIMEType = "application/json"
		case llm.FormatJSONSchema:
			g.ResponseMIMEType = "application/json"
			if hasJSON(rf.Schema) {
				if !json.Valid(rf.Schema) {
					return nil, llmservice.InvalidParam("response_format.json_schema.schema", "schema is not valid JSON")
				}
				// responseJsonSchema takes JSON Schema as is; the older
				// responseSchema rejects keywords such as additionalProperties.
				// https://ai.google.dev/api/generate-content#FIELDS.response_json_schema
				g.ResponseJSONSchema = rf.Schema
			}
		default:
			return nil, llmservice.InvalidParam("response_format.type", "unsupported response format %q", rf.Type)
		}
	}
	if g.StopSequences == nil && g.CandidateCount == nil && g.MaxOutputTokens == nil && g.Temperature == nil &&
		g.TopP == nil && g.PresencePenalty == nil && g.FrequencyPenalty == nil && g.Seed == nil && g.ResponseMIMEType == "" {
		return nil, nil
	}
	return g, nil
}

// toTools maps function tools and tool_choice.
func toTools(tools []llm.Tool, choice *llm.ToolChoice) ([]geminiwire.Tool, *geminiwire.ToolConfig, error) {
	if len(tools) == 0 {
		if choice != nil && (choice.Mode == llm.ToolChoiceRequired || choice.Mode == llm.ToolChoiceFunction) {
			return nil, nil, llmservice.InvalidParam("tool_choice", "tool_choice %q needs tools", choice.Mode)
		}
		return nil, nil, nil
	}
	decls := make([]geminiwire.FunctionDeclaration, len(tools))
	for i, t := range tools {
		if t.Name == "" {
			return nil, nil, llmservice.InvalidParam(fmt.Sprintf("tools[%d].function.name", i), "function name is required")
		}
		d := geminiwire.FunctionDeclaration{Name: t.Name, Description: t.Description}
		if hasJSON(t.Parameters) {
			if !json.Valid(t.Parameters) {
				return nil, nil, llmservice.InvalidParam(fmt.Sprintf("tools[%d].function.parameters", i), "parameters are not valid JSON")
			}
			// parametersJsonSchema accepts the JSON Schema clients send
			// (additionalProperties, $schema, anyOf…) that the OpenAPI-subset
			// "parameters" field answers with 400 "Unknown name".
			// https://ai.google.dev/api/caching#FunctionDeclaration
			d.ParametersJSONSchema = t.Parameters
		}
		decls[i] = d
	}
	var cfg *geminiwire.ToolConfig
	if choice != nil {
		fc := &geminiwire.FunctionCallingConfig{}
		switch choice.Mode {
		case llm.ToolChoiceAuto, "":
			fc.Mode = geminiwire.ModeAuto
		case llm.ToolChoiceNone:
			fc.Mode = geminiwire.ModeNone
		case llm.ToolChoiceRequired:
			fc.Mode = geminiwire.ModeAny
		case llm.ToolChoiceFunction:
			if !hasTool(tools, choice.Name) {
				return nil, nil, llmservice.InvalidParam("tool_choice", "tool_choice names function %q, which is not among the tools", choice.Name)
			}
			fc.Mode = geminiwire.ModeAny
			fc.AllowedFunctionNames = []string{choice.Name}
		default:
			return nil, nil, llmservice.InvalidParam("tool_choice", "unsupported tool_choice %q", choice.Mode)
		}
		cfg = &geminiwire.ToolConfig{FunctionCallingConfig: fc}
	}
	return []geminiwire.Tool{{FunctionDeclarations: decls}}, cfg, nil
}

func hasTool(tools []llm.Tool, name string) bool {
	for _, t := range tools {
		if t.Name == name {
			return true
		}
	}
	return false
}
