package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/llmservice/llmservice"
)

// FieldError is one entry of FastAPI's 422 body (pydantic v1 wording, as the
// seed shows it): where, what, and a machine-readable type.
type FieldError struct {
	Loc  []any          `json:"loc"`
	Msg  string         `json:"msg"`
	Type string         `json:"type"`
	Ctx  map[string]any `json:"ctx,omitempty"`
}

// ValidationError is every problem found in a request body, like FastAPI's
// RequestValidationError: clients see all of them at once, not the first.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, f := range e.Errors {
		parts[i] = locString(f.Loc) + ": " + f.Msg
	}
	return "validation error: " + strings.Join(parts, "; ")
}

// locString renders ["body","messages",0,"role"] as "messages[0].role".
func locString(loc []any) string {
	var b strings.Builder
	for i, l := range loc {
		if i == 0 && l == "body" {
			continue
		}
		switch v := l.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", v)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, v)
		}
	}
	if b.Len() == 0 {
		return "body"
	}
	return b.String()
}

// checker collects field errors while reading a decoded JSON body.
type checker struct {
	errs []FieldError
}

func (c *checker) add(loc []any, msg, typ string, ctx map[string]any) {
	c.errs = append(c.errs, FieldError{Loc: loc, Msg: msg, Type: typ, Ctx: ctx})
}

// err returns the collected errors as an Invalid error naming the first
// field, or nil.
func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return &llmservice.Error{Kind: llmservice.Invalid, Param: locString(c.errs[0].Loc), Message: c.errs[0].Msg,
		Err: &ValidationError{Errors: c.errs}}
}

func at(loc []any, more ...any) []any {
	out := make([]any, 0, len(loc)+len(more))
	return append(append(out, loc...), more...)
}

func (c *checker) missing(loc []any) { c.add(loc, "field required", "value_error.missing", nil) }

// parseObject decodes a body that must be one JSON object. Numbers stay
// json.Number so that integers are read exactly.
func parseObject(body []byte) (map[string]any, error) {
	var c checker
	if len(bytes.TrimSpace(body)) == 0 {
		c.missing([]any{"body"})
		return nil, c.err()
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	if err == nil {
		if _, extra := d.Token(); !errors.Is(extra, io.EOF) {
			err = errors.New("extra data after the JSON value")
		}
	}
	if err != nil {
		pos := d.InputOffset()
		var se *json.SyntaxError
		if errors.As(err, &se) {
			pos = se.Offset
		}
		c.add([]any{"body", pos}, "Invalid JSON: "+err.Error(), "value_error.jsondecode", map[string]any{"pos": pos})
		return nil, c.err()
	}
	m, ok := v.(map[string]any)
	if !ok {
		c.add([]any{"body"}, "value is not a valid dict", "type_error.dict", nil)
		return nil, c.err()
	}
	return m, nil
}

// str reads a string field. ok is false when the field is absent, null or
// wrong (the last recorded as an error).
func (c *checker) str(obj map[string]any, loc []any, key string, required bool) (string, bool) {
	l := at(loc, key)
	v, present := obj[key]
	switch s := v.(type) {
	case string:
		return s, true
	case nil:
		if required {
			if present {
				c.add(l, "none is not an allowed value", "type_error.none.not_allowed", nil)
			} else {
				c.missing(l)
			}
		}
		return "", false
	}
	c.add(l, "str type expected", "type_error.str", nil)
	return "", false
}

// number reads an optional number; like pydantic, a numeric string is
// accepted, a boolean is not.
func (c *checker) number(obj map[string]any, key string) (float64, bool) {
	l := []any{"body", key}
	var f float64
	var err error
	switch v := obj[key].(type) {
	case nil:
		return 0, false
	case json.Number:
		f, err = v.Float64()
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(v), 64)
	default:
		err = errors.New("not a number")
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		c.add(l, "value is not a valid float", "type_error.float", nil)
		return 0, false
	}
	return f, true
}

// integer reads an optional integer; an integral float (1000.0) counts.
func (c *checker) integer(obj map[string]any, key string) (int64, bool) {
	f := obj[key]
	if f == nil {
		return 0, false
	}
	l := []any{"body", key}
	var s string
	switch v := f.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	default:
		c.add(l, "value is not a valid integer", "type_error.integer", nil)
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	if x, err := strconv.ParseFloat(s, 64); err == nil && x == math.Trunc(x) && math.Abs(x) < 1<<53 {
		return int64(x), true
	}
	c.add(l, "value is not a valid integer", "type_error.integer", nil)
	return 0, false
}

// object reads an optional JSON object and returns it re-encoded.
func (c *checker) object(obj map[string]any, key string) json.RawMessage {
	switch v := obj[key].(type) {
	case nil:
		return nil
	case map[string]any:
		b, err := json.Marshal(v)
		if err == nil {
			return b
		}
	}
	c.add([]any{"body", key}, "value is not a valid dict", "type_error.dict", nil)
	return nil
}

// enum records an error unless s is one of allowed.
func (c *checker) enum(loc []any, s string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = "'" + a + "'"
	}
	c.add(loc, "value is not a valid enumeration member; permitted: "+strings.Join(quoted, ", "),
		"type_error.enum", map[string]any{"enum_values": allowed})
	return false
}

// nonEmpty records an error when a required string is empty.
func (c *checker) nonEmpty(loc []any, s string) {
	if s == "" {
		c.add(loc, "ensure this value has at least 1 characters", "value_error.any_str.min_length",
			map[string]any{"limit_value": 1})
	}
}

// maxLen records an error when s is longer than limit bytes, in pydantic's
// words (the gateway's input limits, see README).
func (c *checker) maxLen(loc []any, s string, limit int) {
	if len(s) > limit {
		c.add(loc, "ensure this value has at most "+strconv.Itoa(limit)+" characters", "value_error.any_str.max_length",
			map[string]any{"limit_value": limit})
	}
}

// maxJSON records an error when an object is larger than limit bytes as JSON.
func (c *checker) maxJSON(key string, raw json.RawMessage, limit int) {
	if len(raw) > limit {
		c.add([]any{"body", key}, "ensure this object takes at most "+strconv.Itoa(limit)+" bytes as JSON", "value_error.any_str.max_length",
			map[string]any{"limit_value": limit})
	}
}
