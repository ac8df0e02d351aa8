// Package providertest holds fake upstream servers that speak each
// provider's real wire format, for adapter and end-to-end tests. Every fake
// records what it received, answers deterministically and fails on demand.
//
// The answer policy is the same for every fake (see Reply):
//   - the request declares tools and the last message is from the user:
//     the model calls the first tool with {"query": "<last user text>"};
//   - the last message is a tool result: "tool result: <result text>";
//   - otherwise: "echo: <last user text>".
//
// Usage: prompt tokens = number of words in all message texts (system
// included), completion tokens = number of words in the reply.
package providertest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Recorded is one request a fake received.
type Recorded struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// JSON decodes the recorded body into a generic map, failing the test on error.
func (r Recorded) JSON(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		tb.Fatalf("recorded body is not JSON: %v\n%s", err, r.Body)
	}
	return m
}

// Failure is a canned failure the fake answers with instead of its normal
// reply. With Status 0 and Hang false the fake closes the connection without
// answering.
type Failure struct {
	Status int
	Body   string
	Header http.Header
	// AfterChunks, on a stream request, sends this many normal chunks first
	// and then breaks the connection (mid-stream failure).
	AfterChunks int
}

// Fake is an httptest server plus the request log and failure queue.
type Fake struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Recorded
	failures []Failure
}

// Handler answers one request once the fake has recorded it and found no
// queued failure. fail is non-nil when a mid-stream failure is queued.
type Handler func(w http.ResponseWriter, r *http.Request, body []byte, fail *Failure)

// New starts a fake with h and closes it at the end of the test.
func New(tb testing.TB, h Handler) *Fake {
	f := &Fake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, Recorded{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		var fail *Failure
		if len(f.failures) > 0 {
			fl := f.failures[0]
			f.failures = f.failures[1:]
			fail = &fl
		}
		f.mu.Unlock()
		if fail != nil && fail.AfterChunks == 0 {
			if fail.Status == 0 {
				hj, ok := w.(http.Hijacker)
				if ok {
					if c, _, err := hj.Hijack(); err == nil {
						c.Close()
						return
					}
				}
				panic(http.ErrAbortHandler)
			}
			for k, v := range fail.Header {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fail.Status)
			_, _ = io.WriteString(w, fail.Body)
			return
		}
		h(w, r, body, fail)
	}))
	if tb != nil {
		tb.Cleanup(f.Close)
	}
	return f
}

// FailNext queues failures answered, in order, to the next requests.
func (f *Fake) FailNext(fs ...Failure) {
	f.mu.Lock()
	f.failures = append(f.failures, fs...)
	f.mu.Unlock()
}

// Requests returns a copy of every request received so far.
func (f *Fake) Requests() []Recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Recorded(nil), f.requests...)
}

// Last returns the most recent request; it fails the test when there is none.
func (f *Fake) Last(tb testing.TB) Recorded {
	tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		tb.Fatal("fake upstream received no request")
	}
	return f.requests[len(f.requests)-1]
}

// Turn is a provider-neutral view of one message, for Reply.
type Turn struct {
	Role string // "system", "user", "assistant", "tool"
	Text string
}

// Answer is what a fake says back.
type Answer struct {
	Text     string // empty when ToolCall is set
	ToolCall *ToolCall
	// PromptTokens and CompletionTokens follow the package rule.
	PromptTokens     int
	CompletionTokens int
}

// ToolCall is the fake's call of a tool.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string
}

// Reply applies the shared answer policy. firstTool is the name of the first
// declared tool, or "" when the request declares none.
func Reply(turns []Turn, firstTool string) Answer {
	var a Answer
	for _, t := range turns {
		a.PromptTokens += len(strings.Fields(t.Text))
	}
	var last Turn
	if len(turns) > 0 {
		last = turns[len(turns)-1]
	}
	switch {
	case firstTool != "" && last.Role == "user":
		args, _ := json.Marshal(map[string]string{"query": last.Text})
		a.ToolCall = &ToolCall{ID: "call_1", Name: firstTool, Arguments: string(args)}
		a.CompletionTokens = len(strings.Fields(string(args)))
	case last.Role == "tool":
		a.Text = "tool result: " + last.Text
	default:
		a.Text = "echo: " + last.Text
	}
	if a.ToolCall == nil {
		a.CompletionTokens = len(strings.Fields(a.Text))
	}
	return a
}

// Words splits text into stream pieces: the first word, then " word" for
// each following one, so that the pieces concatenate back to text.
func Words(text string) []string {
	fs := strings.Fields(text)
	out := make([]string, len(fs))
	for i, w := range fs {
		if i > 0 {
			w = " " + w
		}
		out[i] = w
	}
	return out
}

// Flush flushes w if it can.
func Flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
