package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/gemini"
)

// Methods served on a model.
const (
	opGenerate = "generateContent"
	opStream   = "streamGenerateContent"
	opCount    = "countTokens"
)

// family marks the thinking parts (thought signatures) a Gemini client
// sends back: only a Gemini upstream may see them again.
const family = "gemini"

// countRequest is the body of countTokens: contents alone, or a whole
// generateContent request (which counts its system instruction and tools
// too). https://ai.google.dev/api/tokens#request-body
type countRequest struct {
	Contents               []wire.Content               `json:"contents"`
	GenerateContentRequest *wire.GenerateContentRequest `json:"generateContentRequest"`
}

// decode reads a generateContent body into its canonical form, for the
// translation lane, local counts and admission. Fields the canonical
// request has no place for (safetySettings, cachedContent, thinkingConfig,
// labels, whatever comes next) are never refused: the pass-through lane
// sends them on untouched, and no translated upstream could honour them.
func decode(body []byte, model string, stream bool) (*llm.ChatRequest, error) {
	var req wire.GenerateContentRequest
	if err := unmarshalObject(body, &req); err != nil {
		return nil, err
	}
	return toLLM(&req, model, stream, "")
}

// decodeCount reads a countTokens body.
func decodeCount(body []byte, model string) (*llm.ChatRequest, error) {
	var req countRequest
	if err := unmarshalObject(body, &req); err != nil {
		return nil, err
	}
	if g := req.GenerateContentRequest; g != nil {
		if len(req.Contents) > 0 {
			return nil, llmservice.InvalidParam("contents", "contents and generateContentRequest are mutually exclusive")
		}
		return toLLM(g, model, false, "generateContentRequest.")
	}
	return toLLM(&wire.GenerateContentRequest{Contents: req.Contents}, model, false, "")
}

func unmarshalObject(body []byte, v any) error {
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] != '{' {
		return llmservice.Errorf(llmservice.Invalid, "request body must be a JSON object")
	}
	return httpx.Unmarshal(body, v)
}

