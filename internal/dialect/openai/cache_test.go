package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
)

const (
	keptWhole = `{"id":"chatcmpl-1","object":"chat.completion","created":7,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`
	// A stream kept without its usage chunk: the client did not ask.
	keptStream = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
		"data: [DONE]\n\n"
	usageChunk = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n"
	toolStream = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":\"}}]},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n" +
		"data: [DONE]\n\n"
)

var keptUsage = llm.Usage{PromptTokens: 5, CompletionTokens: 2}

// replayed is what a client reads of a replay: the answer's text, tool
// calls and finish reason, its usage (0 when none), and whether it ended.
type replayed struct {
	Text, Reason, Tools string
	Total               int
	UsageChunk, Done    bool
}

func readReplay(t *testing.T, b []byte, stream bool) replayed {
	t.Helper()
	var r replayed
	if !stream {
		var c struct {
			Object  string `json:"object"`
			Choices []struct {
				Message struct {
					Content   *string `json:"content"`
					ToolCalls []struct {
						ID       string `json:"id"`
						Function struct{ Name, Arguments string }
					} `json:"tool_calls"`
				} `json:"message"`
				FinishReason string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				Total int `json:"total_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(b, &c); err != nil || c.Object != "chat.completion" || len(c.Choices) != 1 {
			t.Fatalf("not one chat.completion (%v): %s", err, b)
		}
		ch := c.Choices[0]
		if ch.Message.Content != nil {
			r.Text = *ch.Message.Content
		}
		for _, tc := range ch.Message.ToolCalls {
			r.Tools += tc.ID + ":" + tc.Function.Name + ":" + tc.Function.Arguments
		}
		r.Reason, r.Done = ch.FinishReason, true
		if c.Usage != nil {
			r.Total = c.Usage.Total
		}
		return r
	}
	if !strings.HasSuffix(string(b), "\n\n") {
		t.Fatalf("stream does not end with an event: %q", b)
	}
	for _, f := range httpx.ParseSSE(b) {
		if string(f.Data) == "[DONE]" {
			r.Done = true
			continue
		}
		if r.Done {
			t.Fatalf("an event after [DONE]: %s", f.Data)
		}
		var c struct {
			Object  string `json:"object"`
			Choices []struct {
				Delta struct {
					Content   *string `json:"content"`
					ToolCalls []struct {
						ID       string `json:"id"`
						Function struct{ Name, Arguments string }
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				Total int `json:"total_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(f.Data, &c); err != nil || c.Object != "chat.completion.chunk" {
			t.Fatalf("not a chunk (%v): %s", err, f.Data)
		}
		if len(c.Choices) == 0 && c.Usage != nil {
			r.UsageChunk, r.Total = true, c.Usage.Total
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil {
				r.Text += *ch.Delta.Content
			}
			for _, tc := range ch.Delta.ToolCalls {
				r.Tools += tc.ID + ":" + tc.Function.Name + ":" + tc.Function.Arguments
			}
			if ch.FinishReason != nil {
				r.Reason = *ch.FinishReason
			}
		}
	}
	return r
}

func TestChatCacheReplay(t *testing.T) {
	hello := replayed{Text: "Hello there", Reason: "stop", Done: true}
	withUsage := func(r replayed, chunk bool) replayed { r.Total, r.UsageChunk = 7, chunk; return r }
	tool := replayed{Tools: `call_1:get:{"a":1}`, Reason: "tool_calls", Done: true}
	tests := []struct {
		name         string
		kept         string
		keptStream   bool
		stream       bool
		includeUsage bool
		want         replayed
		same         bool // the kept bytes, unchanged
	}{
		{"whole from whole", keptWhole, false, false, false, withUsage(hello, false), true},
		{"stream from whole", keptWhole, false, true, false, hello, false},
		{"stream with usage from whole", keptWhole, false, true, true, withUsage(hello, true), false},
		{"whole from stream gets the kept usage", keptStream, true, false, false, withUsage(hello, false), false},
		{"stream from stream", keptStream, true, true, false, hello, true},
		{"stream asking usage from a stream without", keptStream, true, true, true, withUsage(hello, true), false},
		{"stream from a stream with usage, not asking", strings.Replace(keptStream, "data: [DONE]", usageChunk+"data: [DONE]", 1), true, true, false, hello, false},
		{"stream with usage from a stream with usage", strings.Replace(keptStream, "data: [DONE]", usageChunk+"data: [DONE]", 1), true, true, true, withUsage(hello, true), true},
		{"tool calls, whole from stream", toolStream, true, false, false, withUsage(tool, false), false},
		{"tool calls, stream from the assembled whole", "", false, true, false, tool, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept := []byte(tt.kept)
			if tt.kept == "" { // the whole answer a tool stream was kept as
				var ok bool
				if kept, ok = (chatCache{}).Whole([]byte(toolStream), true); !ok {
					t.Fatal("tool stream not keepable")
				}
			}
			if _, ok := (chatCache{}).Whole(kept, tt.keptStream); !ok {
				t.Fatalf("kept answer not keepable: %s", kept)
			}
			got, ok := chatCache{includeUsage: tt.includeUsage}.Replay(kept, tt.keptStream, tt.stream, keptUsage)
			if !ok {
				t.Fatal("no replay")
			}
			if r := readReplay(t, got, tt.stream); r != tt.want {
				t.Fatalf("replay reads %+v, want %+v:\n%s", r, tt.want, got)
			}
			if same := string(got) == string(kept); same != tt.same {
				t.Fatalf("replay is the kept bytes: %v, want %v:\n%s", same, tt.same, got)
			}
		})
	}
}

