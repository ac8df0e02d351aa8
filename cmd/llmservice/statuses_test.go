package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
)

// statusUpstream is an OpenAI upstream that misbehaves one way.
func statusUpstream(t *testing.T, mode string, hit chan<- struct{}) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if hit != nil {
			select {
			case hit <- struct{}{}:
			default:
			}
		}
		switch mode {
		case "html":
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html><body><h1>Welcome to nginx!</h1></body></html>")
		case "badjson":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"x","choices":[{"index":0,,}]}`)
		case "429":
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":{"message":"Rate limit reached for gpt-4o-mini","type":"requests"}}`)
		case "hang":
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		case "stream":
			// Three chunks, then nothing until the client goes away.
			w.Header().Set("Content-Type", "text/event-stream")
			for _, word := range []string{"one", " two", " three"} {
				fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", word)
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// statusServer starts a gateway whose "openai" instance is up.
func statusServer(t *testing.T, up *httptest.Server, env map[string]string) (*testServer, string, string) {
	url := testDatabaseURL(t, "llmservice.db")
	e := map[string]string{"LLMSERVICE_DATABASE_URL": url, "OPENAI_API_KEY": "sk-upstream", "OPENAI_BASE_URL": up.URL + "/v1"}
	for k, v := range env {
		e[k] = v
	}
	srv := startServer(t, e)
	_, key, _ := newKey(t, srv.URL, "acme", nil)
	return srv, key, url
}

// ledger stops srv and returns the team's usage records.
func ledger(t *testing.T, srv *testServer, url string) []llmservice.UsageRecord {
	t.Helper()
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	recs, _, err := openTestStore(t, url).FindUsageRecords(context.Background(), llmservice.RecordFilter{TeamID: "acme", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// An upstream that answers something unreadable, rate limits or does not
// answer in time gets a status that says so, in the answer and in the
// ledger. (On main: 503 "Max attempts reached - no available hosts" for
// all three.)
func TestUpstreamFailuresSayWhatHappened(t *testing.T) {
	chat := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		mode      string
		env       map[string]string
		path      string
		status    int
		message   string // fragment of the answer
		errorType string // in the ledger
	}{
		{"html", nil, "/v1/chat/completions", 502, "answer was unreadable", "upstream_unreadable"},
		{"html", nil, "/api/v1/chat/completions", 502, "answer was unreadable", "upstream_unreadable"},
		{"badjson", nil, "/v1/chat/completions", 502, "answer was unreadable", "upstream_unreadable"},
		{"429", nil, "/v1/chat/completions", 429, "Rate limit reached for gpt-4o-mini", "upstream_rate_limited"},
		{"hang", map[string]string{"LLMSERVICE_REQUEST_TIMEOUT": "2s"}, "/v1/chat/completions", 504, "did not answer in time", "upstream_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.mode+tt.path, func(t *testing.T) {
			srv, key, url := statusServer(t, statusUpstream(t, tt.mode, nil), tt.env)
			st, b := sfdDo(t, "POST", srv.URL+tt.path, map[string]string{"Authorization": "Bearer " + key}, chat)
			if st != tt.status || !strings.Contains(string(b), tt.message) {
				t.Errorf("POST %s = %d %.300s; want %d saying %q", tt.path, st, b, tt.status, tt.message)
			}
			recs := ledger(t, srv, url)
			if len(recs) != 1 || recs[0].Status != tt.status || recs[0].ErrorType != tt.errorType {
				t.Errorf("ledger = %+v; want one record %d %s", recs, tt.status, tt.errorType)
			}
		})
	}
}

// A client that hangs up is a 499 in the ledger, with the completion
// tokens relayed until then, and is not held against the upstream. (On
// main: 502 "cancelled"/"client_closed".)
func TestClientHangUpIs499(t *testing.T) {
	t.Run("stream", func(t *testing.T) {
		srv, key, url := statusServer(t, statusUpstream(t, "stream", nil), nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		got := 0
		for got < 3 && sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: {") {
				got++
			}
		}
		if got != 3 {
			t.Fatalf("read %d chunks before hanging up; want 3", got)
		}
		cancel()
		resp.Body.Close()
		checkDeploymentUnharmed(t, srv)
		recs := ledger(t, srv, url)
		if len(recs) != 1 || recs[0].Status != 499 || recs[0].ErrorType != "client_closed" || recs[0].CompletionTokens < 3 {
			t.Errorf("ledger = %+v; want one 499 client_closed with the 3 relayed tokens", recs)
		}
	})
	t.Run("non-streaming", func(t *testing.T) {
		hit := make(chan struct{}, 1)
		srv, key, url := statusServer(t, statusUpstream(t, "hang", hit), nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		done := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		select {
		case <-hit:
		case <-time.After(30 * time.Second):
			t.Fatal("the upstream never got the call")
		}
		cancel()
		<-done
		// The gateway sees the hang-up asynchronously; wait for it to settle.
		deadline := time.Now().Add(30 * time.Second)
		for {
			var out struct {
				Data []struct {
					InFlight int `json:"in_flight"`
				}
			}
			do(t, "GET", srv.URL+"/admin/deployments", testAdminKey, nil, &out)
			if len(out.Data) > 0 && out.Data[0].InFlight == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		checkDeploymentUnharmed(t, srv)
		recs := ledger(t, srv, url)
		if len(recs) != 1 || recs[0].Status != 499 || recs[0].ErrorType != "client_closed" {
			t.Errorf("ledger = %+v; want one 499 client_closed", recs)
		}
	})
}

// checkDeploymentUnharmed fails unless the openai deployment is healthy
// with no failure counted.
func checkDeploymentUnharmed(t *testing.T, srv *testServer) {
	t.Helper()
	var out struct {
		Data []struct {
			ID, Status          string
			ErrorRate           float64 `json:"error_rate"`
			ConsecutiveFailures int     `json:"consecutive_failures"`
		}
	}
	do(t, "GET", srv.URL+"/admin/deployments", testAdminKey, nil, &out)
	for _, d := range out.Data {
		if d.ID == "openai" && (d.Status != "healthy" || d.ErrorRate != 0 || d.ConsecutiveFailures != 0) {
			b, _ := json.Marshal(d)
			t.Errorf("deployment after a hang-up: %s; want healthy with no failure", b)
		}
	}
}
