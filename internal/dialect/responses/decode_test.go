package responses

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/llm"
)

// codexTurn is Codex 0.171's second request of a tool turn, trimmed
// (docs/agents-wire.md 4.3, 4.4).
const codexTurn = `{"model":"gpt-5.5","stream":true,"store":false,"tool_choice":"auto","parallel_tool_calls":true,
"reasoning":{"effort":"medium"},"include":["reasoning.encrypted_content"],"prompt_cache_key":"k","text":{"verbosity":"low"},
"input":[
 {"type":"message","id":"msg_1","role":"developer","content":[{"type":"input_text","text":"You are Codex."}]},
 {"type":"message","id":"msg_2","role":"user","content":[{"type":"input_text","text":"TOOLTEST: run echo"}]},
 {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Thinking."}],"content":null,"encrypted_content":"ZW5j"},
 {"type":"function_call","status":"completed","id":"fc_1","name":"exec_command","arguments":"{\"cmd\":\"echo hi\"}","call_id":"call_1"},
 {"type":"function_call_output","id":"fco_1","call_id":"call_1","output":"hi\n"},
 {"type":"custom_tool_call","id":"ctc_1","status":"completed","call_id":"call_2","name":"apply_patch","input":"*** Begin Patch\n*** End Patch\n"},
 {"type":"custom_tool_call_output","id":"ctco_1","call_id":"call_2","output":[{"type":"input_text","text":"Success."}]}
],
"tools":[
 {"type":"function","name":"exec_command","description":"Runs a command.","strict":false,"parameters":{"type":"object","properties":{"cmd":{"type":"string"}},"required":["cmd"]}},
 {"type":"custom","name":"apply_patch","description":"Edit files.","format":{"type":"grammar","syntax":"lark","definition":"start: x"}},
 {"type":"namespace","name":"multi_agent_v1","description":"Sub-agents.","tools":[{"type":"function","name":"spawn_agent","parameters":{"type":"object"}}]},
 {"type":"tool_search","execution":"client","parameters":{"type":"object"}},
 {"type":"web_search","external_web_access":false}
]}`

func TestDecodeCodexTurn(t *testing.T) {
	d, err := decode([]byte(codexTurn), false)
	if err != nil {
		t.Fatal(err)
	}
	c := d.chat
	var roles []string
	for _, m := range c.Messages {
		roles = append(roles, m.Role)
	}
	if got := strings.Join(roles, ","); got != "system,user,assistant,tool,assistant,tool" {
		t.Fatalf("roles = %s", got)
	}
	if tc := c.Messages[2].ToolCalls; len(tc) != 1 || tc[0].ID != "call_1" || tc[0].Arguments != `{"cmd":"echo hi"}` {
		t.Errorf("function_call = %+v", tc)
	}
	if tc := c.Messages[4].ToolCalls; len(tc) != 1 || tc[0].Name != "apply_patch" || !strings.Contains(tc[0].Arguments, `"input":"*** Begin Patch`) {
		t.Errorf("custom_tool_call = %+v", tc)
	}
	if got := c.Messages[5].Text(); got != "Success." {
		t.Errorf("custom output = %q", got)
	}
	var names []string
	for _, tl := range c.Tools {
		names = append(names, tl.Name)
	}
	if got := strings.Join(names, ","); got != "exec_command,apply_patch,spawn_agent" {
		t.Errorf("tools = %s (custom as a function, namespace flattened, hosted dropped)", got)
	}
	if !d.custom["apply_patch"] || c.ToolChoice == nil || c.ToolChoice.Mode != llm.ToolChoiceAuto {
		t.Errorf("custom %v, tool_choice %+v", d.custom, c.ToolChoice)
	}
	for _, m := range c.Messages {
		for _, p := range m.Content {
			if p.Type == llm.PartThinking || p.Type == llm.PartRedactedThinking {
				t.Errorf("reasoning item reached the canonical request: %+v", p)
			}
		}
	}
}

func TestDecodeFields(t *testing.T) {
	d, err := decode([]byte(`{"model":"m","input":"hi","instructions":"be brief","max_output_tokens":64,"temperature":0.5,
		"tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"function","name":"f"},
		"text":{"format":{"type":"json_schema","name":"out","schema":{"type":"object"},"strict":true}},
		"input_image":null}`), false)
	if err != nil {
		t.Fatal(err)
	}
	c := d.chat
	if len(c.Messages) != 2 || c.Messages[0].Role != llm.RoleSystem || c.Messages[1].Text() != "hi" {
		t.Errorf("messages = %+v", c.Messages)
	}
	if *c.MaxTokens != 64 || *c.Temperature != 0.5 || c.ToolChoice.Mode != llm.ToolChoiceFunction || c.ToolChoice.Name != "f" {
		t.Errorf("request = %+v", c)
	}
	if f := c.ResponseFormat; f == nil || f.Type != llm.FormatJSONSchema || f.Name != "out" || string(f.Schema) != `{"type":"object"}` {
		t.Errorf("format = %+v", f)
	}
	d, err = decode([]byte(`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"look"},{"type":"input_image","image_url":"https://x/y.png","detail":"low"}]}]}`), false)
	if err != nil {
		t.Fatal(err)
	}
	if p := d.chat.Messages[0].Content; len(p) != 2 || p[1].Type != llm.PartImage || p[1].ImageURL != "https://x/y.png" {
		t.Errorf("image = %+v", p)
	}
}

