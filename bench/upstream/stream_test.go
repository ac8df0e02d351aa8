package main

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStreamTrue(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{`{"model":"m","stream":true}`, true},
		{`{"model":"m", "stream" : true }`, true},
		{"{\"stream\":\n\ttrue}", true},
		{`{"model":"m","stream":false}`, false},
		{`{"model":"m"}`, false},
		{`{"stream_options":{"include_usage":true}}`, false},
		{`{"stream_options":{"include_usage":true},"stream":true}`, true},
		{`{"messages":[{"content":"\"stream\""}],"stream":true}`, true},
		{``, false},
	}
	for _, tt := range tests {
		if got := streamTrue([]byte(tt.body)); got != tt.want {
			t.Errorf("streamTrue(%q) = %v; want %v", tt.body, got, tt.want)
		}
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(newHandler(0, 0))
	defer srv.Close()
	tests := []struct {
		name, method, path, body string
		status                   int
		contentType              string
		contains                 []string
	}{
		{"chat", "POST", "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`, 200, "application/json",
			[]string{`"object":"chat.completion"`, `"usage":{"prompt_tokens":12`}},
		{"stream", "POST", "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true}`, 200, "text/event-stream",
			[]string{`"content":"Hello"`, `"finish_reason":"stop"`, `"choices":[],"usage"`, "data: [DONE]\n\n"}},
		{"models", "GET", "/v1/models", "", 200, "application/json", []string{`"id":"gpt-4o-mini"`}},
		{"unknown", "GET", "/v1/nothing", "", 404, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d; want %d (%s)", resp.StatusCode, tt.status, b)
			}
			if ct := resp.Header.Get("Content-Type"); tt.contentType != "" && ct != tt.contentType {
				t.Errorf("Content-Type = %q; want %q", ct, tt.contentType)
			}
			for _, s := range tt.contains {
				if !strings.Contains(string(b), s) {
					t.Errorf("body lacks %q:\n%s", s, b)
				}
			}
		})
	}
}

// TestStreamFraming checks that every event is one data line followed by a
// blank line, which is what an SSE parser on the other side expects.
func TestStreamFraming(t *testing.T) {
	srv := httptest.NewServer(newHandler(0, 0))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var events int
	for want := "data: "; sc.Scan(); {
		line := sc.Text()
		if want == "data: " && !strings.HasPrefix(line, want) || want == "" && line != "" {
			t.Fatalf("line %q; want prefix %q", line, want)
		}
		if want == "" {
			events++
			want = "data: "
		} else {
			want = ""
		}
	}
	if events != len(frames) {
		t.Errorf("events = %d; want %d", events, len(frames))
	}
}
