package django

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
)

// DRF's and simplejwt's wording, which clients of the seed may match on.
const (
	msgRequired      = "This field is required."
	msgBlank         = "This field may not be blank."
	msgNull          = "This field may not be null."
	msgNotString     = "Not a valid string."
	msgNotBool       = "Must be a valid boolean."
	msgEmptyList     = "This list may not be empty."
	msgNoCredentials = "Authentication credentials were not provided."
	msgNoAccount     = "No active account found with the given credentials"
	msgNoAccountTok  = "No active account found for the given token."
	msgBadToken      = "Given token not valid for any token type"
	msgInvalidUser   = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
	msgUserCreated   = "User created successfully"
	codeTokenInvalid = "token_not_valid"
	codeUnsupported  = "unsupported_provider"
)

// fieldErrors is the body of DRF's ValidationError: messages per field,
// in the order the fields were checked (DRF keeps its serializer's order).
// It travels inside an *llmservice.Error (as Err) to the error encoder.
type fieldErrors struct {
	keys []string
	msgs map[string][]string
}

func newFieldErrors() *fieldErrors { return &fieldErrors{msgs: map[string][]string{}} }

func (f *fieldErrors) Error() string {
	var b strings.Builder
	for i, k := range f.keys {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k + ": " + strings.Join(f.msgs[k], " "))
	}
	return b.String()
}

func (f *fieldErrors) add(field, msg string) {
	if _, ok := f.msgs[field]; !ok {
		f.keys = append(f.keys, field)
	}
	f.msgs[field] = append(f.msgs[field], msg)
}

// MarshalJSON writes {"field": ["message", ...], ...} in order.
func (f *fieldErrors) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range f.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(f.msgs[k])
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// err returns f as an Invalid error, or nil when f is empty.
func (f *fieldErrors) err() error {
	if len(f.keys) == 0 {
		return nil
	}
	return &llmservice.Error{Kind: llmservice.Invalid, Message: f.Error(), Err: f}
}

// fieldError is one field's DRF validation error.
func fieldError(field, msg string) error {
	f := newFieldErrors()
	f.add(field, msg)
	return f.err()
}

// tokenRejected is simplejwt's InvalidToken raised by JWTAuthentication: the
// body names the token class that was tried and why it failed.
type tokenRejected struct{ reason string }

func (t tokenRejected) Error() string { return t.reason }

// tokenMessage is one element of simplejwt's "messages".
type tokenMessage struct {
	TokenClass string `json:"token_class"`
	TokenType  string `json:"token_type"`
	Message    string `json:"message"`
}

// writeError writes e in DRF's shapes: {"field": ["message"]} for
// validation errors, {"detail": ..., "code": ...} for token errors and
// {"detail": ...} for everything else; an unknown provider keeps the
// seed's {"error": ...}.
func writeError(w http.ResponseWriter, r *http.Request, status int, e *llmservice.Error) {
	if status == http.StatusUnauthorized {
		// DRF sends the scheme of its first authentication class.
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
	}
	var fe *fieldErrors
	var tr tokenRejected
	switch {
	case errors.As(e, &fe):
		_ = httpx.WriteJSON(w, status, fe)
	case errors.As(e, &tr):
		_ = httpx.WriteJSON(w, status, struct {
			Detail   string         `json:"detail"`
			Code     string         `json:"code"`
			Messages []tokenMessage `json:"messages"`
		}{msgBadToken, codeTokenInvalid, []tokenMessage{{"AccessToken", typeAccess, tr.reason}}})
	case e.Kind == llmservice.Invalid && e.Param != "":
		f := newFieldErrors()
		f.add(e.Param, e.Message)
		_ = httpx.WriteJSON(w, status, f)
	case e.Code == codeUnsupported:
		_ = httpx.WriteJSON(w, status, map[string]string{"error": e.Message})
	case e.Code == codeTokenInvalid:
		_ = httpx.WriteJSON(w, status, struct {
			Detail string `json:"detail"`
			Code   string `json:"code"`
		}{e.Message, e.Code})
	default:
		_ = httpx.WriteJSON(w, status, map[string]string{"detail": e.Message})
	}
}

// writeCallError writes a failed LLM call as {"error": message}: the seed's
// views report what went wrong with the provider that way. Limits and
// budgets refused by the gateway are reported the same way, since they are
// part of the call.
func writeCallError(w http.ResponseWriter, r *http.Request, status int, e *llmservice.Error) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
	}
	_ = httpx.WriteJSON(w, status, map[string]string{"error": e.Message})
}

// methodNotAllowed writes DRF's 405.
func methodNotAllowed(w http.ResponseWriter, method, allow string) {
	w.Header().Set("Allow", allow)
	_ = httpx.WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": `Method "` + method + `" not allowed.`})
}
