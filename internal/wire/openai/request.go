package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// FieldError is a decoding error that names the field at fault.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// InvalidField lets httpx name the field in its 400 answer.
func (e *FieldError) InvalidField() (field, msg string) { return e.Field, e.Msg }

// UnmarshalJSON decodes field by field so that an error names its field, and
// keeps unknown fields in Extra.
func (r *ChatRequest) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*r = ChatRequest{}
	for k, v := range m {
		var err error
		switch k {
		case "model":
			err = json.Unmarshal(v, &r.Model)
		case "messages":
			err = decodeMessages(v, &r.Messages)
		case "max_tokens":
			err = json.Unmarshal(v, &r.MaxTokens)
		case "max_completion_tokens":
			err = json.Unmarshal(v, &r.MaxCompletionTokens)
		case "temperature":
			err = json.Unmarshal(v, &r.Temperature)
		case "top_p":
			err = json.Unmarshal(v, &r.TopP)
		case "frequency_penalty":
			err = json.Unmarshal(v, &r.FrequencyPenalty)
		case "presence_penalty":
			err = json.Unmarshal(v, &r.PresencePenalty)
		case "stop":
			err = json.Unmarshal(v, &r.Stop)
		case "seed":
			err = json.Unmarshal(v, &r.Seed)
		case "n":
			err = json.Unmarshal(v, &r.N)
		case "tools":
			err = decodeArray(v, &r.Tools)
		case "tool_choice":
			if !bytes.Equal(bytes.TrimSpace(v), null) {
				r.ToolChoice = v
			}
		case "response_format":
			err = json.Unmarshal(v, &r.ResponseFormat)
		case "user":
			err = json.Unmarshal(v, &r.User)
		case "stream":
			var s *bool
			err = json.Unmarshal(v, &s)
			r.Stream = s != nil && *s
		case "stream_options":
			err = json.Unmarshal(v, &r.StreamOptions)
		default:
			if r.Extra == nil {
				r.Extra = make(map[string]json.RawMessage)
			}
			r.Extra[k] = v
		}
		if err != nil {
			return fieldError(k, err)
		}
	}
	return nil
}

// decodeMessages decodes each message on its own so errors carry an index.
func decodeMessages(v json.RawMessage, out *[]Message) error {
	var raws []json.RawMessage
	if err := json.Unmarshal(v, &raws); err != nil {
		return errors.New("must be an array of message objects")
	}
	return decodeElems(raws, out)
}

// decodeArray decodes a JSON array element by element, because
// encoding/json names a nested field without its index ("tools.function.name")
// and a client needs the index to find its mistake ("tools[2].function.name").
func decodeArray[T any](v json.RawMessage, out *[]T) error {
	var raws []json.RawMessage
	if err := json.Unmarshal(v, &raws); err != nil {
		return err
	}
	return decodeElems(raws, out)
}

func decodeElems[T any](raws []json.RawMessage, out *[]T) error {
	if raws == nil {
		*out = nil
		return nil
	}
	elems := make([]T, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &elems[i]); err != nil {
			return fieldError(fmt.Sprintf("[%d]", i), err)
		}
	}
	*out = elems
	return nil
}

// UnmarshalJSON decodes field by field, like ChatRequest's, so that an
// error names its field and tool_calls errors carry the call's index.
func (m *Message) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	*m = Message{}
	for k, v := range fields {
		var err error
		switch k {
		case "role":
			err = json.Unmarshal(v, &m.Role)
		case "content":
			// Content's errors already name "content".
			if err := m.Content.UnmarshalJSON(v); err != nil {
				return err
			}
		case "name":
			err = json.Unmarshal(v, &m.Name)
		case "tool_calls":
			err = decodeArray(v, &m.ToolCalls)
		case "tool_call_id":
			err = json.Unmarshal(v, &m.ToolCallID)
		}
		if err != nil {
			return fieldError(k, err)
		}
	}
	return nil
}

// fieldError turns a json error into a FieldError rooted at field.
func fieldError(field string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		sep := "."
		if strings.HasPrefix(fe.Field, "[") {
			sep = ""
		}
		return &FieldError{Field: field + sep + fe.Field, Msg: fe.Msg}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		f := field
		if te.Field != "" {
			f = field + "." + te.Field
		}
		return &FieldError{Field: f, Msg: "expected " + jsonKind(te.Type.Kind().String()) + ", got " + te.Value}
	}
	return &FieldError{Field: field, Msg: err.Error()}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64", "int32":
		return "an integer"
	case "float64", "float32":
		return "a number"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return goKind
}

type chatRequestAlias ChatRequest

// MarshalJSON writes the known fields, then the extra ones.
func (r ChatRequest) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(chatRequestAlias(r))
	if err != nil || len(r.Extra) == 0 {
		return b, err
	}
	return appendFields(b, r.Extra)
}

// appendFields splices extra fields into the JSON object b.
func appendFields(b []byte, extra map[string]json.RawMessage) ([]byte, error) {
	b = b[:len(b)-1] // drop '}'
	for k, v := range extra {
		if len(b) > 1 {
			b = append(b, ',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b = append(b, kb...)
		b = append(b, ':')
		b = append(b, v...)
	}
	return append(b, '}'), nil
}
