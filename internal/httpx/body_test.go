package httpx_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
)

// failingBody fails as the server's budget of body bytes does.
type failingBody struct{}

func (failingBody) Read([]byte) (int, error) {
	return 0, &llmservice.Error{Kind: llmservice.Unavailable, Message: "busy"}
}

func TestReadBody(t *testing.T) {
	tests := []struct {
		name   string
		body   io.Reader
		length int64
		want   string
		kind   llmservice.Kind
	}{
		{"announced", strings.NewReader(`{"a":1}`), 7, `{"a":1}`, 0},
		{"chunked", strings.NewReader(`{"a":1}`), -1, `{"a":1}`, 0},
		{"announced over the limit, refused unread", failingBody{}, 11, "", llmservice.TooLarge},
		{"chunked over the limit", strings.NewReader(strings.Repeat("x", 11)), -1, "", llmservice.TooLarge},
		{"the body's own error passes", failingBody{}, -1, "", llmservice.Unavailable},
		{"truncated", strings.NewReader(`{"a"`), 7, "", llmservice.Invalid},
		{"longer than announced (a body put back)", strings.NewReader(`{"a":12}`), 7, `{"a":12}`, 0},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/", tt.body)
		r.ContentLength = tt.length
		got, err := httpx.ReadBody(httptest.NewRecorder(), r, 10)
		if tt.kind != 0 {
			if e := llmservice.AsError(err); err == nil || e.Kind != tt.kind {
				t.Errorf("%s: ReadBody() error = %v; want kind %v", tt.name, err, tt.kind)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: ReadBody() = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// TestHandleRefusal: a request the server refused is answered with the
// refusal, in the handler's error shape, and the handler never runs.
func TestHandleRefusal(t *testing.T) {
	ran := false
	enc := func(w http.ResponseWriter, r *http.Request, status int, e *llmservice.Error) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "dialect: "+e.Message)
	}
	h := httpx.Handle(nil, enc, func(w http.ResponseWriter, r *http.Request) error { ran = true; return nil })
	r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
	r = r.WithContext(httpx.Refuse(r.Context(), &llmservice.Error{Kind: llmservice.Unavailable, Message: "busy", RetryAfter: 1e9}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if ran || w.Code != http.StatusServiceUnavailable || w.Body.String() != "dialect: busy" || w.Header().Get("Retry-After") != "1" {
		t.Errorf("refused request: ran %v, status %d, body %q, Retry-After %q; want not run, 503, %q, 1", ran, w.Code, w.Body.String(), w.Header().Get("Retry-After"), "dialect: busy")
	}
}

// TestRestatus: an encoder built with Restatus answers with the status its
// function chooses, not the kind's generic one Handle passes.
func TestRestatus(t *testing.T) {
	enc := httpx.Restatus(func(e *llmservice.Error) int {
		if e.Kind == llmservice.Upstream {
			return http.StatusInternalServerError
		}
		return e.Kind.HTTPStatus()
	}, func(w http.ResponseWriter, r *http.Request, status int, e *llmservice.Error) { w.WriteHeader(status) })
	for _, tc := range []struct {
		kind llmservice.Kind
		want int
	}{{llmservice.Upstream, 500}, {llmservice.NotFound, 404}} {
		h := httpx.Handle(nil, enc, func(w http.ResponseWriter, r *http.Request) error { return llmservice.Errorf(tc.kind, "x") })
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != tc.want {
			t.Errorf("%v: status %d; want %d", tc.kind, w.Code, tc.want)
		}
	}
}
