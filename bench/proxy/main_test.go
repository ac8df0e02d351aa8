package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestProxy checks that the path, body and streaming content type pass
// through unchanged, so that the baseline does the same work as llmservice.
func TestProxy(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), "stream") {
			w.Header().Set("Content-Type", "text/event-stream")
		}
		io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(b))
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	px := httptest.NewServer(newProxy(u))
	defer px.Close()

	tests := []struct {
		name, body, wantBody, wantType string
	}{
		{"json", `{"model":"m"}`, `POST /v1/chat/completions {"model":"m"}`, "text/plain; charset=utf-8"},
		{"stream", `{"stream":true}`, `POST /v1/chat/completions {"stream":true}`, "text/event-stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(px.URL+"/v1/chat/completions", "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if string(b) != tt.wantBody {
				t.Errorf("body = %q; want %q", b, tt.wantBody)
			}
			if ct := resp.Header.Get("Content-Type"); ct != tt.wantType {
				t.Errorf("Content-Type = %q; want %q", ct, tt.wantType)
			}
		})
	}
}

// TestProxyEarlyHeaders sends streams whose upstream answers with headers
// before its first chunk, the case that cut streams short before the proxy
// enabled full duplex. The delay only widens the race window; nothing is
// asserted about time.
func TestProxyEarlyHeaders(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(time.Millisecond)
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	px := httptest.NewServer(fullDuplex(newProxy(u)))
	defer px.Close()
	body := `{"stream":true,"messages":[{"role":"user","content":"` + strings.Repeat("x", 100) + `"}]}`
	for i := range 200 {
		resp, err := http.Post(px.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != "data: [DONE]\n\n" {
			t.Fatalf("request %d: body %q, error %v; want the whole stream", i, b, err)
		}
	}
}
