package openai

import (
	"context"
	"testing"
)

// benchChunks is a ten-event chat stream as OpenAI sends it: the role,
// seven content deltas, the finish reason and the usage-only chunk the
// gateway asks for.
var benchChunks = func() [][]byte {
	const head = `{"id":"chatcmpl-C0TextUsage7fQ2","object":"chat.completion.chunk","created":1754006400,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_51db84afab","choices":`
	var out [][]byte
	out = append(out, []byte(head+`[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"k3Xv"}`))
	for _, w := range []string{"Hello", "!", " How", " can", " I", " help", ` you \"today\"?`} {
		out = append(out, []byte(head+`[{"index":0,"delta":{"content":"`+w+`"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"a1"}`))
	}
	out = append(out, []byte(head+`[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null,"obfuscation":"Zq"}`))
	out = append(out, []byte(head+`[],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"obfuscation":"x"}`))
	return out
}()

const benchAnswer = `{"id":"chatcmpl-C0Answer","object":"chat.completion","created":1754006400,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you \"today\"? Here is a longer answer so that the body has the size of a typical short reply.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":30,"total_tokens":49,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_51db84afab"}`

// BenchmarkChatSSEFrames passes benchChunks through a new chatSSE's frame,
// as one forwarded stream does (the SSE reading aside).
func BenchmarkChatSSEFrames(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		s := &chatSSE{reply: []byte(`"alias"`), hide: true}
		for _, c := range benchChunks {
			if err := s.frame(c); err != nil {
				b.Fatal(err)
			}
		}
		if _, ok := s.Usage(); !ok || s.Text() == "" {
			b.Fatal("no usage or text")
		}
	}
}

// BenchmarkChatJSON reads a whole answer as the pass-through lane does.
func BenchmarkChatJSON(b *testing.B) {
	b.ReportAllocs()
	ctx := context.Background()
	body := []byte(benchAnswer)
	for b.Loop() {
		j, err := newChatJSON(ctx, body, "alias")
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := j.Usage(); !ok {
			b.Fatal("no usage")
		}
	}
}

// The same with the former code (chatscan_test.go's oracle), to compare
// in one run on a busy machine: go test -bench 'ChatSSEFrames|ChatJSON'.
func BenchmarkChatSSEFramesOracle(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		s := &oldChatSSE{reply: []byte(`"alias"`), hide: true}
		for _, c := range benchChunks {
			if err := s.frame(c); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkChatJSONOracle(b *testing.B) {
	b.ReportAllocs()
	ctx := context.Background()
	body := []byte(benchAnswer)
	for b.Loop() {
		if _, err := oldNewChatJSON(ctx, body, "alias"); err != nil {
			b.Fatal(err)
		}
	}
}