// malformed are bodies every endpoint must refuse with a 4xx naming the
// field.
var malformed = []string{
	``, `null`, `[]`, `"x"`, `1`, `{`, `{"model":1}`, `{"input":"hi"}`, `{"model":"","input":"hi"}`,
	`{"model":"m"}`, `{"model":"m","input":1}`, `{"model":"m","input":{}}`, `{"model":"m","input":[1]}`,
	`{"model":"m","input":[{}]}`, `{"model":"m","input":[{"type":"bogus"}]}`, `{"model":"m","input":[{"role":"robot","content":"x"}]}`,
	`{"model":"m","input":[{"type":"message","content":"x"}]}`, `{"model":"m","input":[{"role":"user","content":1}]}`,
	`{"model":"m","input":[{"role":"user","content":[{}]}]}`, `{"model":"m","input":[{"role":"user","content":[{"type":"nope"}]}]}`,
	`{"model":"m","input":[{"role":"user","content":[{"type":"input_image"}]}]}`,
	`{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"ftp://x"}]}]}`,
	`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":5}]}]}`,
	`{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}`,
	`{"model":"m","input":[{"type":"function_call","call_id":"c","arguments":"{}"}]}`,
	`{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f"}]}`,
	`{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":{}}]}`,
	`{"model":"m","input":[{"type":"function_call_output","output":"x"}]}`,
	`{"model":"m","input":[{"type":"function_call_output","call_id":"c"}]}`,
	`{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":5}]}`,
	`{"model":"m","input":[{"type":"custom_tool_call","input":"x"}]}`,
	`{"model":"m","input":[{"type":"custom_tool_call_output","output":"x"}]}`,
	`{"model":"m","input":[{"type":"reasoning","summary":"x"}]}`,
	`{"model":"m","input":"hi","instructions":5}`, `{"model":"m","input":"hi","tools":{}}`,
	`{"model":"m","input":"hi","tools":[{}]}`, `{"model":"m","input":"hi","tools":[{"type":"function"}]}`,
	`{"model":"m","input":"hi","tools":[{"type":"function","name":"f","parameters":"x"}]}`,
	`{"model":"m","input":"hi","tools":[{"type":"custom"}]}`, `{"model":"m","input":"hi","tools":[1]}`,
	`{"model":"m","input":"hi","tool_choice":"sometimes"}`, `{"model":"m","input":"hi","tool_choice":5}`,
	`{"model":"m","input":"hi","tool_choice":{}}`, `{"model":"m","input":"hi","tool_choice":{"type":"function"}}`,
	`{"model":"m","input":"hi","parallel_tool_calls":"yes"}`, `{"model":"m","input":"hi","text":5}`,
	`{"model":"m","input":"hi","text":{"format":{"type":"xml"}}}`, `{"model":"m","input":"hi","text":{"format":{"type":"json_schema"}}}`,
	`{"model":"m","input":"hi","text":{"format":{"type":"json_schema","name":"x"}}}`,
	`{"model":"m","input":"hi","text":{"format":{"type":"json_schema","name":"x","schema":"s"}}}`,
	`{"model":"m","input":"hi","reasoning":5}`, `{"model":"m","input":"hi","reasoning":{"effort":5}}`,
	`{"model":"m","input":"hi","max_output_tokens":0}`, `{"model":"m","input":"hi","max_output_tokens":"many"}`,
	`{"model":"m","input":"hi","max_output_tokens":-1}`, `{"model":"m","input":"hi","temperature":3}`,
	`{"model":"m","input":"hi","temperature":"hot"}`, `{"model":"m","input":"hi","top_p":2}`,
	`{"model":"m","input":"hi","stream":"yes"}`, `{"model":"m","input":"hi","store":"no"}`,
	`{"model":"m","input":"hi","previous_response_id":5}`, `{"model":"m","input":"hi","include":"x"}`,
	`{"model":"m","input":"hi","metadata":[]}`, `{"model":"m","input":"hi","user":5}`,
	`{"model":"m","input":[{"role":"user","content":"x"}],"tools":[{"type":"namespace","tools":[1]}]}`,
}

func TestMalformed(t *testing.T) {
	if len(malformed) < 64 {
		t.Fatalf("%d malformed bodies; want at least 64", len(malformed))
	}
	for _, body := range malformed {
		_, err := decode([]byte(body), false)
		if err == nil {
			t.Errorf("decode(%s) = nil error", body)
			continue
		}
		if k := llmservice.AsError(err).Kind; k != llmservice.Invalid {
			t.Errorf("decode(%s): kind %v; want Invalid", body, k)
		}
	}
}

