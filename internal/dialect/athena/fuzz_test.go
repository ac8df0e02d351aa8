package athena

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/llmservice/llmservice"
)

// turnSeeds cover every branch of the message decoder, so that mutation
// starts near the edges.
var turnSeeds = []string{
	`{"message": {"role": "user", "content": "Review this Python function"}}`,
	`{"message": {"content": "no role"}, "temperature": 0.7, "max_tokens": 500, "top_p": 1, "frequency_penalty": -2, "presence_penalty": 2}`,
	`{"message": {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}, "stream": true, "stream_options": {"include_usage": true}}`,
	`{"message": {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}}`,
	`{"message": {"role": "assistant", "content": "x"}}`,
	`{"message": {"role": null, "content": null}}`,
	`{"message": "hi"}`, `{"message": null}`, `{"message": []}`, `{}`,
	`{"message": {"content": "x"}, "temperature": "hot", "max_tokens": 1.5, "stream": 1}`,
	`{"message": {"content": "x"}, "temperature": 1e999, "top_p": -0.0, "max_tokens": 99999999999999999999}`,
	`{"message": {"content": "\ud800\u0000"}, "message": {"content": "dup"}}`,
	`[]`, `null`, `"x"`, `{`, ``, `{"message":{"content":"x"},`, "\xff\xfe{}",
}

// FuzzDecodeTurn feeds arbitrary bodies to the conversation message
// decoder. Whatever the body, it must not panic, and it must either accept
// a message with content and in-range parameters, or refuse with an Invalid
// error whose message is set and whose param, when set, names a field.
func FuzzDecodeTurn(f *testing.F) {
	for _, s := range turnSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeTurn(body)
		if err != nil {
			checkInvalid(t, body, err)
			return
		}
		if strings.TrimSpace(in.Content) == "" {
			t.Fatalf("accepted %q with empty content", body)
		}
		if err := in.validate(); err != nil {
			t.Fatalf("accepted %q with out-of-range parameters: %v", body, err)
		}
		if !json.Valid(body) {
			t.Fatalf("accepted %q, which is not JSON", body)
		}
	})
}

// FuzzDecodeConversation does the same for the create body.
func FuzzDecodeConversation(f *testing.F) {
	for _, s := range []string{
		`{"model": "gpt-5-mini", "system_message": "You are a helpful coding assistant.", "metadata": {"project": "my-app", "purpose": "code-review"}}`,
		`{"model": "m", "system_message": null, "metadata": null}`,
		`{"model": "", "metadata": []}`, `{"model": 5}`, `{"metadata": {"a": [1, {"b": null}]}, "model": " "}`,
		`{"model": "m", "metadata": "x"}`, `{"model": "m", "system_message": {}}`,
		`[]`, `null`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeConversation(body)
		if err != nil {
			checkInvalid(t, body, err)
			return
		}
		if strings.TrimSpace(in.Model) == "" {
			t.Fatalf("accepted %q without a model", body)
		}
		if len(in.Metadata) > 0 {
			var m map[string]any
			if err := json.Unmarshal(in.Metadata, &m); err != nil || m == nil {
				t.Fatalf("accepted %q with metadata %s, not an object", body, in.Metadata)
			}
		}
	})
}

func checkInvalid(t *testing.T, body []byte, err error) {
	t.Helper()
	var e *llmservice.Error
	if !errors.As(err, &e) || (e.Kind != llmservice.Invalid && e.Kind != llmservice.TooLarge) {
		t.Fatalf("decoding %q: %v; want an Invalid *llmservice.Error", body, err)
	}
	if e.Message == "" || e.Message == "internal error" {
		t.Fatalf("decoding %q: error without a message: %#v", body, e)
	}
	if e.Param != "" && strings.ContainsAny(e.Param, " \"") {
		t.Fatalf("decoding %q: param %q does not name a field", body, e.Param)
	}
}