// toLLM validates req and translates it. Function calls get an id when the
// client sent none (older models issue none), and each functionResponse
// is matched to its call by id, else by name, oldest first, as Gemini
// does.
func toLLM(req *wire.GenerateContentRequest, model string, stream bool, prefix string) (*llm.ChatRequest, error) {
	if model == "" || strings.ContainsAny(model, " \t\r\n") {
		return nil, llmservice.InvalidParam("model", "model: the path must name a model, as models/{model}:{method}")
	}
	if len(req.Contents) == 0 {
		return nil, llmservice.InvalidParam(prefix+"contents", "%scontents: at least one content is required", prefix)
	}
	out := &llm.ChatRequest{Model: model, Stream: stream}
	if s := req.SystemInstruction; s != nil {
		var parts []llm.Part
		for j, p := range s.Parts {
			if p.Text == "" && !isEmptyPart(p) {
				return nil, llmservice.InvalidParam(fmt.Sprintf("%ssystemInstruction.parts[%d]", prefix, j), "%ssystemInstruction.parts[%d]: only text is supported", prefix, j)
			}
			if p.Text != "" {
				parts = append(parts, llm.Part{Type: llm.PartText, Text: p.Text})
			}
		}
		if len(parts) > 0 {
			out.Messages = append(out.Messages, llm.Message{Role: llm.RoleSystem, Content: parts})
		}
	}
	pending := map[string][]string{} // function name -> ids of calls not yet answered
	ncall := 0
	for i, c := range req.Contents {
		field := fmt.Sprintf("%scontents[%d]", prefix, i)
		if len(c.Parts) == 0 {
			return nil, llmservice.InvalidParam(field+".parts", "%s.parts: at least one part is required", field)
		}
		switch c.Role {
		case wire.RoleUser, "", "function":
			var parts []llm.Part
			for j, p := range c.Parts {
				pf := fmt.Sprintf("%s.parts[%d]", field, j)
				if err := checkPart(p, pf); err != nil {
					return nil, err
				}
				switch {
				case p.FunctionResponse != nil:
					fr := p.FunctionResponse
					id := fr.ID
					if ids := pending[fr.Name]; len(ids) > 0 {
						if id == "" {
							id = ids[0]
						}
						pending[fr.Name] = removeID(ids, id)
					}
					if id == "" {
						id = "call_" + strconv.Itoa(ncall)
						ncall++
					}
					text := strings.TrimSpace(string(fr.Response))
					if text == "" {
						text = "{}"
					}
					out.Messages = append(out.Messages, llm.Message{Role: llm.RoleTool, ToolCallID: id, Name: fr.Name,
						Content: []llm.Part{{Type: llm.PartText, Text: text}}})
				case p.FunctionCall != nil:
					return nil, llmservice.InvalidParam(pf+".functionCall", "%s.functionCall: function calls belong in a model turn", pf)
				case p.Thought:
				default:
					if lp, ok, err := mediaPart(p, pf); err != nil {
						return nil, err
					} else if ok {
						parts = append(parts, lp)
					}
				}
			}
			if len(parts) > 0 {
				out.Messages = append(out.Messages, llm.Message{Role: llm.RoleUser, Content: parts})
			}
		case wire.RoleModel:
			am := llm.Message{Role: llm.RoleAssistant}
			for j, p := range c.Parts {
				pf := fmt.Sprintf("%s.parts[%d]", field, j)
				if err := checkPart(p, pf); err != nil {
					return nil, err
				}
				if p.Thought {
					am.Content = append(am.Content, llm.Part{Type: llm.PartThinking, Text: p.Text, Signature: p.ThoughtSignature, Family: family})
					continue
				}
				if p.ThoughtSignature != "" {
					// The signature of the part that follows: the Gemini
					// adapter puts it back on that part.
					am.Content = append(am.Content, llm.Part{Type: llm.PartThinking, Signature: p.ThoughtSignature, Family: family})
				}
				switch {
				case p.FunctionCall != nil:
					fc := p.FunctionCall
					id := fc.ID
					if id == "" {
						id = "call_" + strconv.Itoa(ncall)
						ncall++
					}
					pending[fc.Name] = append(pending[fc.Name], id)
					args := "{}"
					if a := bytes.TrimSpace(fc.Args); len(a) > 0 && string(a) != "null" {
						args = string(a)
					}
					am.ToolCalls = append(am.ToolCalls, llm.ToolCall{ID: id, Name: fc.Name, Arguments: args})
				case p.FunctionResponse != nil:
					return nil, llmservice.InvalidParam(pf+".functionResponse", "%s.functionResponse: function responses belong in a user turn", pf)
				default:
					if lp, ok, err := mediaPart(p, pf); err != nil {
						return nil, err
					} else if ok {
						am.Content = append(am.Content, lp)
					}
				}
			}
			out.Messages = append(out.Messages, am)
		default:
			return nil, llmservice.InvalidParam(field+".role", "%s.role: must be 'user' or 'model', got %q", field, c.Role)
		}
	}
	if !hasTurn(out.Messages) {
		return nil, llmservice.InvalidParam(prefix+"contents", "%scontents: no part has content (text, inlineData, fileData, functionCall or functionResponse)", prefix)
	}
	if err := generationConfig(out, req.GenerationConfig, prefix); err != nil {
		return nil, err
	}
	for i, t := range req.Tools {
		for j, fd := range t.FunctionDeclarations {
			f := fmt.Sprintf("%stools[%d].functionDeclarations[%d]", prefix, i, j)
			if fd.Name == "" {
				return nil, llmservice.InvalidParam(f+".name", "%s.name: required", f)
			}
			schema, err := toolSchema(fd, f)
			if err != nil {
				return nil, err
			}
			out.Tools = append(out.Tools, llm.Tool{Name: fd.Name, Description: fd.Description, Parameters: schema})
		}
		// googleSearch, codeExecution, urlContext and other built-in tools
		// run at Google only; no translated upstream has them.
	}
	if tc := req.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		fc := tc.FunctionCallingConfig
		var choice *llm.ToolChoice
		switch fc.Mode {
		case "", "MODE_UNSPECIFIED", wire.ModeAuto, "VALIDATED":
			choice = &llm.ToolChoice{Mode: llm.ToolChoiceAuto}
		case wire.ModeAny:
			choice = &llm.ToolChoice{Mode: llm.ToolChoiceRequired}
			if len(fc.AllowedFunctionNames) == 1 {
				choice = &llm.ToolChoice{Mode: llm.ToolChoiceFunction, Name: fc.AllowedFunctionNames[0]}
			}
		case wire.ModeNone:
			choice = &llm.ToolChoice{Mode: llm.ToolChoiceNone}
		default:
			return nil, llmservice.InvalidParam(prefix+"toolConfig.functionCallingConfig.mode",
				"%stoolConfig.functionCallingConfig.mode: must be AUTO, ANY, NONE or VALIDATED, got %q", prefix, fc.Mode)
		}
		if len(out.Tools) > 0 {
			out.ToolChoice = choice
		}
	}
	return out, nil
}

