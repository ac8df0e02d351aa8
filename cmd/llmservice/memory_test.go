package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// heapSampler follows the bytes of heap objects while a request is served.
// With the GC running at GOGC=10 during the measure, that figure stays
// within about 10% of the live heap, so its peak over the idle heap is
// what a request holds at its worst, independent of GC tuning.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak atomic.Uint64
	base uint64
}

var heapSamples = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}

func readHeap() (objects, allocs uint64) {
	s := make([]metrics.Sample, len(heapSamples))
	copy(s, heapSamples)
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	runtime.GC()
	base, _ := readHeap()
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{}), base: base}
	h.peak.Store(base)
	go func() {
		defer close(h.done)
		for {
			if o, _ := readHeap(); o > h.peak.Load() {
				h.peak.Store(o)
			}
			select {
			case <-h.stop:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	return h
}

// Stop returns the peak of heap objects over the idle heap.
func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load() - min(h.base, h.peak.Load())
}

// bigChat is a chat request of about size bytes whose one message is made
// of word repeated.
func bigChat(model string, size int, word string, stream bool) []byte {
	text := strings.Repeat(word, size/len(word))
	b, _ := json.Marshal(map[string]any{"model": model, "stream": stream,
		"messages": []map[string]string{{"role": "user", "content": text}}})
	return b
}

func postBigChat(t *testing.T, url, key string, body []byte) (int, int64) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/chat/completions", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	n, _ := io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, n
}

// smallUpstream answers every chat with a short completion after reading
// (and discarding) the request, so that what is measured is the gateway's
// cost of forwarding a large body.
func smallUpstream(t *testing.T) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
	}))
	t.Cleanup(up.Close)
	return up
}

// TestMemoryPerRequest measures, for a 16 MiB request on each path, the
// peak of the heap over the idle heap while it is served, and holds it
// within about three times the body (README, "Limits on memory and
// connections"). The body's bytes are counted as the gateway received
// them.
func TestMemoryPerRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("16 MiB requests")
	}
	up := smallUpstream(t)
	ts := startServer(t, map[string]string{"OPENAI_API_KEY": "sk-upstream", "OPENAI_BASE_URL": up.URL + "/v1",
		"LLMSERVICE_BODY_LIMIT": fmt.Sprint(17 << 20)})
	_, key, _ := newKey(t, ts.URL, "mem", nil)
	const size = 16 << 20
	tests := []struct {
		name  string
		model string
		word  string
		strm  bool
	}{
		{"mock, long words", "mock/echo", "lorem-ipsum-dolor-sit-amet ", false},
		{"mock, many words", "mock/echo", "a ", false},
		{"mock stream, long words", "mock/echo", "lorem-ipsum-dolor-sit-amet ", true},
		{"openai upstream, long words", "openai/gpt-4o-mini", "lorem-ipsum-dolor-sit-amet ", false},
		{"openai upstream, many words", "openai/gpt-4o-mini", "a ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A small request first, so that what a path loads once (a
			// tokenizer, pools) is not charged to the large one.
			if st, _ := postBigChat(t, ts.URL, key, bigChat(tt.model, 1<<10, tt.word, tt.strm)); st != http.StatusOK {
				t.Fatalf("warm-up status %d", st)
			}
			body := bigChat(tt.model, size, tt.word, tt.strm)
			old := debug.SetGCPercent(10)
			defer debug.SetGCPercent(old)
			_, allocs0 := readHeap()
			h := startHeapSampler()
			st, n := postBigChat(t, ts.URL, key, body)
			peak := h.Stop()
			_, allocs1 := readHeap()
			if st != http.StatusOK {
				t.Fatalf("status %d", st)
			}
			ratio := float64(peak) / float64(len(body))
			t.Logf("body %.1f MiB, answer %.1f MiB: peak heap +%.1f MiB (%.2fx the body), allocated %.1f MiB",
				mib(len(body)), mib(int(n)), mib(int(peak)), ratio, mib(int(allocs1-allocs0)))
			// Under -race the same request peaks at 4x to 6x (measured):
			// the bound there only catches a return of the old copies
			// (20x with many words).
			// To an upstream the peak is 3x to 4x: for an instant the
			// encoder's buffer holds its old and its doubled array while
			// the decoded request is still live.
			limit := 3.2
			if strings.HasPrefix(tt.model, "openai/") {
				limit = 4.2
			}
			if raceEnabled {
				limit = 7
			}
			if ratio > limit {
				t.Errorf("peak heap while serving = %.2fx the body; want at most %.1fx", ratio, limit)
			}
		})
	}
}

