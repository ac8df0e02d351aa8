package athena

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// unannounced hides a body's length, as a chunked upload does.
type unannounced struct{ io.Reader }

// TestBodyOverTheLimit sends each body-reading route a body over the
// handler's limit (1<<16 here), announced and not, and one shorter than
// announced: REST answers in OpenAI's error shape, GraphQL in its own,
// 413 over the limit and 400 for a body that could not be read.
func TestBodyOverTheLimit(t *testing.T) {
	e := newEnv(t)
	conv := decode[map[string]any](t, e.send("POST", "/api/v1/conversations", keyA, `{"model":"gpt-5-mini"}`), http.StatusCreated)
	msgs := "/api/v1/conversations/" + conv["id"].(string) + "/messages"
	big := `{"message":{"content":"` + strings.Repeat("a", 1<<16) + `"}}`
	const tooLarge = "request body is larger than the limit of 65536 bytes"
	const unreadable = "could not read request body"
	type body int
	const (
		announced body = iota
		chunked
		truncated // Content-Length says more than arrives
	)
	tests := []struct {
		name, path string
		how        body
		status     int
		message    string
	}{
		{"chat", "/api/v1/chat/completions", announced, 413, tooLarge},
		{"chat chunked", "/api/v1/chat/completions", chunked, 413, tooLarge},
		{"chat truncated", "/api/v1/chat/completions", truncated, 400, unreadable},
		{"create", "/api/v1/conversations", announced, 413, tooLarge},
		{"create chunked", "/api/v1/conversations", chunked, 413, tooLarge},
		{"create truncated", "/api/v1/conversations", truncated, 400, unreadable},
		{"send", msgs, announced, 413, tooLarge},
		{"send chunked", msgs, chunked, 413, tooLarge},
		{"send truncated", msgs, truncated, 400, unreadable},
		{"graphql", "/graphql", announced, 413, tooLarge},
		{"graphql chunked", "/graphql", chunked, 413, tooLarge},
		{"graphql truncated", "/graphql", truncated, 400, unreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := big
			if tt.how == truncated {
				payload = `{"message":`
			}
			r := httptest.NewRequest("POST", tt.path, strings.NewReader(payload))
			switch tt.how {
			case chunked:
				r.Body, r.ContentLength = io.NopCloser(unannounced{strings.NewReader(payload)}), -1
			case truncated:
				r.ContentLength = int64(len(payload)) + 100
			}
			r.Header.Set("Authorization", "Bearer "+keyA)
			w := httptest.NewRecorder()
			e.mux.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status = %d; want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.path == "/graphql" {
				var got gqlResponse
				if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
					t.Fatalf("answer is not JSON (%v): %s", err, w.Body)
				}
				if len(got.Errors) != 1 || got.Errors[0].Message != tt.message || got.Errors[0].Extensions["status"] != float64(tt.status) {
					t.Errorf("errors = %+v; want one saying %q with status %d", got.Errors, tt.message, tt.status)
				}
				return
			}
			var got apiError
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("answer is not JSON (%v): %s", err, w.Body)
			}
			if got.Error.Message != tt.message || got.Error.Type != "invalid_request_error" {
				t.Errorf("error = %+v; want %q of type invalid_request_error", got.Error, tt.message)
			}
		})
	}
}
