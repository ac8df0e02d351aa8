package athena

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
)

// Request bodies of the conversation endpoints. Each is decoded field by
// field into json.RawMessage first, so that every error names the field
// the client got wrong ("message.content", "max_tokens"); unknown fields
// are ignored, as Athena's own (pydantic-style) server would.

var jsonNull = []byte("null")

// isNull reports an absent or null field.
func isNull(v json.RawMessage) bool {
	return len(v) == 0 || bytes.Equal(bytes.TrimSpace(v), jsonNull)
}

// decodeField decodes v into out, naming field in the error.
func decodeField(field string, v json.RawMessage, out any, want string) error {
	if err := json.Unmarshal(v, out); err != nil {
		return llmservice.InvalidParam(field, "invalid type for '%s': expected %s, got %s", field, want, snippet(v))
	}
	return nil
}

// snippet shows a short prefix of a bad value.
func snippet(v json.RawMessage) string {
	s := strings.TrimSpace(string(v))
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

// object decodes a request body into its top-level fields.
func object(body []byte) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := httpx.Unmarshal(body, &fields); err != nil {
		return nil, err
	}
	if fields == nil { // the body was null
		return nil, llmservice.Errorf(llmservice.Invalid, "request body must be a JSON object")
	}
	return fields, nil
}

// decodeConversation reads POST /api/v1/conversations.
func decodeConversation(body []byte) (*newConversation, error) {
	f, err := object(body)
	if err != nil {
		return nil, err
	}
	var out newConversation
	if isNull(f["model"]) {
		return nil, llmservice.InvalidParam("model", "model is required")
	}
	if err := decodeField("model", f["model"], &out.Model, "a string"); err != nil {
		return nil, err
	}
	if strings.TrimSpace(out.Model) == "" {
		return nil, llmservice.InvalidParam("model", "model must not be empty")
	}
	if !isNull(f["system_message"]) {
		if err := decodeField("system_message", f["system_message"], &out.SystemMessage, "a string"); err != nil {
			return nil, err
		}
	}
	if !isNull(f["metadata"]) {
		var m map[string]any
		if err := decodeField("metadata", f["metadata"], &m, "an object"); err != nil {
			return nil, err
		}
		out.Metadata = compact(f["metadata"])
	}
	return &out, nil
}

// compact drops insignificant whitespace from a valid JSON value.
func compact(v json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return v
	}
	return b.Bytes()
}

// decodeTurn reads POST /api/v1/conversations/{id}/messages:
// {"message": {"role": "user", "content": "..."}} and the optional sampling
// parameters of chat completions.
func decodeTurn(body []byte) (*turnInput, error) {
	f, err := object(body)
	if err != nil {
		return nil, err
	}
	if isNull(f["message"]) {
		return nil, llmservice.InvalidParam("message", "message is required: {\"role\": \"user\", \"content\": \"...\"}")
	}
	var msg map[string]json.RawMessage
	if err := decodeField("message", f["message"], &msg, "an object"); err != nil {
		return nil, err
	}
	if msg == nil {
		return nil, llmservice.InvalidParam("message", "message is required: {\"role\": \"user\", \"content\": \"...\"}")
	}
	if !isNull(msg["role"]) {
		var role string
		if err := decodeField("message.role", msg["role"], &role, "a string"); err != nil {
			return nil, err
		}
		if err := checkRole(role); err != nil {
			return nil, err
		}
	}
	in := &turnInput{}
	if in.Content, err = decodeContent(msg["content"]); err != nil {
		return nil, err
	}
	if err := decodeSampling(f, in); err != nil {
		return nil, err
	}
	return in, nil
}

// checkRole accepts only user messages: the model answers each one, and
// its reply is stored as the assistant's.
func checkRole(role string) error {
	if role != llm.RoleUser {
		return llmservice.InvalidParam("message.role",
			"message.role must be \"user\", got %q: the model answers each user message, and its reply is stored as the assistant's", role)
	}
	return nil
}

// decodeContent accepts a string or OpenAI's array of text parts.
func decodeContent(v json.RawMessage) (string, error) {
	const field = "message.content"
	if isNull(v) {
		return "", llmservice.InvalidParam(field, "message.content is required")
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		if strings.TrimSpace(s) == "" {
			return "", llmservice.InvalidParam(field, "message.content must not be empty")
		}
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := decodeField(field, v, &parts, "a string or an array of text parts"); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, p := range parts {
		if p.Type != llm.PartText {
			return "", llmservice.InvalidParam(fmt.Sprintf("%s[%d].type", field, i),
				"conversations store text only; part type %q is not supported", p.Type)
		}
		b.WriteString(p.Text)
	}
	if strings.TrimSpace(b.String()) == "" {
		return "", llmservice.InvalidParam(field, "message.content must not be empty")
	}
	return b.String(), nil
}

// decodeSampling reads the optional parameters Athena documents for chat
// completions.
func decodeSampling(f map[string]json.RawMessage, in *turnInput) error {
	floats := []struct {
		name string
		dst  **float64
	}{
		{"temperature", &in.Temperature},
		{"top_p", &in.TopP},
		{"frequency_penalty", &in.FrequencyPenalty},
		{"presence_penalty", &in.PresencePenalty},
	}
	for _, p := range floats {
		if isNull(f[p.name]) {
			continue
		}
		var v float64
		if err := decodeField(p.name, f[p.name], &v, "a number"); err != nil {
			return err
		}
		*p.dst = &v
	}
	if !isNull(f["max_tokens"]) {
		var n int
		if err := decodeField("max_tokens", f["max_tokens"], &n, "an integer"); err != nil {
			return err
		}
		in.MaxTokens = &n
	}
	if !isNull(f["stream"]) {
		if err := decodeField("stream", f["stream"], &in.Stream, "a boolean"); err != nil {
			return err
		}
	}
	if !isNull(f["stream_options"]) {
		var so struct {
			IncludeUsage bool `json:"include_usage"`
		}
		if err := decodeField("stream_options", f["stream_options"], &so, "an object"); err != nil {
			return err
		}
		in.IncludeUsage = so.IncludeUsage
	}
	return in.validate()
}

// validate applies the ranges Athena documents; REST and GraphQL share it.
func (in *turnInput) validate() error {
	ranges := []struct {
		name     string
		v        *float64
		min, max float64
	}{
		{"temperature", in.Temperature, 0, 2},
		{"top_p", in.TopP, 0, 1},
		{"frequency_penalty", in.FrequencyPenalty, -2, 2},
		{"presence_penalty", in.PresencePenalty, -2, 2},
	}
	for _, r := range ranges {
		if r.v != nil && (*r.v < r.min || *r.v > r.max) {
			return llmservice.InvalidParam(r.name, "%s must be between %g and %g", r.name, r.min, r.max)
		}
	}
	if in.MaxTokens != nil && *in.MaxTokens < 1 {
		return llmservice.InvalidParam("max_tokens", "max_tokens must be at least 1")
	}
	return nil
}
