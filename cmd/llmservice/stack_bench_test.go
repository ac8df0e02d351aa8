package main

// The repeatable half of the benchmark (bench/README.md, "Cost per request
// in allocations"): the whole server as serve builds it, with every feature
// of issue 17's scenario on (auth with a real key, RPM and TPM on the key
// and its team, a USD budget, the usage ledger on SQLite, metrics), against
// a bare httputil.ReverseProxy carrying the same request to the same
// in-process upstream. Run with -benchmem: allocations per request do not
// depend on how busy the machine is, unlike CPU time.
//
//	go test -run '^$' -bench BenchmarkStack -benchmem ./cmd/llmservice/
//
// Both sides count the client and the upstream too (they are in this
// process), so the difference between the two rows is what llmservice adds.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchCompletion and benchFrames are what bench/upstream answers.
var (
	benchCompletion = []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the mock upstream."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19},"system_fingerprint":"fp_bench"}`)
	benchFrames     = func() []byte {
		const head = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_bench","choices":`
		var b bytes.Buffer
		b.WriteString(head + `[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n")
		for _, w := range []string{"Hello", " from", " the", " mock", " upstream", "."} {
			b.WriteString(head + `[{"index":0,"delta":{"content":"` + w + `"},"logprobs":null,"finish_reason":null}]}` + "\n\n")
		}
		b.WriteString(head + `[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}` + "\n\n")
		b.WriteString(head + `[],"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}` + "\n\n")
		b.WriteString("data: [DONE]\n\n")
		return b.Bytes()
	}()
	benchBody       = `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence, please."}],"max_tokens":64}`
	benchStreamBody = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence, please."}],"max_tokens":64}`
	// The team and key of the scenario: limits and a budget far above the
	// load, so that every call is checked and admitted.
	benchLimits = `"rpm":1000000000,"tpm":1000000000,"max_budget_usd":1000000000`
)

// benchUpstream answers chat completions from prepared bytes.
func benchUpstream(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h := w.Header()
	if bytes.Contains(body, []byte(`"stream":true`)) {
		h["Content-Type"] = []string{"text/event-stream"}
		w.Write(benchFrames)
		return
	}
	h["Content-Type"] = []string{"application/json"}
	w.Write(benchCompletion)
}

// stackServer starts serve as the binary would, configured only through
// the environment, and returns its base URL and a key with limits and a
// budget on the key and its team.
func stackServer(b *testing.B, upstreamURL string) (base, key string) {
	b.Helper()
	env := map[string]string{
		"LLMSERVICE_DATABASE_URL": testDatabaseURL(b, "bench.db"),
		"LLMSERVICE_ADDR":         "127.0.0.1:0",
		"LLMSERVICE_JOURNAL_DIR":  b.TempDir(),
		"LLMSERVICE_ADMIN_KEY":    testAdminKey,
		"LLMSERVICE_LOG_LEVEL":    "warn",
		// As bench/run.sh runs it: the access log, a line per request
		// that the proxy does not write, is off.
		"LLMSERVICE_ACCESS_LOG": "off",
		"OPENAI_API_KEY":        "x",
		"OPENAI_BASE_URL":       upstreamURL + "/v1",
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- serve(ctx, nil, testGetenv(env), io.Discard, io.Discard, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		cancel()
		b.Fatalf("serve: %v", err)
	}
	b.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		cancel()
		<-errc
	})
	base = "http://" + addr
	admin := func(path, body string) []byte {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testAdminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			b.Fatalf("POST %s: %s: %s", path, resp.Status, out)
		}
		return out
	}
	admin("/admin/teams", `{"id":"bench",`+benchLimits+`}`)
	var k struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(admin("/admin/keys", `{"team_id":"bench",`+benchLimits+`}`), &k); err != nil || k.Key == "" {
		b.Fatalf("no key: %v", err)
	}
	return base, k.Key
}

// benchProxy is bench/proxy: a bare ReverseProxy to upstream.
func benchProxy(b *testing.B, upstreamURL string) string {
	u, _ := url.Parse(upstreamURL)
	p := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u); r.Out.Host = u.Host }}
	s := httptest.NewServer(p)
	b.Cleanup(s.Close)
	return s.URL
}