// TestStreamEncoder: reasoning, text and a tool call make three items,
// each added, streamed and done, sequence numbers counted from 0.
func TestStreamEncoder(t *testing.T) {
	d, err := decode([]byte(`{"model":"m","input":"hi","tools":[{"type":"custom","name":"apply_patch"}]}`), false)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	e := &streamEncoder{w: w, d: d, resp: newResponse(d, 1)}
	for _, ch := range []llm.Chunk{
		{Thinking: "hmm"}, {Text: "Hel"}, {Text: "lo"},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "call_a", Name: "f", Arguments: `{"a":`}}},
		{ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `1}`}}},
		{ToolCalls: []llm.ToolCallDelta{{Index: 1, ID: "call_b", Name: "apply_patch", Arguments: `{"input":"patch"}`}}},
	} {
		e.chunk(&ch)
	}
	e.close()
	var names []string
	seq := 0
	for _, block := range strings.Split(strings.TrimSpace(w.Body.String()), "\n\n") {
		lines := strings.SplitN(block, "\n", 2)
		name := strings.TrimPrefix(lines[0], "event: ")
		var data map[string]any
		if err := json.Unmarshal([]byte(strings.TrimPrefix(lines[1], "data: ")), &data); err != nil {
			t.Fatal(err)
		}
		if data["type"] != name || data["sequence_number"] != float64(seq) {
			t.Errorf("event %d: %v", seq, data)
		}
		seq++
		names = append(names, strings.TrimPrefix(name, "response."))
	}
	want := "output_item.added reasoning_summary_part.added reasoning_summary_text.delta reasoning_summary_text.done reasoning_summary_part.done output_item.done " +
		"output_item.added content_part.added output_text.delta output_text.delta output_text.done content_part.done output_item.done " +
		"output_item.added function_call_arguments.delta function_call_arguments.delta function_call_arguments.done output_item.done " +
		"output_item.added custom_tool_call_input.delta custom_tool_call_input.done output_item.done"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("events:\n got %s\nwant %s", got, want)
	}
	out := e.resp.Output
	if len(out) != 4 || *out[1].Content != nil && (*out[1].Content)[0].Text != "Hello" || *out[2].Arguments != `{"a":1}` || *out[3].Input != "patch" || out[3].Type != "custom_tool_call" {
		b, _ := json.Marshal(out)
		t.Errorf("output = %s", b)
	}
}

type chunkStream struct {
	chunks []llm.Chunk
	err    error
}

func (s *chunkStream) Recv() (llm.Chunk, error) {
	if len(s.chunks) == 0 {
		if s.err != nil {
			return llm.Chunk{}, s.err
		}
		return llm.Chunk{}, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}

func (s *chunkStream) Close() error { return nil }

// TestStreamEnds: a stream ends in response.completed, in
// response.incomplete when the output hit max_output_tokens, and in
// response.failed (with the error) when the upstream broke off; stored
// only when completed or incomplete.
func TestStreamEnds(t *testing.T) {
	cases := []struct {
		name   string
		s      *chunkStream
		last   string
		status string
		kept   bool
	}{
		{"completed", &chunkStream{chunks: []llm.Chunk{{Text: "hi"}, {FinishReason: llm.FinishStop}}}, "response.completed", "completed", true},
		{"incomplete", &chunkStream{chunks: []llm.Chunk{{Text: "hi"}, {FinishReason: llm.FinishLength}}}, "response.incomplete", "incomplete", true},
		{"failed", &chunkStream{chunks: []llm.Chunk{{Text: "hi"}}, err: &llmservice.Error{Kind: llmservice.Upstream, Message: "upstream broke"}}, "response.failed", "failed", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := decode([]byte(`{"model":"m","input":"hi"}`), false)
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			kept := false
			if err := streamResponse(w, &gateway.StreamResult{Stream: tc.s}, d, func() int64 { return 1 }, func(*response) { kept = true }); err != nil {
				t.Fatal(err)
			}
			blocks := strings.Split(strings.TrimSpace(w.Body.String()), "\n\n")
			lastBlock := blocks[len(blocks)-1]
			if !strings.HasPrefix(lastBlock, "event: "+tc.last+"\n") || !strings.Contains(lastBlock, `"status":"`+tc.status+`"`) {
				t.Errorf("last event = %s", lastBlock)
			}
			if strings.Contains(w.Body.String(), "[DONE]") {
				t.Error("[DONE] in a Responses stream")
			}
			if tc.name == "failed" && !strings.Contains(lastBlock, "upstream broke") {
				t.Errorf("failed event without the error: %s", lastBlock)
			}
			if kept != tc.kept {
				t.Errorf("kept = %v; want %v", kept, tc.kept)
			}
		})
	}
}
