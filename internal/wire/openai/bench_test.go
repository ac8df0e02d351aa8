package openai_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// benchBody is a typical agent turn: a system prompt, a few exchanges, one
// tool round trip and a tool definition.
func benchBody() []byte {
	var msgs []string
	msgs = append(msgs, `{"role":"system","content":"`+strings.Repeat("You are a helpful assistant. ", 20)+`"}`)
	for i := range 4 {
		msgs = append(msgs, fmt.Sprintf(`{"role":"user","content":"question %d: %s"}`, i, strings.Repeat("lorem ipsum ", 30)))
		msgs = append(msgs, fmt.Sprintf(`{"role":"assistant","content":"answer %d: %s"}`, i, strings.Repeat("dolor sit amet ", 40)))
	}
	msgs = append(msgs, `{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"x\"}"}}]}`,
		`{"role":"tool","tool_call_id":"call_1","content":"result"}`)
	return []byte(`{"model":"gpt-4o-mini","temperature":0.2,"stream":true,"messages":[` + strings.Join(msgs, ",") +
		`],"tools":[{"type":"function","function":{"name":"lookup","description":"Look up","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}]}`)
}

func BenchmarkChatRequestDecode(b *testing.B) {
	body := benchBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r wire.ChatRequest
		if err := json.Unmarshal(body, &r); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ToLLM(); err != nil {
			b.Fatal(err)
		}
	}
}
