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
			err = decodeArray(v, &r.Tools, nil)
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

// UnmarshalJSON decodes the legacy completion body, naming prompt or stop
// when one has the wrong type: encoding/json adds field names only to its
// own type errors, not to StringList's.
func (r *CompletionRequest) UnmarshalJSON(b []byte) error {
	type plain CompletionRequest // drops this method, so the decode does not recurse
	err := json.Unmarshal(b, (*plain)(r))
	if !errors.Is(err, errStringList) {
		return err
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) == nil {
		for _, k := range []string{"prompt", "stop"} {
			var s StringList
			if v, ok := fields[k]; ok && json.Unmarshal(v, &s) != nil {
				return &FieldError{Field: k, Msg: errStringList.Error()}
			}
		}
	}
	return err
}

// decodeMessages decodes the message list, naming the index of a bad one.
func decodeMessages(v json.RawMessage, out *[]Message) error {
	err := decodeArray(v, out, messageError)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field == "" {
		return errors.New("must be an array of message objects")
	}
	return err
}

// decodeArray decodes a JSON array into out in one pass. encoding/json names
// a nested field without its index ("tools.function.name"), and a client
// needs the index to find its mistake ("tools[2].function.name"), so on
// failure the elements are decoded again one by one to find it; only bad
// requests pay for that. refine, when set, sharpens an element's error.
func decodeArray[T any](v json.RawMessage, out *[]T, refine func(json.RawMessage, error) error) error {
	err := json.Unmarshal(v, out)
	if err == nil {
		return nil
	}
	var raws []json.RawMessage
	if json.Unmarshal(v, &raws) != nil {
		return err // not an array: the error says so
	}
	for i, raw := range raws {
		var elem T
		if e := json.Unmarshal(raw, &elem); e != nil {
			if refine != nil {
				e = refine(raw, e)
			}
			return fieldError(fmt.Sprintf("[%d]", i), e)
		}
	}
	return err
}

// messageError adds the index of the tool call to an error inside a
// message's tool_calls, which encoding/json reports without it.
func messageError(raw json.RawMessage, err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || !strings.HasPrefix(te.Field, "tool_calls") {
		return err
	}
	var m struct {
		ToolCalls json.RawMessage `json:"tool_calls"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return err
	}
	var calls []ToolCall
	if e := decodeArray(m.ToolCalls, &calls, nil); e != nil {
		return fieldError("tool_calls", e)
	}
	return err
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
