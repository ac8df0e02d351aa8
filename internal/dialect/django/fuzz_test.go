package django

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmservice/llmservice"
)

var credentialSeeds = []string{
	`{"username": "charming_user", "password": "secure_pwd"}`,
	`{"username": 5, "password": 1.5e3}`, `{"username": null, "password": true}`,
	`{"username": ["x"], "password": {"a": 1}}`, `{"username": " \u00e9t\u00e9@x.y+z-_ ", "password": ""}`,
	`{}`, `[]`, `null`, `"x"`, `{`, ``, "\xff\xfe{}", `{"username":"a"} {}`, `{"username":"a","username":"b"}`,
	`username=a&password=b`, `_content=%7B%7D&_content_type=application%2Fjson`, `_content=%ZZ`,
}

// FuzzDecodeCredentials: whatever the body and content type, decoding
// never panics and fails only with a client error.
func FuzzDecodeCredentials(f *testing.F) {
	for _, s := range credentialSeeds {
		f.Add([]byte(s), "application/json", true)
		f.Add([]byte(s), "application/x-www-form-urlencoded", false)
	}
	f.Fuzz(func(t *testing.T, body []byte, ctype string, check bool) {
		fields, err := parseFields(body, ctype)
		if err == nil {
			_, err = decodeCredentials(fields, check)
		}
		checkClientError(t, err)
	})
}

func checkClientError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *llmservice.Error
	if !errors.As(err, &e) || (e.Kind != llmservice.Invalid && e.Kind != llmservice.TooLarge) {
		t.Fatalf("err = %v; want an Invalid error", err)
	}
	w := httptest.NewRecorder()
	writeError(w, httptest.NewRequest("POST", "/", nil), e.Kind.HTTPStatus(), e)
	if !json.Valid(w.Body.Bytes()) {
		t.Fatalf("error body is not JSON: %s", w.Body)
	}
}

var chatSeeds = []string{
	venus,
	`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`,
	`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":"1","provider":"inhouse","temperature":2,"max_tokens":1}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"tools":[{"type":"function","function":{"name":"f"}}]}`,
	`{"model":"m","messages":[{"role":"robot","content":"hi"}]}`, `{"model":5,"messages":[1,null]}`,
	`{"model":"m","messages":"hi","stream":2}`, `{"model":" ","messages":[]}`, `{"messages":null}`,
	`{"model":"m","messages":[{"role":"user","content":"fail midway"}],"stream":true}`,
	`[]`, `null`, `{`, ``, "\xff", `{"model":"m","messages":[{}]} x`,
}

// FuzzChat sends arbitrary bodies through the real chat handler (auth,
// provider, decoding, the call, the answer or the stream) against the fake
// gateway: the server never panics, never blames itself with a 5xx, and
// always answers JSON or an event stream.
func FuzzChat(f *testing.F) {
	for _, s := range chatSeeds {
		f.Add([]byte(s), "openai")
	}
	f.Add([]byte(venus), "gemini?")
	e := newTestEnv(f)
	f.Fuzz(func(t *testing.T, body []byte, provider string) {
		r := httptest.NewRequest("POST", "/api/chat/completions/", strings.NewReader(string(body)))
		r.URL.RawQuery = "provider=" + provider
		r.Header.Set("Authorization", "Bearer sk-good")
		w := httptest.NewRecorder()
		e.mux.ServeHTTP(w, r)
		ct := w.Header().Get("Content-Type")
		switch {
		case w.Code >= 500 && w.Code != 503:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		case ct == "text/event-stream":
			if w.Code != 200 {
				t.Fatalf("stream with status %d", w.Code)
			}
		case !json.Valid(w.Body.Bytes()):
			t.Fatalf("status %d body is not JSON: %s", w.Code, w.Body)
		}
	})
}