func mib(n int) float64 { return float64(n) / (1 << 20) }

// blockingUpstream answers every chat once release is closed, after
// reading the request; arrived counts the requests it holds.
func blockingUpstream(t *testing.T) (up *httptest.Server, arrived *atomic.Int64, release func()) {
	arrived, held := new(atomic.Int64), make(chan struct{})
	up = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		arrived.Add(1)
		<-held
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
	}))
	t.Cleanup(up.Close)
	var once sync.Once
	release = func() { once.Do(func() { close(held) }) }
	t.Cleanup(release)
	return up, arrived, release
}

// TestBodyBudget sends 40 bodies of 16 MiB at once to an upstream that
// holds every call until told: only what fits in the budget of body bytes
// in flight is taken in (3 here: 64 MiB), the other 37 are answered 503
// with Retry-After in OpenAI's shape at once, and the heap stays bounded
// by the budget rather than by the number of callers.
func TestBodyBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("40 requests of 16 MiB")
	}
	up, arrived, release := blockingUpstream(t)
	ts := startServer(t, map[string]string{"OPENAI_API_KEY": "sk-upstream", "OPENAI_BASE_URL": up.URL + "/v1",
		"LLMSERVICE_BODY_LIMIT": fmt.Sprint(17 << 20), "LLMSERVICE_BODY_BYTES_IN_FLIGHT": fmt.Sprint(64 << 20)})
	_, key, _ := newKey(t, ts.URL, "budget", nil)
	body := bigChat("openai/gpt-4o-mini", 16<<20, "lorem-ipsum-dolor-sit-amet ", false) // shared by every request
	old := debug.SetGCPercent(10)
	defer debug.SetGCPercent(old)
	h := startHeapSampler()
	type answer struct {
		status     int
		retryAfter string
		body       string
		err        error
	}
	answers := make(chan answer, 40)
	for range 40 {
		go func() {
			req, _ := http.NewRequest("POST", ts.URL+"/v1/chat/completions", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				// The server answered 503 and closed while the body
				// was still on its way: the client may see only that.
				answers <- answer{err: err}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers <- answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(b)}
		}()
	}
	var refused, shaped int
	deadline := time.After(120 * time.Second)
	for refused < 37 {
		select {
		case a := <-answers:
			if a.status == http.StatusOK {
				t.Fatalf("a call was answered before the upstream was released")
			}
			if a.err == nil && (a.status != http.StatusServiceUnavailable || a.retryAfter == "") {
				t.Fatalf("refusal: status %d, Retry-After %q, body %s; want 503 with Retry-After", a.status, a.retryAfter, a.body)
			}
			if a.err == nil {
				var e struct {
					Error struct{ Message, Code string }
				}
				if json.Unmarshal([]byte(a.body), &e) != nil || !strings.Contains(e.Error.Message, "LLMSERVICE_BODY_BYTES_IN_FLIGHT") {
					t.Fatalf("refusal body = %s; want OpenAI's error shape naming LLMSERVICE_BODY_BYTES_IN_FLIGHT", a.body)
				}
				shaped++
			}
			refused++
		case <-deadline:
			t.Fatalf("after 120s %d of 40 calls were refused and %d reached the upstream; want 37 refused at once (64 MiB budget)", refused, arrived.Load())
		}
	}
	for deadline := time.Now().Add(120 * time.Second); arrived.Load() < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of the 3 admitted calls reached the upstream in 120s", arrived.Load())
		}
	}
	peak := h.Stop()
	release()
	for range 3 {
		if a := <-answers; a.status != http.StatusOK {
			t.Errorf("admitted call: status %d, error %v; want 200", a.status, a.err)
		}
	}
	t.Logf("40 x %.0f MiB bodies, budget 64 MiB: %d refused (%d with a readable 503), peak heap +%.0f MiB", mib(len(body)), refused, shaped, mib(int(peak)))
	if shaped == 0 {
		t.Error("no refusal reached the client as a 503")
	}
	// Three bodies of 16 MiB held, each within about 3x (7x under -race):
	// well under 384 MiB, where 40 bodies would need more than 640 MiB
	// before any copy.
	if peak > 384<<20 {
		t.Errorf("peak heap +%.0f MiB with a 64 MiB budget of bodies; want at most 384 MiB", mib(int(peak)))
	}
}

