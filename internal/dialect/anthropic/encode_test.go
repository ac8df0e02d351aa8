package anthropic

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/llm"
)

type chunkStream struct{ chunks []llm.Chunk }

func (s *chunkStream) Recv() (llm.Chunk, error) {
	if len(s.chunks) == 0 {
		return llm.Chunk{}, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}

func (s *chunkStream) Close() error { return nil }

// TestStreamEncoder: canonical chunks become one block per kind of
// content, with increasing indexes, each opened, extended and closed
// before the next; a tool call's input only as input_json_delta.
func TestStreamEncoder(t *testing.T) {
	tests := []struct {
		name   string
		chunks []llm.Chunk
		want   []string // event name, then index:delta type for deltas
	}{
		{"text", []llm.Chunk{{Role: "assistant"}, {Text: "a"}, {Text: "b"}, {FinishReason: "stop"}},
			[]string{"message_start", "ping", "start 0 text", "delta 0 text_delta", "delta 0 text_delta", "stop 0", "message_delta end_turn", "message_stop"}},
		{"thinking text tools", []llm.Chunk{
			{Thinking: "hm"}, {Signature: "sig"}, {Text: "I will"},
			{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "c1", Name: "a"}}}, {ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"x":1}`}}},
			{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "c2", Name: "b"}}},
			{FinishReason: "tool_calls"}},
			[]string{"message_start", "ping", "start 0 thinking", "delta 0 thinking_delta", "delta 0 signature_delta", "stop 0",
				"start 1 text", "delta 1 text_delta", "stop 1",
				"start 2 tool_use", "delta 2 input_json_delta", "stop 2",
				"start 3 tool_use", "delta 3 input_json_delta", "stop 3",
				"message_delta tool_use", "message_stop"}},
		{"length", []llm.Chunk{{Text: "cut"}, {FinishReason: "length"}},
			[]string{"message_start", "ping", "start 0 text", "delta 0 text_delta", "stop 0", "message_delta max_tokens", "message_stop"}},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		if err := streamMessages(w, &gateway.StreamResult{Stream: &chunkStream{chunks: tt.chunks}}, "public"); err != nil {
			t.Fatal(err)
		}
		var got []string
		sc := bufio.NewScanner(strings.NewReader(w.Body.String()))
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var e struct {
				Type         string
				Index        int
				ContentBlock struct{ Type string } `json:"content_block"`
				Delta        struct {
					Type       string
					StopReason string `json:"stop_reason"`
				}
			}
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				t.Fatalf("%s: %v", data, err)
			}
			switch e.Type {
			case "content_block_start":
				got = append(got, "start "+itoa(e.Index)+" "+e.ContentBlock.Type)
			case "content_block_delta":
				got = append(got, "delta "+itoa(e.Index)+" "+e.Delta.Type)
			case "content_block_stop":
				got = append(got, "stop "+itoa(e.Index))
			case "message_delta":
				got = append(got, "message_delta "+e.Delta.StopReason)
			default:
				got = append(got, e.Type)
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: events mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestDecodeTranslation: a Claude Code style conversation in canonical
// form.
func TestDecodeTranslation(t *testing.T) {
	body := `{"model":"m","max_tokens":10,"system":[{"type":"text","text":"sys"}],"messages":[
	{"role":"user","content":[{"type":"text","text":"hi"}]},
	{"role":"system","content":"env","output_config":{"effort":"medium"}},
	{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"ok"},{"type":"tool_use","id":"u1","name":"Bash","input":{"command":"ls"}}]},
	{"role":"user","content":[{"type":"tool_result","tool_use_id":"u1","content":"out"},{"type":"text","text":"next"}]}],
	"tools":[{"name":"Bash","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search"}],"tool_choice":{"type":"any"},"thinking":{"type":"adaptive"}}`
	_, got, err := decode([]byte(body), false)
	if err != nil {
		t.Fatal(err)
	}
	text := func(s string) []llm.Part { return []llm.Part{{Type: llm.PartText, Text: s}} }
	ten := 10
	want := &llm.ChatRequest{Model: "m", MaxTokens: &ten, Messages: []llm.Message{
		{Role: "system", Content: text("sys")},
		{Role: "user", Content: text("hi")},
		{Role: "system", Content: text("env")},
		{Role: "assistant", Content: []llm.Part{{Type: llm.PartThinking, Text: "t", Signature: "s", Family: "anthropic"}, {Type: llm.PartText, Text: "ok"}},
			ToolCalls: []llm.ToolCall{{ID: "u1", Name: "Bash", Arguments: `{"command":"ls"}`}}},
		{Role: "tool", ToolCallID: "u1", Content: text("out")},
		{Role: "user", Content: text("next")},
	},
		Tools:      []llm.Tool{{Name: "Bash", Parameters: json.RawMessage(`{"type":"object"}`)}},
		ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceRequired},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decode mismatch (-want +got):\n%s", diff)
	}
}