func hasTurn(msgs []llm.Message) bool {
	for _, m := range msgs {
		if m.Role != llm.RoleSystem && (m.HasContent() || len(m.ToolCalls) > 0) {
			return true
		}
	}
	return false
}

func removeID(ids []string, id string) []string {
	for i, v := range ids {
		if v == id {
			return append(ids[:i:i], ids[i+1:]...)
		}
	}
	return ids
}

func isEmptyPart(p wire.Part) bool {
	return p.Text == "" && p.InlineData == nil && p.FileData == nil && p.FunctionCall == nil && p.FunctionResponse == nil
}

// checkPart validates the fields of one part that the translation needs.
func checkPart(p wire.Part, field string) error {
	if fc := p.FunctionCall; fc != nil {
		if fc.Name == "" {
			return llmservice.InvalidParam(field+".functionCall.name", "%s.functionCall.name: required", field)
		}
		if a := bytes.TrimSpace(fc.Args); len(a) > 0 && a[0] != '{' && string(a) != "null" {
			return llmservice.InvalidParam(field+".functionCall.args", "%s.functionCall.args: must be an object", field)
		}
	}
	if fr := p.FunctionResponse; fr != nil {
		if fr.Name == "" {
			return llmservice.InvalidParam(field+".functionResponse.name", "%s.functionResponse.name: required", field)
		}
		if r := bytes.TrimSpace(fr.Response); len(r) > 0 && r[0] != '{' && string(r) != "null" {
			return llmservice.InvalidParam(field+".functionResponse.response", "%s.functionResponse.response: must be an object", field)
		}
	}
	if d := p.InlineData; d != nil && (d.MIMEType == "" || d.Data == "") {
		return llmservice.InvalidParam(field+".inlineData", "%s.inlineData: mimeType and data are required", field)
	}
	if d := p.FileData; d != nil && d.FileURI == "" {
		return llmservice.InvalidParam(field+".fileData.fileUri", "%s.fileData.fileUri: required", field)
	}
	return nil
}

// mediaPart translates a text, inlineData or fileData part; ok is false
// for a part with nothing the canonical types can carry (executableCode,
// an empty text).
func mediaPart(p wire.Part, field string) (llm.Part, bool, error) {
	switch {
	case p.Text != "":
		return llm.Part{Type: llm.PartText, Text: p.Text}, true, nil
	case p.InlineData != nil:
		return llm.Part{Type: llm.PartImage, ImageURL: "data:" + p.InlineData.MIMEType + ";base64," + p.InlineData.Data}, true, nil
	case p.FileData != nil:
		u := p.FileData.FileURI
		if l := strings.ToLower(u); !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") {
			return llm.Part{}, false, llmservice.InvalidParam(field+".fileData.fileUri",
				"%s.fileData.fileUri: only http(s) URLs can be sent to this model", field)
		}
		return llm.Part{Type: llm.PartImage, ImageURL: u}, true, nil
	}
	return llm.Part{}, false, nil
}