// benchClient keeps one connection alive, as the load generator does.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}}
}

// post sends body and reads the whole answer; a failure stops the benchmark.
func benchPost(b *testing.B, c *http.Client, url, key, body string) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: %v %v", url, resp.Status, err)
	}
}

// BenchmarkStack compares, per request, llmservice with everything on and
// the bare proxy: non-streaming and streaming. The metrics endpoint is
// scraped once before timing, so that every series exists as in production.
func BenchmarkStack(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(benchUpstream))
	b.Cleanup(up.Close)
	base, key := stackServer(b, up.URL)
	proxy := benchProxy(b, up.URL)
	c := benchClient()
	const path = "/v1/chat/completions"
	for _, t := range []struct{ name, url, key, body string }{
		{"proxy", proxy + path, "sk-none", benchBody},
		{"llmservice", base + path, key, benchBody},
		{"proxy-stream", proxy + path, "sk-none", benchStreamBody},
		{"llmservice-stream", base + path, key, benchStreamBody},
	} {
		b.Run(t.name, func(b *testing.B) {
			for range 50 { // connections, caches and metric series
				benchPost(b, c, t.url, t.key, t.body)
			}
			if resp, err := c.Get(base + "/metrics"); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := stackCPU()
			for range b.N {
				benchPost(b, c, t.url, t.key, t.body)
			}
			b.ReportMetric(float64(stackCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkStackCache is issue 18's cost of the response cache through the
// whole server: the same team's calls with the cache off, with it on and
// every call a miss (a new prompt each time, so the key is built, looked up
// and the answer kept), and with it on and every call a hit (no upstream
// call). Off and miss send prompts of the same size, so the difference
// between them is what a miss costs. cpu-ns/op is this process's CPU per
// call, which includes the in-process client and upstream: the same in
// every row.
//
//	go test -run '^$' -bench BenchmarkStackCache -benchmem ./cmd/llmservice/
func BenchmarkStackCache(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(benchUpstream))
	b.Cleanup(up.Close)
	base, offKey := stackServer(b, up.URL)
	c := benchClient()
	adminDo := func(method, path, body string) []byte {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testAdminKey)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			b.Fatalf("%s %s: %s: %s", method, path, resp.Status, out)
		}
		return out
	}
	adminDo(http.MethodPost, "/admin/teams", `{"id":"cached",`+benchLimits+`}`)
	adminDo(http.MethodPatch, "/admin/teams/cached", `{"cache":{"ttl":"1h"}}`)
	var k struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(adminDo(http.MethodPost, "/admin/keys", `{"team_id":"cached",`+benchLimits+`}`), &k); err != nil || k.Key == "" {
		b.Fatalf("no key: %v", err)
	}
	const url = "/v1/chat/completions"
	// prompt i differs from every other in its last digits, at one length.
	prompt := func(i int) string {
		return strings.Replace(benchBody, "please.", fmt.Sprintf("please %09d.", i), 1)
	}
	var n int
	for _, t := range []struct {
		name, key, header string // header: what x-llmservice-cache must say
		body              func() string
	}{
		{"off", offKey, "", func() string { n++; return prompt(n) }},
		{"miss", k.Key, "miss", func() string { n++; return prompt(n) }},
		{"hit", k.Key, "hit", func() string { return prompt(0) }},
	} {
		b.Run(t.name, func(b *testing.B) {
			for range 50 {
				benchPost(b, c, base+url, t.key, t.body())
			}
			req, _ := http.NewRequest(http.MethodPost, base+url, strings.NewReader(t.body()))
			req.Header.Set("Authorization", "Bearer "+t.key)
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if got := resp.Header.Get("X-Llmservice-Cache"); got != t.header {
				b.Fatalf("x-llmservice-cache = %q; want %q", got, t.header)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := stackCPU()
			for range b.N {
				benchPost(b, c, base+url, t.key, t.body())
			}
			b.ReportMetric(float64(stackCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// stackCPU is this process's user and system CPU time in nanoseconds.
func stackCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
