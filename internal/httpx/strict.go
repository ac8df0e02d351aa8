package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/llmservice/llmservice"
)

// DecodeStrictJSON is DecodeJSON for bodies whose every field matters (the
// admin API): a field v does not know is a 400 naming it, so that a typo
// ("max_budget_usd" misspelt) cannot be ignored silently.
func DecodeStrictJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return llmservice.Errorf(llmservice.TooLarge, "request body is larger than the limit of %d bytes", limit)
		}
		return llmservice.Errorf(llmservice.Invalid, "could not read request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return llmservice.Errorf(llmservice.Invalid, "request body is empty; expected a JSON object")
	}
	return UnmarshalStrict(body, v)
}

// UnmarshalStrict decodes body into v, refusing fields v does not know
// (also inside values whose UnmarshalJSON calls StrictRaw), with
// DecodeJSON's error mapping.
func UnmarshalStrict(body []byte, v any) error {
	err := StrictRaw(body, v)
	if err == nil {
		return nil
	}
	if f, ok := unknownField(err); ok {
		return llmservice.InvalidParam(f, "unknown field '%s'", f)
	}
	var e *llmservice.Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return llmservice.Errorf(llmservice.Invalid, "request body is not valid JSON: unexpected end")
	}
	return JSONError(err)
}

// StrictRaw decodes one JSON value into v as json.Unmarshal does, but
// refuses unknown fields and anything after the value, and returns
// encoding/json's own errors: meant for UnmarshalJSON methods, whose
// errors the outer decoder completes with the field's path.
func StrictRaw(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return llmservice.Errorf(llmservice.Invalid, "request body holds more than one JSON value")
	}
	return nil
}

// unknownField reads the field name out of encoding/json's error for an
// unknown field, the only way it reports one.
func unknownField(err error) (string, bool) {
	name, ok := strings.CutPrefix(err.Error(), `json: unknown field "`)
	if !ok {
		return "", false
	}
	name, ok = strings.CutSuffix(name, `"`)
	return name, ok
}
