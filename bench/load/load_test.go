package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmservice/llmservice/bench/internal/report"
)

func TestHasContent(t *testing.T) {
	tests := []struct {
		data string
		want bool
	}{
		{`{"choices":[{"delta":{"content":"Hi"}}]}`, true},
		{`{"choices":[{"delta":{"role":"assistant","content":""}}]}`, false},
		{`{"choices":[{"delta":{}}],"usage":{"total_tokens":3}}`, false},
		{`{"choices":[],"usage":{"total_tokens":3}}`, false},
		{`not json`, false},
	}
	for _, tt := range tests {
		if got := hasContent([]byte(tt.data)); got != tt.want {
			t.Errorf("hasContent(%s) = %v; want %v", tt.data, got, tt.want)
		}
	}
}

const (
	roleChunk    = `data: {"choices":[{"delta":{"role":"assistant","content":""}}]}` + "\n\n"
	contentChunk = `data: {"choices":[{"delta":{"content":"Hi"}}]}` + "\n\n"
	done         = "data: [DONE]\n\n"
)

func TestDo(t *testing.T) {
	tests := []struct {
		name     string
		stream   bool
		status   int
		body     string
		wantKind string
		wantTTFT bool
	}{
		{"json ok", false, 200, `{"ok":true}`, "", false},
		{"json unauthorized", false, 401, `{"error":{}}`, "status 401", false},
		{"stream ok", true, 200, roleChunk + contentChunk + done, "", true},
		{"stream crlf and no space", true, 200, strings.ReplaceAll(roleChunk+contentChunk, "data: ", "data:") + "data:[DONE]\r\n\r\n", "", true},
		{"stream long line", true, 200, "data: {\"x\":\"" + strings.Repeat("a", 20000) + "\"}\n\n" + contentChunk + done, "", true},
		{"stream cut off", true, 200, roleChunk + contentChunk, "stream", true},
		{"stream without content", true, 200, roleChunk + done, "stream", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotAuth, gotType atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotAuth.Store(r.Header.Get("Authorization"))
				gotType.Store(r.Header.Get("Content-Type"))
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			q := &requester{hc: newClient(), url: srv.URL, body: chatBody("m", tt.stream), auth: []string{"Bearer k"}, stream: tt.stream, timeout: 10 * time.Second}
			s := q.do(context.Background(), time.Now())
			if s.kind != tt.wantKind {
				t.Fatalf("kind = %q (%s); want %q", s.kind, s.msg, tt.wantKind)
			}
			if (s.ttft > 0) != tt.wantTTFT {
				t.Errorf("ttft = %v; want set: %v", s.ttft, tt.wantTTFT)
			}
			if tt.wantKind == "" && s.lat <= 0 {
				t.Errorf("lat = %v; want > 0", s.lat)
			}
			if a := gotAuth.Load(); a != "Bearer k" {
				t.Errorf("Authorization = %v; want Bearer k", a)
			}
			if ct := gotType.Load(); ct != "application/json" {
				t.Errorf("Content-Type = %v; want application/json", ct)
			}
		})
	}
}

func TestDoTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	q := &requester{hc: newClient(), url: url, body: []byte("{}"), timeout: time.Second}
	if s := q.do(context.Background(), time.Now()); s.kind != "transport" {
		t.Errorf("kind = %q (%s); want transport", s.kind, s.msg)
	}
}

// TestOpenLoop checks the count of requests, not their timing: the rate
// and duration fix how many requests are scheduled.
func TestOpenLoop(t *testing.T) {
	var calls atomic.Int64
	do := func(ctx context.Context, start time.Time) sample {
		calls.Add(1)
		return sample{lat: time.Since(start)}
	}
	samples, lags, _ := openLoop(context.Background(), 1000, 20*time.Millisecond, 100, do).wait()
	if len(samples) != 20 || calls.Load() != 20 || len(lags) != 20 {
		t.Errorf("samples, calls, lags = %d, %d, %d; want 20 each", len(samples), calls.Load(), len(lags))
	}
}

// TestOpenLoopOverload holds every request until all ten have been
// scheduled: three get in, seven find the in-flight limit reached.
func TestOpenLoopOverload(t *testing.T) {
	release := make(chan struct{})
	do := func(ctx context.Context, start time.Time) sample {
		<-release
		return sample{}
	}
	run := openLoop(context.Background(), 1e6, 10*time.Microsecond, 3, do)
	close(release)
	samples, _, _ := run.wait()
	var overload int
	for _, s := range samples {
		if s.kind == "overload" {
			overload++
		}
	}
	if len(samples) != 10 || overload != 7 {
		t.Errorf("samples, overload = %d, %d; want 10, 7", len(samples), overload)
	}
}

// TestClosedLoop checks that every worker's samples are collected.
func TestClosedLoop(t *testing.T) {
	var calls atomic.Int64
	do := func(ctx context.Context, start time.Time) sample {
		calls.Add(1)
		time.Sleep(time.Millisecond)
		return sample{lat: time.Since(start)}
	}
	samples, _ := closedLoop(context.Background(), 3, 20*time.Millisecond, do)
	if len(samples) == 0 || int64(len(samples)) != calls.Load() {
		t.Errorf("samples = %d, calls = %d; want the same, above 0", len(samples), calls.Load())
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name             string
		samples          []sample
		wantOK, wantErrs int
	}{
		{"all ok", []sample{{lat: time.Millisecond}, {lat: 2 * time.Millisecond}}, 2, 0},
		{"mixed", []sample{{lat: time.Millisecond}, {kind: "status 500", msg: "boom"}, {kind: "status 500", msg: "again"}}, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res report.Result
			summarize(&res, tt.samples, time.Second)
			if res.OK != tt.wantOK || res.Errors != tt.wantErrs || res.RPS != float64(tt.wantOK) {
				t.Errorf("ok, errors, rps = %d, %d, %v; want %d, %d, %d", res.OK, res.Errors, res.RPS, tt.wantOK, tt.wantErrs, tt.wantOK)
			}
			if tt.wantErrs > 0 && res.ErrorSamples["status 500"] != "boom" {
				t.Errorf("error sample = %q; want the first one, boom", res.ErrorSamples["status 500"])
			}
		})
	}
}
