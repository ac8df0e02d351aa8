package django

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
)

// readFields reads a request body the way DRF's parsers do: a JSON object,
// or a form; and the browsable API's form override, where the real body is
// the "_content" field.
func readFields(w http.ResponseWriter, r *http.Request, limit int64) (map[string]json.RawMessage, error) {
	body, err := httpx.ReadBody(w, r, limit)
	switch llmservice.ErrorKind(err) {
	case llmservice.TooLarge: // in DRF's sentences
		return nil, llmservice.Errorf(llmservice.TooLarge, "Request body is larger than the limit of %d bytes.", limit)
	case llmservice.Invalid:
		return nil, llmservice.Errorf(llmservice.Invalid, "Could not read the request body.")
	}
	if err != nil {
		return nil, err
	}
	return parseFields(body, r.Header.Get("Content-Type"))
}

// parseFields decodes body into its top-level fields. An empty body is no
// fields, as in DRF, so that validation names each missing field.
func parseFields(body []byte, contentType string) (map[string]json.RawMessage, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(body)
	// curl -d sends JSON labelled as a form; only a body that is not JSON
	// is read as one.
	if mt == "application/x-www-form-urlencoded" && (len(trimmed) == 0 || trimmed[0] != '{') {
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, llmservice.Errorf(llmservice.Invalid, "Form parse error - %v", err)
		}
		if c, ok := q["_content"]; ok {
			return parseFields([]byte(c[0]), q.Get("_content_type"))
		}
		out := make(map[string]json.RawMessage, len(q))
		for k, v := range q {
			b, _ := json.Marshal(v[0])
			out[k] = b
		}
		return out, nil
	}
	if len(trimmed) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	if !utf8.Valid(trimmed) {
		return nil, llmservice.Errorf(llmservice.Invalid, "JSON parse error - the body is not valid UTF-8")
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, llmservice.Errorf(llmservice.Invalid, "JSON parse error - %v", err)
	}
	if dec.More() {
		return nil, llmservice.Errorf(llmservice.Invalid, "JSON parse error - extra data after the JSON value")
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fieldError("non_field_errors", "Invalid data. Expected a dictionary, but got "+pythonType(trimmed)+".")
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &out); err != nil {
		return nil, llmservice.Errorf(llmservice.Invalid, "JSON parse error - %v", err)
	}
	return out, nil
}

// pythonType names a JSON value's type as DRF's messages do.
func pythonType(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "NoneType"
	}
	switch raw[0] {
	case '[':
		return "list"
	case '"':
		return "str"
	case '{':
		return "dict"
	case 't', 'f':
		return "bool"
	case 'n':
		return "NoneType"
	}
	if bytes.ContainsAny(raw, ".eE") {
		return "float"
	}
	return "int"
}

// stringField reads a DRF CharField: required, not null, a string or a
// number (DRF accepts 5 as "5"), not blank. trim strips surrounding
// whitespace first, as CharField does unless told not to. It records a
// failure in errs and returns ok=false.
func stringField(fields map[string]json.RawMessage, name string, trim bool, errs *fieldErrors) (string, bool) {
	raw, ok := fields[name]
	if !ok {
		errs.add(name, msgRequired)
		return "", false
	}
	raw = bytes.TrimSpace(raw)
	var s string
	switch {
	case len(raw) == 0 || raw[0] == 'n':
		errs.add(name, msgNull)
		return "", false
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			errs.add(name, msgNotString)
			return "", false
		}
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		s = string(raw)
	default:
		errs.add(name, msgNotString)
		return "", false
	}
	if trim {
		s = strings.TrimSpace(s)
	}
	if s == "" {
		errs.add(name, msgBlank)
		return "", false
	}
	return s, true
}

// boolField reads a DRF BooleanField, which also takes "true", "1", 0...;
// absent and null are false.
func boolField(fields map[string]json.RawMessage, name string, errs *fieldErrors) bool {
	raw, ok := fields[name]
	if !ok {
		return false
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		errs.add(name, msgNotBool)
		return false
	}
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		if x == 0 || x == 1 {
			return x == 1
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "t", "yes", "y", "on", "1":
			return true
		case "false", "f", "no", "n", "off", "0", "":
			return false
		}
	}
	errs.add(name, msgNotBool)
	return false
}

// maxUsername is auth_user.username's max_length.
const maxUsername = 150

// maxPassword bounds what is hashed; DRF sets no limit, but nobody types
// more, and the body limit alone would allow megabytes.
const maxPassword = 4096

// credentials is the body of signup and token.
type credentials struct {
	Username, Password string
}

// decodeCredentials validates username and password. check adds Django's
// username validators (signup); login only needs them present. The
// password is never trimmed, so that what signup stored is what login
// compares.
func decodeCredentials(fields map[string]json.RawMessage, check bool) (credentials, error) {
	errs := newFieldErrors()
	var c credentials
	var ok bool
	if c.Username, ok = stringField(fields, "username", true, errs); ok && check {
		switch {
		case utf8.RuneCountInString(c.Username) > maxUsername:
			errs.add("username", "Ensure this field has no more than 150 characters.")
		case !validUsername(c.Username):
			errs.add("username", msgInvalidUser)
		}
	}
	if c.Password, ok = stringField(fields, "password", false, errs); ok && len(c.Password) > maxPassword {
		errs.add("password", "Ensure this field has no more than 4096 characters.")
	}
	return c, errs.err()
}

// validUsername is Django's UnicodeUsernameValidator: ^[\w.@+-]+\Z.
func validUsername(s string) bool {
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' || r == '.' || r == '@' || r == '+' || r == '-') {
			return false
		}
	}
	return s != ""
}
