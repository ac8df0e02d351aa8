package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/provider/upstream"
)

const openAIBody = `{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error","param":"temperature","code":null}}`

func TestStatusError(t *testing.T) {
	retry7 := http.Header{"Retry-After": {"7"}}
	tests := []struct {
		status int
		header http.Header
		body   string
		want   llmservice.Error
	}{
		// The caller's request was at fault: the upstream message is the answer.
		{400, nil, openAIBody, llmservice.Error{Kind: llmservice.Invalid, Status: 400, Code: "upstream_rejected_request", Message: "Invalid value for 'temperature'"}},
		{422, nil, `{"detail":"bad field"}`, llmservice.Error{Kind: llmservice.Invalid, Status: 422, Code: "upstream_rejected_request", Message: "bad field"}},
		{413, nil, "", llmservice.Error{Kind: llmservice.Invalid, Status: 413, Code: "upstream_rejected_request", Message: "Request Entity Too Large"}},
		{404, nil, `{"error":"model 'llama9' not found"}`, llmservice.Error{Kind: llmservice.NotFound, Status: 404, Code: "model_not_found", Message: "model 'llama9' not found"}},
		{429, retry7, `{"error":{"message":"Rate limit reached"}}`, llmservice.Error{Kind: llmservice.RateLimited, Status: 429, Code: "upstream_rate_limited", Message: "upstream error: Rate limit reached", RetryAfter: 7 * time.Second}},
		{429, nil, "", llmservice.Error{Kind: llmservice.RateLimited, Status: 429, Code: "upstream_rate_limited", Message: "upstream error: Too Many Requests"}},
		{408, nil, "", llmservice.Error{Kind: llmservice.UpstreamTimeout, Status: 408, Message: "upstream error: Request Timeout"}},
		{504, nil, "upstream request timeout", llmservice.Error{Kind: llmservice.UpstreamTimeout, Status: 504, Message: "upstream error: upstream request timeout"}},
		// The gateway's own credentials were refused: not the caller's fault.
		{401, nil, `{"error":{"message":"Incorrect API key provided"}}`, llmservice.Error{Kind: llmservice.Upstream, Status: 401, Code: "upstream_auth_failed", Message: "upstream error: Incorrect API key provided"}},
		{403, nil, "", llmservice.Error{Kind: llmservice.Upstream, Status: 403, Code: "upstream_auth_failed", Message: "upstream error: Forbidden"}},
		{500, nil, `{"message":"boom"}`, llmservice.Error{Kind: llmservice.Upstream, Status: 500, Message: "upstream error: boom"}},
		{503, nil, "", llmservice.Error{Kind: llmservice.Upstream, Status: 503, Message: "upstream error: Service Unavailable"}},
		{529, nil, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, llmservice.Error{Kind: llmservice.Upstream, Status: 529, Message: "upstream error: Overloaded"}},
		{409, nil, "conflict", llmservice.Error{Kind: llmservice.Upstream, Status: 409, Message: "upstream error: conflict"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			got := upstream.StatusError(tt.status, tt.header, []byte(tt.body))
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("StatusError(%d, %q) mismatch (-want +got):\n%s", tt.status, tt.body, diff)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	status := func(code int) error { return upstream.StatusError(code, nil, nil) }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"not an llmservice error", errors.New("x"), false},
		{"invalid", status(400), false},
		{"not found", status(404), false},
		{"upstream 4xx", status(409), false},
		{"auth failed", status(401), false},
		{"rate limited", status(429), true},
		{"timeout", status(504), true},
		{"500", status(500), true},
		{"503", status(503), true},
		{"wrapped 502", fmt.Errorf("attempt 1: %w", status(502)), true},
		{"no answer", upstream.TransportError(context.Background(), errors.New("connection refused")), true},
		{"cancelled", upstream.TransportError(context.Background(), context.Canceled), false},
		{"unreadable body", upstream.ReadError(context.Background(), io.ErrUnexpectedEOF), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := upstream.Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v; want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"none", http.Header{}, 0},
		{"seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{"fractional seconds", http.Header{"Retry-After": {"1.5"}}, 1500 * time.Millisecond},
		{"zero", http.Header{"Retry-After": {"0"}}, 0},
		{"negative", http.Header{"Retry-After": {"-3"}}, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
		{"past date", http.Header{"Retry-After": {"Wed, 21 Oct 2015 07:28:00 GMT"}}, 0},
		{"milliseconds", http.Header{"Retry-After-Ms": {"250"}}, 250 * time.Millisecond},
		{"bad milliseconds", http.Header{"Retry-After-Ms": {"x"}}, 0},
		{"seconds win over milliseconds", http.Header{"Retry-After": {"2"}, "Retry-After-Ms": {"250"}}, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := upstream.RetryAfter(tt.header); got != tt.want {
				t.Errorf("RetryAfter(%v) = %v; want %v", tt.header, got, tt.want)
			}
		})
	}
}

func TestRetryAfterFutureDate(t *testing.T) {
	h := http.Header{"Retry-After": {time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}}
	// The date has whole seconds, so the wait is a little under an hour.
	if got := upstream.RetryAfter(h); got <= 0 || got > time.Hour {
		t.Errorf("RetryAfter(%v) = %v; want in (0, 1h]", h, got)
	}
}

func TestErrorMessage(t *testing.T) {
	long := strings.Repeat("x", 600)
	tests := []struct {
		name, body, want string
	}{
		{"openai", openAIBody, "Invalid value for 'temperature'"},
		{"anthropic", `{"type":"error","error":{"type":"not_found_error","message":"model: claude-9"}}`, "model: claude-9"},
		{"gemini", `{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}`, "API key not valid."},
		{"ollama", `{"error":"model \"x\" not found, try pulling it first"}`, `model "x" not found, try pulling it first`},
		{"message", `{"message":"Bad Request"}`, "Bad Request"},
		{"detail string", `{"detail":"Not Found"}`, "Not Found"},
		{"detail list falls back to the body", `{"detail":[{"loc":["body"],"msg":"field required"}]}`, `{"detail":[{"loc":["body"],"msg":"field required"}]}`},
		{"empty error object falls back to the body", `{"error":{}}`, `{"error":{}}`},
		{"plain text", "  Bad Gateway\n", "Bad Gateway"},
		{"html", "<html><body>502</body></html>", "<html><body>502</body></html>"},
		{"empty", "", ""},
		{"long body is cut", long, long[:500]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := upstream.ErrorMessage([]byte(tt.body)); got != tt.want {
				t.Errorf("ErrorMessage(%q) = %q; want %q", tt.body, got, tt.want)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestTransportAndReadError(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	bg := context.Background()
	known := llmservice.Errorf(llmservice.Upstream, "already classified")
	tests := []struct {
		name     string
		err      error
		wantKind llmservice.Kind
		wantCode string
	}{
		{"deadline", upstream.TransportError(expired, context.DeadlineExceeded), llmservice.UpstreamTimeout, ""},
		{"net timeout", upstream.TransportError(bg, timeoutErr{}), llmservice.UpstreamTimeout, ""},
		{"cancelled", upstream.TransportError(cancelled, context.Canceled), llmservice.Upstream, "cancelled"},
		{"refused", upstream.TransportError(bg, errors.New("dial tcp: connection refused")), llmservice.Upstream, "upstream_unreachable"},
		{"read: bad body", upstream.ReadError(bg, io.ErrUnexpectedEOF), llmservice.Upstream, ""},
		{"read: deadline", upstream.ReadError(expired, errors.New("read: closed")), llmservice.UpstreamTimeout, ""},
		{"read: already classified", upstream.ReadError(bg, known), llmservice.Upstream, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := llmservice.AsError(tt.err)
			if e.Kind != tt.wantKind || e.Code != tt.wantCode {
				t.Errorf("got kind %v code %q; want %v %q (err %v)", e.Kind, e.Code, tt.wantKind, tt.wantCode, tt.err)
			}
		})
	}
	if got := upstream.ReadError(bg, known); got != known {
		t.Errorf("ReadError(*Error) = %v; want it unchanged", got)
	}
}

func TestPostJSON(t *testing.T) {
	var gotHeader http.Header
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHeader = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		switch r.URL.Path {
		case "/ok":
			_, _ = io.WriteString(w, `{"answer":42}`)
		case "/garbage":
			_, _ = io.WriteString(w, `{"answer":`)
		case "/limited":
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":{"message":"slow down"}}`)
		}
	}))
	defer srv.Close()
	hc := upstream.NewClient(0)
	ctx := context.Background()
	h := http.Header{"Authorization": {"Bearer k"}}

	var out struct{ Answer int }
	if err := upstream.PostJSON(ctx, hc, srv.URL+"/ok", h, []byte(`{"q":1}`), &out); err != nil || out.Answer != 42 {
		t.Fatalf("PostJSON(/ok) = %v, answer %d; want nil, 42", err, out.Answer)
	}
	if gotHeader.Get("Content-Type") != "application/json" || gotHeader.Get("Authorization") != "Bearer k" || gotBody != `{"q":1}` {
		t.Errorf("upstream got headers %v body %q", gotHeader, gotBody)
	}

	err := upstream.PostJSON(ctx, hc, srv.URL+"/garbage", h, []byte(`{}`), &out)
	if e := llmservice.AsError(err); e.Kind != llmservice.Upstream || e.Code != upstream.CodeUnreadable || !strings.Contains(e.Message, "answer was unreadable") {
		t.Errorf("PostJSON(/garbage) error = %v; want an unreadable response error", err)
	}

	err = upstream.PostJSON(ctx, hc, srv.URL+"/limited", h, []byte(`{}`), &out)
	if e := llmservice.AsError(err); e.Kind != llmservice.RateLimited || e.RetryAfter != 3*time.Second {
		t.Errorf("PostJSON(/limited) error = %+v; want RateLimited with RetryAfter 3s", e)
	}

	resp, err := upstream.Do(ctx, hc, http.MethodGet, srv.URL+"/ok", nil, nil)
	if err != nil {
		t.Fatalf("Do(GET) error = %v", err)
	}
	resp.Body.Close()
	if ct := gotHeader.Get("Content-Type"); ct != "" {
		t.Errorf("GET sent Content-Type %q; want none", ct)
	}
}
