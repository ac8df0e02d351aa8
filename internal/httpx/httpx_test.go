package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
)

type target struct {
	Model  string `json:"model"`
	N      int    `json:"n"`
	Nested struct {
		X bool `json:"x"`
	} `json:"nested"`
	Named named `json:"named"`
}

// named fails with an error that knows its field, like the wire types' do.
type named struct{}

type namedErr struct{}

func (namedErr) Error() string                     { return "named: bad" }
func (namedErr) InvalidField() (field, msg string) { return "named[2].x", "must be x" }

func (*named) UnmarshalJSON(b []byte) error {
	if string(b) == `"ok"` {
		return nil
	}
	return namedErr{}
}

func TestDecodeJSON(t *testing.T) {
	const limit = 64
	tests := []struct {
		name string
		body string
		want *llmservice.Error // nil for success; compared on Kind, Param and Message
	}{
		{"ok", `{"model":"m","n":2,"named":"ok"}`, nil},
		{"exactly the limit", `{"model":"` + strings.Repeat("a", limit-12) + `"}`, nil},
		{"over the limit", `{"model":"` + strings.Repeat("a", limit) + `"}`,
			&llmservice.Error{Kind: llmservice.TooLarge, Message: "request body is larger than the limit of 64 bytes"}},
		{"empty", "", &llmservice.Error{Kind: llmservice.Invalid, Message: "request body is empty; expected a JSON object"}},
		{"blank", " \r\n\t", &llmservice.Error{Kind: llmservice.Invalid, Message: "request body is empty; expected a JSON object"}},
		{"syntax error", `{"model":}`,
			&llmservice.Error{Kind: llmservice.Invalid, Message: "request body is not valid JSON (at byte 10): invalid character '}' looking for beginning of value"}},
		{"truncated", `{"model":"m"`,
			&llmservice.Error{Kind: llmservice.Invalid, Message: "request body is not valid JSON (at byte 12): unexpected end of JSON input"}},
		{"trailing garbage", `{"model":"m"} x`,
			&llmservice.Error{Kind: llmservice.Invalid, Message: "request body is not valid JSON (at byte 15): invalid character 'x' after top-level value"}},
		{"wrong type", `{"model":1}`,
			&llmservice.Error{Kind: llmservice.Invalid, Param: "model", Message: "invalid type for 'model': expected a string, got number"}},
		{"wrong nested type", `{"nested":{"x":"yes"}}`,
			&llmservice.Error{Kind: llmservice.Invalid, Param: "nested.x", Message: "invalid type for 'nested.x': expected a boolean, got string"}},
		{"integer field", `{"n":1.5}`,
			&llmservice.Error{Kind: llmservice.Invalid, Param: "n", Message: "invalid type for 'n': expected an integer, got number 1.5"}},
		{"not an object", `[1,2]`,
			&llmservice.Error{Kind: llmservice.Invalid, Message: "request body must be a JSON object, got array"}},
		{"field error", `{"named":1}`,
			&llmservice.Error{Kind: llmservice.Invalid, Param: "named[2].x", Message: "invalid value for 'named[2].x': must be x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			var v target
			err := httpx.DecodeJSON(httptest.NewRecorder(), r, limit, &v)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("DecodeJSON(%q) error = %v", tt.body, err)
				}
				return
			}
			var e *llmservice.Error
			if !errors.As(err, &e) {
				t.Fatalf("DecodeJSON(%q) error = %v (%T); want *llmservice.Error", tt.body, err, err)
			}
			got := llmservice.Error{Kind: e.Kind, Param: e.Param, Message: e.Message}
			if diff := cmp.Diff(*tt.want, got); diff != "" {
				t.Errorf("DecodeJSON(%q) error mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

func TestDecodeJSONTooLargeIs413(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat(" ", 11)+"{}"))
	err := httpx.DecodeJSON(httptest.NewRecorder(), r, 10, &target{})
	if got := llmservice.ErrorKind(err).HTTPStatus(); got != http.StatusRequestEntityTooLarge {
		t.Errorf("status of %v = %d; want 413", err, got)
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header string
		want   string
	}{
		{"", ""},
		{"Bearer sk-abc", "sk-abc"},
		{"bearer sk-abc", "sk-abc"},
		{"BEARER   sk-abc  ", "sk-abc"},
		{"  Bearer sk-abc", "sk-abc"},
		{"sk-abc", "sk-abc"}, // bare keys, as LlmEndpoint's clients send them
		{"Basic dXNlcjpwYXNz", ""},
		{"Bearer", "Bearer"}, // no credential: taken as a bare key, which then fails to authenticate
		{"Bearer ", "Bearer"},
		{"Token a b", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		if got := httpx.BearerToken(r); got != tt.want {
			t.Errorf("BearerToken(%q) = %q; want %q", tt.header, got, tt.want)
		}
	}
}

// encoder records what Handle passed it and writes a minimal body.
type encoder struct {
	status int
	err    *llmservice.Error
}

func (e *encoder) encode(w http.ResponseWriter, r *http.Request, status int, err *llmservice.Error) {
	e.status, e.err = status, err
	_ = httpx.WriteJSON(w, status, map[string]string{"message": err.Message, "param": err.Param})
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantMsg    string
		retryAfter string
		logged     bool
	}{
		{"plain error", errors.New("pq: password authentication failed for user admin"), 500, "internal error", "", true},
		{"wrapped plain error", fmt.Errorf("find key: %w", errors.New("disk I/O error at /var/db")), 500, "internal error", "", true},
		{"invalid", llmservice.InvalidParam("model", "model is required"), 400, "model is required", "", false},
		{"wrapped kind", fmt.Errorf("resolve: %w", llmservice.Errorf(llmservice.NotFound, "no such model")), 404, "no such model", "", false},
		{"rate limited", &llmservice.Error{Kind: llmservice.RateLimited, Message: "slow down", RetryAfter: 1500 * time.Millisecond}, 429, "slow down", "2", false},
		{"retry after whole seconds", &llmservice.Error{Kind: llmservice.RateLimited, Message: "slow down", RetryAfter: 3 * time.Second}, 429, "slow down", "3", false},
		{"retry after under a second", &llmservice.Error{Kind: llmservice.Unavailable, Message: "busy", RetryAfter: time.Millisecond}, 503, "busy", "1", true},
		{"upstream", &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream error: boom", Err: errors.New("raw")}, 502, "upstream error: boom", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logBuf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logBuf, nil))
			enc := &encoder{}
			h := httpx.Handle(log, enc.encode, func(w http.ResponseWriter, r *http.Request) error { return tt.err })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/x", nil))

			if rec.Code != tt.wantStatus || enc.status != tt.wantStatus {
				t.Errorf("status = %d (encoder saw %d); want %d", rec.Code, enc.status, tt.wantStatus)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if body["message"] != tt.wantMsg {
				t.Errorf("message = %q; want %q", body["message"], tt.wantMsg)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q; want %q", got, tt.retryAfter)
			}
			if strings.Contains(rec.Body.String(), "admin") || strings.Contains(rec.Body.String(), "/var/db") {
				t.Errorf("body %q leaks the internal error", rec.Body)
			}
			if logged := logBuf.Len() > 0; logged != tt.logged {
				t.Errorf("logged = %v (%q); want %v", logged, logBuf.String(), tt.logged)
			}
			if tt.logged && !strings.Contains(logBuf.String(), tt.err.Error()) {
				t.Errorf("log %q lacks the cause %q", logBuf.String(), tt.err)
			}
		})
	}
}

func TestHandleSuccessAndNilLogger(t *testing.T) {
	h := httpx.Handle(nil, (&encoder{}).encode, func(w http.ResponseWriter, r *http.Request) error {
		return httpx.WriteJSON(w, http.StatusCreated, map[string]int{"a": 1})
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusCreated || rec.Body.String() != "{\"a\":1}\n" || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("got %d %q %q", rec.Code, rec.Body, rec.Header().Get("Content-Type"))
	}

	// A nil logger must not panic on a 5xx.
	h = httpx.Handle(nil, (&encoder{}).encode, func(w http.ResponseWriter, r *http.Request) error { return errors.New("x") })
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 500 {
		t.Errorf("status = %d; want 500", rec.Code)
	}
}

func TestStreamWriters(t *testing.T) {
	rec := httptest.NewRecorder()
	httpx.StartSSE(rec)
	if err := httpx.SSEData(rec, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := httpx.SSEEvent(rec, "ping", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := httpx.NDJSON(rec, map[string]int{"b": 2}); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.Body.String(), "data: {\"a\":1}\n\nevent: ping\ndata: {}\n\n{\"b\":2}\n"; got != want {
		t.Errorf("body = %q; want %q", got, want)
	}
	if !rec.Flushed {
		t.Error("writers did not flush")
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestRequestID(t *testing.T) {
	ctx := httpx.WithRequestID(context.Background(), "req-1")
	if got := httpx.RequestID(ctx); got != "req-1" {
		t.Errorf("RequestID = %q; want req-1", got)
	}
	if got := httpx.RequestID(context.Background()); got != "" {
		t.Errorf("RequestID(empty) = %q; want \"\"", got)
	}
}

// SetCanonical sets as Header.Set does, and a value added later to one
// header does not land in its neighbour's slice (they share one array).
func TestSetCanonical(t *testing.T) {
	tests := []struct {
		name string
		kv   [][2]string
	}{
		{"none", nil},
		{"one", [][2]string{{"X-A", "1"}}},
		{"several", [][2]string{{"X-A", "1"}, {"X-B", "2"}, {"Content-Type", "text/plain"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := http.Header{"X-A": {"old", "older"}}
			want := http.Header{"X-A": {"old", "older"}}
			httpx.SetCanonical(got, tt.kv)
			for _, p := range tt.kv {
				want.Set(p[0], p[1])
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("header = %v; want %v", got, want)
			}
			if len(tt.kv) > 1 {
				got.Add(tt.kv[0][0], "added")
				if v := got.Values(tt.kv[1][0]); len(v) != 1 || v[0] != tt.kv[1][1] {
					t.Errorf("%s = %q after Add to %s", tt.kv[1][0], v, tt.kv[0][0])
				}
			}
		})
	}
}

// waitingBody hands out reads[i] per Read; before a read listed in waits
// it calls the BeforeWait hook, as a body about to wait on its upstream
// does.
type waitingBody struct {
	reads  []string
	waits  map[int]bool
	hook   func()
	i      int
	notify bool
}

func (b *waitingBody) BeforeWait(f func()) bool {
	if b.notify {
		b.hook = f
	}
	return b.notify
}

func (b *waitingBody) Read(p []byte) (int, error) {
	if b.i == len(b.reads) {
		return 0, io.EOF
	}
	if b.waits[b.i] && b.hook != nil {
		b.hook()
	}
	n := copy(p, b.reads[b.i])
	b.i++
	return n, nil
}

// flushLog records what had been written at each flush.
type flushLog struct {
	*httptest.ResponseRecorder
	flushed []string
}

func (w *flushLog) Flush() { w.flushed = append(w.flushed, w.Body.String()) }

// Relay flushes after every read, unless the body says when it is about
// to wait: then it flushes just before each wait and at the end, so that
// nothing written is held while the upstream is awaited.
func TestRelayFlushes(t *testing.T) {
	reads := []string{"a", "b", "c", "d"}
	tests := []struct {
		name   string
		notify bool
		waits  map[int]bool
		want   []string
	}{
		{"after every read", false, map[int]bool{2: true}, []string{"a", "ab", "abc", "abcd"}},
		{"before each wait", true, map[int]bool{2: true}, []string{"ab", "abcd"}},
		{"all buffered", true, nil, []string{"abcd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &flushLog{ResponseRecorder: httptest.NewRecorder()}
			body := &waitingBody{reads: reads, waits: tt.waits, notify: tt.notify}
			if err := httpx.Relay(w, body); err != nil {
				t.Fatal(err)
			}
			if got := w.Body.String(); got != "abcd" {
				t.Errorf("body = %q; want abcd", got)
			}
			if !reflect.DeepEqual(w.flushed, tt.want) {
				t.Errorf("flushed = %q; want %q", w.flushed, tt.want)
			}
		})
	}
}
