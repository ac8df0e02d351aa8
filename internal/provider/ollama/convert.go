package ollama

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	ollamawire "github.com/llmservice/llmservice/internal/wire/ollama"
)

// toWire translates a canonical chat request into Ollama's. stream is sent
// explicitly either way, because Ollama streams when the field is absent.
//
// Fields with no Ollama meaning are left out on purpose: User is an
// abuse-monitoring tag that changes no output; IncludeUsage is always
// honoured since the last stream line carries the counts; Extra belongs to
// an Ollama dialect, which does not exist yet; Tool.Strict and
// ResponseFormat.Strict have no switch because Ollama always constrains
// format output with a grammar; Part.Detail is an OpenAI resize hint.
func toWire(req *llm.ChatRequest, stream bool) (*ollamawire.ChatRequest, error) {
	if req.N != nil && *req.N != 1 {
		return nil, llmservice.InvalidParam("n", "ollama generates one choice per request; n must be 1")
	}
	w := &ollamawire.ChatRequest{Model: req.Model, Stream: &stream}
	sendTools := true
	if tc := req.ToolChoice; tc != nil {
		switch tc.Mode {
		case "", llm.ToolChoiceAuto:
		case llm.ToolChoiceNone:
			// Ollama has no tool_choice; a model that is shown no tools
			// cannot call one, which is what "none" asks.
			sendTools = false
		default:
			return nil, llmservice.InvalidParam("tool_choice", "ollama cannot force a tool call; tool_choice must be auto or none, not %q", tc.Mode)
		}
	}
	var err error
	if sendTools {
		if w.Tools, err = toolsToWire(req.Tools); err != nil {
			return nil, err
		}
	}
	f, err := formatToWire(req.ResponseFormat)
	if err != nil {
		return nil, err
	}
	w.Format = f
	w.Options = optionsToWire(req)
	w.Messages, err = messagesToWire(req.Messages)
	if err != nil {
		return nil, err
	}
	return w, nil
}

func toolsToWire(tools []llm.Tool) ([]ollamawire.Tool, error) {
	if len(tools) == 0 {
		return nil, nil
	}
	out := make([]ollamawire.Tool, len(tools))
	for i, t := range tools {
		p := bytes.TrimSpace(t.Parameters)
		if len(p) > 0 && (p[0] != '{' || !json.Valid(p)) {
			return nil, llmservice.InvalidParam(fmt.Sprintf("tools[%d].function.parameters", i), "the parameters must be a JSON Schema object")
		}
		out[i] = ollamawire.Tool{Type: "function", Function: ollamawire.ToolFunction{
			Name: t.Name, Description: t.Description, Parameters: json.RawMessage(p),
		}}
	}
	return out, nil
}

// formatToWire maps response_format onto Ollama's format field: "json" for
// JSON mode, the schema object itself for structured outputs.
// https://docs.ollama.com/capabilities/structured-outputs
func formatToWire(rf *llm.ResponseFormat) (json.RawMessage, error) {
	if rf == nil {
		return nil, nil
	}
	switch rf.Type {
	case "", llm.FormatText:
		return nil, nil
	case llm.FormatJSONObject:
		return json.RawMessage(`"json"`), nil
	case llm.FormatJSONSchema:
		s := bytes.TrimSpace(rf.Schema)
		if len(s) == 0 || s[0] != '{' || !json.Valid(s) {
			return nil, llmservice.InvalidParam("response_format.json_schema.schema", "the schema must be a JSON object")
		}
		return json.RawMessage(s), nil
	}
	return nil, llmservice.InvalidParam("response_format.type", "unsupported response format %q", rf.Type)
}

func optionsToWire(req *llm.ChatRequest) *ollamawire.Options {
	o := ollamawire.Options{
		Temperature:      req.Temperature,
		TopP:             req.TopP,
		NumPredict:       req.MaxTokens,
		NumCtx:           req.NumCtx,
		Stop:             req.Stop,
		Seed:             req.Seed,
		FrequencyPenalty: req.FrequencyPenalty,
		PresencePenalty:  req.PresencePenalty,
	}
	if o.Temperature == nil && o.TopP == nil && o.NumPredict == nil && o.NumCtx == nil &&
		len(o.Stop) == 0 && o.Seed == nil && o.FrequencyPenalty == nil && o.PresencePenalty == nil {
		return nil
	}
	return &o
}

func messagesToWire(msgs []llm.Message) ([]ollamawire.Message, error) {
	// Ollama labels a tool result with the function's name, not the call
	// ID, so remember which name each earlier call had.
	callNames := map[string]string{}
	out := make([]ollamawire.Message, 0, len(msgs))
	for i, m := range msgs {
		w := ollamawire.Message{Role: m.Role}
		switch m.Role {
		case llm.RoleSystem, llm.RoleUser, llm.RoleAssistant:
		case llm.RoleDeveloper:
			w.Role = llm.RoleSystem
		case llm.RoleTool:
			w.ToolCallID = m.ToolCallID
			w.ToolName = callNames[m.ToolCallID]
			if w.ToolName == "" {
				w.ToolName = m.Name // OpenAI's older function-result messages name the function
			}
		default:
			return nil, llmservice.InvalidParam(fmt.Sprintf("messages[%d].role", i), "unsupported role %q", m.Role)
		}
		if m.Name != "" && m.Role != llm.RoleTool {
			return nil, llmservice.InvalidParam(fmt.Sprintf("messages[%d].name", i), "ollama has no participant names")
		}
		var err error
		if w.Content, w.Images, err = contentToWire(i, m.Content); err != nil {
			return nil, err
		}
		for j, tc := range m.ToolCalls {
			args, err := argumentsToWire(tc.Arguments)
			if err != nil {
				return nil, llmservice.InvalidParam(fmt.Sprintf("messages[%d].tool_calls[%d].function.arguments", i, j), "%s", err)
			}
			w.ToolCalls = append(w.ToolCalls, ollamawire.ToolCall{ID: tc.ID, Function: ollamawire.ToolCallFunction{Name: tc.Name, Arguments: args}})
			callNames[tc.ID] = tc.Name
		}
		out = append(out, w)
	}
	return out, nil
}