// TestRequestsInFlightCap holds LLMSERVICE_MAX_REQUESTS_IN_FLIGHT: with two
// calls held upstream a third is answered 503 at once, while /healthz still
// answers.
func TestRequestsInFlightCap(t *testing.T) {
	up, arrived, release := blockingUpstream(t)
	ts := startServer(t, map[string]string{"OPENAI_API_KEY": "sk-upstream", "OPENAI_BASE_URL": up.URL + "/v1",
		"LLMSERVICE_MAX_REQUESTS_IN_FLIGHT": "2"})
	_, key, _ := newKey(t, ts.URL, "busy", nil)
	body := bigChat("openai/gpt-4o-mini", 64, "hello ", false)
	done := make(chan int, 2)
	for range 2 {
		go func() { st, _ := postBigChat(t, ts.URL, key, body); done <- st }()
	}
	for deadline := time.Now().Add(60 * time.Second); arrived.Load() < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 calls reached the upstream in 60s", arrived.Load())
		}
	}
	// Bounded, so that a gateway without the cap fails here instead of
	// hanging with the upstream.
	c := &http.Client{Timeout: 30 * time.Second}
	req, _ := http.NewRequest("POST", ts.URL+"/v1/chat/completions", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("third call: %v; want a 503 at once", err)
	}
	var e struct {
		Error struct{ Message string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(e.Error.Message, "LLMSERVICE_MAX_REQUESTS_IN_FLIGHT") {
		t.Errorf("third call: status %d, Retry-After %q, message %q; want 503 with Retry-After naming the setting", resp.StatusCode, resp.Header.Get("Retry-After"), e.Error.Message)
	}
	if st := do(t, "GET", ts.URL+"/healthz", "", nil, nil); st != http.StatusOK {
		t.Errorf("/healthz while busy = %d; want 200", st)
	}
	release()
	for range 2 {
		if st := <-done; st != http.StatusOK {
			t.Errorf("held call = %d; want 200", st)
		}
	}
}

// TestUpstreamAnswerTooLarge: an upstream answer over
// LLMSERVICE_UPSTREAM_BODY_LIMIT ends in a 502 that says so, once (it is
// not retried).
func TestUpstreamAnswerTooLarge(t *testing.T) {
	var calls atomic.Int64
	huge := `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"` +
		strings.Repeat("x", 2<<20) + `"},"finish_reason":"stop"}]}`
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, huge)
	}))
	defer up.Close()
	ts := startServer(t, map[string]string{"OPENAI_API_KEY": "sk-upstream", "OPENAI_BASE_URL": up.URL + "/v1",
		"LLMSERVICE_UPSTREAM_BODY_LIMIT": fmt.Sprint(1 << 20)})
	_, key, _ := newKey(t, ts.URL, "flood", nil)
	var e struct {
		Error struct{ Message string }
	}
	st := do(t, "POST", ts.URL+"/v1/chat/completions", key, json.RawMessage(bigChat("openai/gpt-4o-mini", 64, "hello ", false)), &e)
	if st != http.StatusBadGateway || !strings.Contains(e.Error.Message, "upstream answer was too large") {
		t.Errorf("status %d, message %q; want 502 saying the upstream answer was too large", st, e.Error.Message)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("upstream called %d times; want 1 (a too large answer is not retried)", n)
	}
}

// TestStartLeavesNoStartupHeap holds the heap that the start leaves behind
// (migrations parsed with 4 MiB buffers that goose keeps in a sync.Pool) out
// of the live heap once the server listens. A pool's items survive one
// collection, so left there they would count as live at the start's GC and
// set a heap goal of twice that: the heap would then grow by some 16 MiB of
// garbage, all of it resident, before the first collection under load.
func TestStartLeavesNoStartupHeap(t *testing.T) {
	live := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	// Two collections empty every pool, earlier tests' included.
	runtime.GC()
	runtime.GC()
	before := live()
	startServer(t, nil)
	after := live()
	if grown := after - min(before, after); grown > 8<<20 {
		t.Errorf("live heap after the start's collection grew by %d KiB over the idle process's %d KiB; want at most 8 MiB",
			grown>>10, before>>10)
	}
}