func TestChatCacheKeepsOnlyCompleteAnswers(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		stream bool
		keep   bool
	}{
		{"whole stop", keptWhole, false, true},
		{"whole length", strings.Replace(keptWhole, `"stop"`, `"length"`, 1), false, true},
		{"whole content filter", strings.Replace(keptWhole, `"stop"`, `"content_filter"`, 1), false, false},
		{"whole two choices", strings.Replace(keptWhole, `"choices":[{`, `"choices":[{"index":1,"message":{},"finish_reason":"stop"},{`, 1), false, false},
		{"whole not an answer", `{"error":{"message":"no"}}`, false, false},
		{"stream", keptStream, true, true},
		{"stream cut before [DONE]", strings.TrimSuffix(keptStream, "data: [DONE]\n\n"), true, false},
		{"stream without a finish reason", strings.Replace(keptStream, `"finish_reason":"stop"`, `"finish_reason":null`, 1), true, false},
		{"stream with an error event", strings.Replace(keptStream, "data: [DONE]", "data: {\"error\":{\"message\":\"overloaded\"}}\n\ndata: [DONE]", 1), true, false},
		{"stream with a second choice", strings.Replace(keptStream, `"index":0,"delta":{},`, `"index":1,"delta":{},`, 1), true, false},
		{"stream not JSON", "data: {\n\ndata: [DONE]\n\n", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := (chatCache{}).Whole([]byte(tt.body), tt.stream); ok != tt.keep {
				t.Fatalf("kept %v, want %v", ok, tt.keep)
			}
		})
	}
}

func TestChatCacheKey(t *testing.T) {
	key := func(body string) string {
		k, ok := chatCache{}.Key([]byte(body))
		if !ok {
			t.Fatalf("no key for %s", body)
		}
		return string(k)
	}
	base := key(`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5}`)
	same := []string{
		`{ "temperature":0.5, "messages":[ {"content":"hi","role":"user"} ], "model":"m" }`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5,"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5,"user":"u","metadata":{"a":"b"},"store":true}`,
	}
	for _, b := range same {
		if key(b) != base {
			t.Errorf("key of %s differs", b)
		}
	}
	other := []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.6}`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5,"seed":1}`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5,"max_tokens":9}`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5,"tools":[{"type":"function","function":{"name":"f"}}]}`,
		`{"model":"m","messages":[{"role":"user","content":"hi!"}],"temperature":0.5}`,
	}
	for _, b := range other {
		if key(b) == base {
			t.Errorf("key of %s is the base's", b)
		}
	}
}

// FuzzChatCache feeds upstream answers (whole and streamed) to the cache:
// whatever an upstream sends, keeping and replaying it never panics, and a
// kept answer replays in every framing.
func FuzzChatCache(f *testing.F) {
	f.Add([]byte(keptWhole), false)
	f.Add([]byte(keptStream), true)
	f.Add([]byte(toolStream), true)
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":-1}]},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"), true)
	f.Fuzz(func(t *testing.T, body []byte, stream bool) {
		if _, ok := (chatCache{}).Whole(body, stream); !ok {
			return
		}
		for _, s := range []bool{false, true} {
			for _, u := range []bool{false, true} {
				if _, ok := (chatCache{includeUsage: u}).Replay(body, stream, s, keptUsage); !ok {
					t.Fatalf("a kept answer does not replay (stream %v, usage %v): %q", s, u, body)
				}
			}
		}
	})
}