// contentToWire joins text parts into Ollama's single content string and
// moves image parts into images.
func contentToWire(i int, parts []llm.Part) (string, []string, error) {
	if len(parts) == 1 && parts[0].Type == llm.PartText {
		return parts[0].Text, nil, nil
	}
	var text strings.Builder
	var images []string
	for j, p := range parts {
		switch p.Type {
		case llm.PartText:
			text.WriteString(p.Text)
		case llm.PartImage:
			img, err := imageToWire(p.ImageURL)
			if err != nil {
				return "", nil, llmservice.InvalidParam(fmt.Sprintf("messages[%d].content[%d].image_url", i, j), "%s", err)
			}
			images = append(images, img)
		case llm.PartThinking, llm.PartRedactedThinking:
			// Reasoning is not sent back to local models: dropped.
		default:
			return "", nil, llmservice.InvalidParam(fmt.Sprintf("messages[%d].content[%d].type", i, j), "ollama does not accept %q content parts", p.Type)
		}
	}
	return text.String(), images, nil
}

// imageToWire returns the base64 payload of a data: URL. Ollama takes raw
// base64 only and never fetches a URL itself.
// https://docs.ollama.com/capabilities/vision
func imageToWire(u string) (string, error) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
			return "", fmt.Errorf("ollama does not fetch image URLs; send the image as a base64 data: URL")
		}
		return "", fmt.Errorf("the image must be a base64 data: URL")
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok || !strings.HasSuffix(meta, ";base64") || data == "" {
		return "", fmt.Errorf("the image data: URL must be base64-encoded")
	}
	return data, nil
}

// argumentsToWire turns OpenAI's JSON-text arguments into the JSON object
// Ollama requires.
func argumentsToWire(args string) (json.RawMessage, error) {
	s := bytes.TrimSpace([]byte(args))
	if len(s) == 0 {
		return json.RawMessage(`{}`), nil
	}
	if s[0] != '{' || !json.Valid(s) {
		return nil, fmt.Errorf("tool call arguments must be a JSON object")
	}
	return json.RawMessage(s), nil
}

// Family is the provider family name this adapter's thinking parts carry.
// Ollama signs nothing, and its reasoning is not sent back (see
// contentToWire): a local model's earlier thoughts only cost context.
const Family = "ollama"

// fromWire translates a complete (non-streamed) Ollama answer. A thinking
// model's reasoning (message.thinking) becomes a thinking part before the
// text.
func fromWire(r *ollamawire.ChatResponse) *llm.ChatResponse {
	msg := llm.Message{Role: llm.RoleAssistant}
	for i, tc := range r.Message.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, toolCallFromWire(i, tc))
	}
	if r.Message.Thinking != "" {
		msg.Content = append(msg.Content, llm.Part{Type: llm.PartThinking, Text: r.Message.Thinking, Family: Family})
	}
	if r.Message.Content != "" || len(msg.ToolCalls) == 0 {
		msg.Content = append(msg.Content, llm.Part{Type: llm.PartText, Text: r.Message.Content})
	}
	return &llm.ChatResponse{
		Model:   r.Model,
		Created: createdFromWire(r.CreatedAt),
		Choices: []llm.Choice{{
			Message:      msg,
			FinishReason: finishFromWire(r.DoneReason, len(msg.ToolCalls) > 0),
		}},
		Usage:    usageFromWire(&r.Metrics),
		HasUsage: r.PromptEvalCount > 0 || r.EvalCount > 0,
	}
}

// toolCallFromWire names a call and turns its argument object back into
// JSON text. Older Ollama servers send no call IDs, so the n-th call of an
// answer (counting from 0) is named call_<n+1> unless upstream named it.
func toolCallFromWire(n int, tc ollamawire.ToolCall) llm.ToolCall {
	id := tc.ID
	if id == "" {
		id = "call_" + strconv.Itoa(n+1)
	}
	args := string(bytes.TrimSpace(tc.Function.Arguments))
	if args == "" || args == "null" {
		args = "{}"
	}
	return llm.ToolCall{ID: id, Name: tc.Function.Name, Arguments: args}
}

// finishFromWire maps done_reason to OpenAI's vocabulary. Ollama says
// "stop" after a tool call too, so tool calls decide.
func finishFromWire(reason string, toolCalls bool) string {
	switch {
	case toolCalls:
		return llm.FinishToolCalls
	case reason == ollamawire.DoneLength:
		return llm.FinishLength
	}
	return llm.FinishStop
}

func usageFromWire(m *ollamawire.Metrics) llm.Usage {
	return llm.Usage{PromptTokens: m.PromptEvalCount, CompletionTokens: m.EvalCount}
}

func createdFromWire(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0
	}
	return t.Unix()
}