// generationConfig copies the sampling options and the JSON output mode.
func generationConfig(out *llm.ChatRequest, gc *wire.GenerationConfig, prefix string) error {
	if gc == nil {
		return nil
	}
	f := prefix + "generationConfig."
	if n := gc.MaxOutputTokens; n != nil {
		if *n < 1 {
			return llmservice.InvalidParam(f+"maxOutputTokens", "%smaxOutputTokens: must be at least 1", f)
		}
		out.MaxTokens = n
	}
	if t := gc.Temperature; t != nil {
		if *t < 0 || *t > 2 || math.IsNaN(*t) {
			return llmservice.InvalidParam(f+"temperature", "%stemperature: must be between 0 and 2", f)
		}
		out.Temperature = t
	}
	if p := gc.TopP; p != nil {
		if *p < 0 || *p > 1 {
			return llmservice.InvalidParam(f+"topP", "%stopP: must be between 0 and 1", f)
		}
		out.TopP = p
	}
	if n := gc.CandidateCount; n != nil {
		if *n < 1 || *n > 8 {
			return llmservice.InvalidParam(f+"candidateCount", "%scandidateCount: must be between 1 and 8", f)
		}
		if *n > 1 {
			out.N = n
		}
	}
	if len(gc.StopSequences) > 5 {
		return llmservice.InvalidParam(f+"stopSequences", "%sstopSequences: at most 5", f)
	}
	out.Stop = gc.StopSequences
	out.PresencePenalty, out.FrequencyPenalty = gc.PresencePenalty, gc.FrequencyPenalty
	if s := gc.Seed; s != nil {
		v := int64(*s)
		out.Seed = &v
	}
	switch gc.ResponseMIMEType {
	case "", "text/plain":
		if len(gc.ResponseSchema) > 0 || len(gc.ResponseJSONSchema) > 0 {
			return llmservice.InvalidParam(f+"responseMimeType", "%sresponseMimeType: a response schema needs application/json", f)
		}
	case "application/json":
		schema := gc.ResponseJSONSchema
		if len(schema) == 0 {
			schema = gc.ResponseSchema
		}
		if s := bytes.TrimSpace(schema); len(s) == 0 || string(s) == "null" {
			out.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONObject}
			break
		}
		norm, err := normalizeSchema(schema)
		if err != nil {
			return llmservice.InvalidParam(f+"responseSchema", "%sresponseSchema: must be a JSON object", f)
		}
		out.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "response", Schema: norm}
	default:
		return llmservice.InvalidParam(f+"responseMimeType", "%sresponseMimeType: must be text/plain or application/json, got %q", f, gc.ResponseMIMEType)
	}
	return nil
}

// toolSchema gives a declaration's parameters as JSON Schema.
func toolSchema(fd wire.FunctionDeclaration, field string) (json.RawMessage, error) {
	schema := fd.ParametersJSONSchema
	if len(schema) > 0 && len(fd.Parameters) > 0 {
		return nil, llmservice.InvalidParam(field+".parameters", "%s: parameters and parametersJsonSchema are mutually exclusive", field)
	}
	if len(schema) == 0 {
		schema = fd.Parameters
	}
	if s := bytes.TrimSpace(schema); len(s) == 0 || string(s) == "null" {
		return json.RawMessage(`{"type":"object","properties":{}}`), nil
	}
	norm, err := normalizeSchema(schema)
	if err != nil {
		return nil, llmservice.InvalidParam(field+".parameters", "%s.parameters: must be a JSON object", field)
	}
	return norm, nil
}

// normalizeSchema turns Gemini's OpenAPI-subset schema into JSON Schema
// other providers take: type names lower-cased ("OBJECT" -> "object").
func normalizeSchema(schema json.RawMessage) (json.RawMessage, error) {
	var v any
	if err := json.Unmarshal(schema, &v); err != nil {
		return nil, err
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Errorf("not an object")
	}
	lowerTypes(v)
	return json.Marshal(v)
}

func lowerTypes(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "type" {
				x[k] = strings.ToLower(s)
				continue
			}
			lowerTypes(e)
		}
	case []any:
		for _, e := range x {
			lowerTypes(e)
		}
	}
}
