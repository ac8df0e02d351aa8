package providertest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// AgentCommand is the command the agent fakes ask a Bash tool to run: it
// leaves a file behind, so a test can see that the tool really ran.
const AgentCommand = "touch created-by-tool && echo made-file"

// AgentReply is the policy of the agent fakes (NewAnthropicMessages,
// NewOpenAIAgent), made for coding agents, which declare tools on every
// turn: after a tool result, quote it; when the prompt holds "TOOLTEST"
// and a Bash tool (Claude Code's) or exec_command (Codex's) is declared,
// call it with AgentCommand; otherwise answer
// "pong: <prompt>".
//
// Claude Code puts <system-reminder> blocks before the prompt; a
// translated request joins them into one text, so the prompt is what
// follows the last reminder.
func AgentReply(lastUser string, toolResult *string, tools []string) Answer {
	if i := strings.LastIndex(lastUser, "</system-reminder>"); i >= 0 {
		lastUser = strings.TrimSpace(lastUser[i+len("</system-reminder>"):])
	}
	var a Answer
	hasBash, hasExec := false, false
	for _, t := range tools {
		hasBash = hasBash || t == "Bash"
		hasExec = hasExec || t == "exec_command"
	}
	switch {
	case toolResult != nil:
		a.Text = "tool result: " + *toolResult
	case hasBash && strings.Contains(lastUser, "TOOLTEST"):
		args, _ := json.Marshal(map[string]string{"command": AgentCommand, "description": "Create a file"})
		a.ToolCall = &ToolCall{ID: "toolu_fake_1", Name: "Bash", Arguments: string(args)}
	case hasExec && strings.Contains(lastUser, "TOOLTEST"):
		args, _ := json.Marshal(map[string]string{"cmd": AgentCommand})
		a.ToolCall = &ToolCall{ID: "call_fake_1", Name: "exec_command", Arguments: string(args)}
	default:
		a.Text = "pong: " + lastUser
	}
	a.CompletionTokens = len(strings.Fields(a.Text)) + 1
	return a
}

// MessagesFake is an Anthropic Messages API upstream that speaks the wire
// format of Anthropic's documentation in full: thinking blocks with
// signatures it checks when they come back, redacted_thinking, prompt
// cache usage, count_tokens, and event streams with every event type. It
// keeps the exact bytes of each answer it sent, for byte comparisons.
type MessagesFake struct {
	*Fake
	mu   sync.Mutex
	sent [][]byte
}

// signingKey signs the fake's thinking blocks.
var signingKey = []byte("providertest-thinking-key")

// Signature is the signature the fake gives a thinking text.
func Signature(thinking string) string {
	m := hmac.New(sha256.New, signingKey)
	m.Write([]byte(thinking))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// redactedData is the only redacted_thinking payload the fake issues.
const redactedData = "RVJDUkVEQUNURUQtZmFrZS1wYXlsb2Fk"

// Cache usage the fake reports for any request with a cache_control
// breakpoint: writes in both tiers, and a read.
const (
	CacheWrite5m = 6
	CacheWrite1h = 4
	CacheRead    = 20
)

// NewAnthropicMessages starts the fake. Point an adapter at fake.URL.
func NewAnthropicMessages(tb testing.TB) *MessagesFake {
	mf := &MessagesFake{}
	mf.Fake = New(tb, mf.serve)
	return mf
}

// Sent returns the bodies of the answers sent so far, in order.
func (mf *MessagesFake) Sent() [][]byte {
	mf.mu.Lock()
	defer mf.mu.Unlock()
	return append([][]byte(nil), mf.sent...)
}

type mfRecorder struct {
	http.ResponseWriter
	buf []byte
}

func (r *mfRecorder) Write(b []byte) (int, error) {
	r.buf = append(r.buf, b...)
	return r.ResponseWriter.Write(b)
}

func (r *mfRecorder) Flush() { Flush(r.ResponseWriter) }

func (mf *MessagesFake) serve(w http.ResponseWriter, r *http.Request, body []byte, fail *Failure) {
	rec := &mfRecorder{ResponseWriter: w}
	defer func() {
		mf.mu.Lock()
		mf.sent = append(mf.sent, rec.buf)
		mf.mu.Unlock()
	}()
	w = rec
	if r.Header.Get("x-api-key") == "" {
		anthropicError(w, http.StatusUnauthorized, "authentication_error", "x-api-key header is required")
		return
	}
	if r.Header.Get("anthropic-version") == "" {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data":[{"type":"model","id":"claude-fake","display_name":"Claude Fake","created_at":"2025-09-29T00:00:00Z"}],"has_more":false,"first_id":"claude-fake","last_id":"claude-fake"}`)
		return
	case r.Method != http.MethodPost || (r.URL.Path != "/v1/messages" && r.URL.Path != "/v1/messages/count_tokens"):
		anthropicError(w, http.StatusNotFound, "not_found_error", "Not Found")
		return
	}
	var req mfRequest
	if err := json.Unmarshal(body, &req); err != nil {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "There was an error parsing the body of your request")
		return
	}
	if req.Model == "" || len(req.Messages) == 0 {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "model and messages are required")
		return
	}
	if msg := req.checkThinking(); msg != "" {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", msg)
		return
	}
	prompt := 1 + len(strings.Fields(string(body)))/4
	if r.URL.Path == "/v1/messages/count_tokens" {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"input_tokens":%d}`, prompt)
		return
	}
	if req.MaxTokens < 1 {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "max_tokens: Field required")
		return
	}
	last, result := req.lastUser()
	a := AgentReply(last, result, req.toolNames())
	var blocks []mfBlock
	if len(req.Thinking) > 0 && string(req.Thinking) != "null" && !strings.Contains(string(req.Thinking), `"disabled"`) {
		th := "Let me think about: " + last
		blocks = append(blocks, mfBlock{kind: "thinking", text: th, sig: Signature(th)})
		if strings.Contains(last, "REDACTED") {
			blocks = append(blocks, mfBlock{kind: "redacted_thinking", text: redactedData})
		}
	}
	stop := "end_turn"
	if a.ToolCall != nil {
		blocks = append(blocks, mfBlock{kind: "text", text: "I will run a tool."},
			mfBlock{kind: "tool_use", id: a.ToolCall.ID, name: a.ToolCall.Name, text: a.ToolCall.Arguments})
		stop = "tool_use"
	} else {
		blocks = append(blocks, mfBlock{kind: "text", text: a.Text})
	}
	cached := strings.Contains(string(body), `"cache_control"`)
	usage := func(output int) string {
		if !cached {
			return fmt.Sprintf(`{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":%d,"service_tier":"standard"}`, prompt, output)
		}
		return fmt.Sprintf(`{"input_tokens":%d,"cache_creation_input_tokens":%d,"cache_read_input_tokens":%d,"cache_creation":{"ephemeral_5m_input_tokens":%d,"ephemeral_1h_input_tokens":%d},"output_tokens":%d,"service_tier":"standard"}`,
			prompt, CacheWrite5m+CacheWrite1h, CacheRead, CacheWrite5m, CacheWrite1h, output)
	}
	if req.Stream {
		mfStream(w, req.Model, blocks, stop, usage, a.CompletionTokens, fail)
		return
	}
	if fail != nil {
		panic(http.ErrAbortHandler)
	}
	var content []string
	for _, b := range blocks {
		content = append(content, b.whole())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_fake_messages")
	fmt.Fprintf(w, `{"id":"msg_fake","type":"message","role":"assistant","model":%q,"content":[%s],"stop_reason":%q,"stop_sequence":null,"usage":%s,"x_future_field":{"kept":true}}`,
		req.Model, strings.Join(content, ","), stop, usage(a.CompletionTokens))
}

type mfRequest struct {
	Model     string          `json:"model"`
	MaxTokens int             `json:"max_tokens"`
	Stream    bool            `json:"stream"`
	Thinking  json.RawMessage `json:"thinking"`
	Messages  []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Name string `json:"name"`
	} `json:"tools"`
}

type mfContent struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Thinking  string          `json:"thinking"`
	Signature string          `json:"signature"`
	Data      string          `json:"data"`
	Content   json.RawMessage `json:"content"`
}

func mfBlocks(raw json.RawMessage) []mfContent {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []mfContent{{Type: "text", Text: s}}
	}
	var out []mfContent
	_ = json.Unmarshal(raw, &out)
	return out
}

// checkThinking verifies every thinking block sent back, as the API does:
// a block whose signature does not match its text is refused.
func (r *mfRequest) checkThinking() string {
	for i, m := range r.Messages {
		if m.Role != "assistant" {
			continue
		}
		for j, b := range mfBlocks(m.Content) {
			switch {
			case b.Type == "thinking" && b.Signature != Signature(b.Thinking):
				return fmt.Sprintf("messages.%d.content.%d: Invalid `signature` in `thinking` block", i, j)
			case b.Type == "redacted_thinking" && b.Data != redactedData:
				return fmt.Sprintf("messages.%d.content.%d: Invalid `data` in `redacted_thinking` block", i, j)
			}
		}
	}
	return ""
}

// lastUser returns the last user turn's last text, and its tool result
// when it carries one.
func (r *mfRequest) lastUser() (string, *string) {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role != "user" {
			continue
		}
		var text string
		var result *string
		for _, b := range mfBlocks(r.Messages[i].Content) {
			switch b.Type {
			case "text":
				text = b.Text
			case "tool_result":
				t := openAIText(b.Content)
				result = &t
			}
		}
		return text, result
	}
	return "", nil
}

func (r *mfRequest) toolNames() []string {
	var out []string
	for _, t := range r.Tools {
		out = append(out, t.Name)
	}
	return out
}

// mfBlock is one answer block; text holds a tool_use's input JSON.
type mfBlock struct {
	kind, text, sig, id, name string
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (b mfBlock) whole() string {
	switch b.kind {
	case "thinking":
		return fmt.Sprintf(`{"type":"thinking","thinking":%s,"signature":%s}`, jsonString(b.text), jsonString(b.sig))
	case "redacted_thinking":
		return fmt.Sprintf(`{"type":"redacted_thinking","data":%s}`, jsonString(b.text))
	case "tool_use":
		return fmt.Sprintf(`{"type":"tool_use","id":%s,"name":%s,"input":%s}`, jsonString(b.id), jsonString(b.name), b.text)
	}
	return fmt.Sprintf(`{"type":"text","text":%s}`, jsonString(b.text))
}

// mfStream sends the answer as the API streams it, with a ping, an event
// type this code does not know, and a field it does not know, which a
// pass-through must carry.
func mfStream(w http.ResponseWriter, model string, blocks []mfBlock, stop string, usage func(int) string, output int, fail *Failure) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Request-Id", "req_fake_messages")
	n := 0
	send := func(name, data string) {
		if fail != nil && name == "content_block_delta" {
			if n >= fail.AfterChunks {
				panic(http.ErrAbortHandler)
			}
			n++
		}
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
		Flush(w)
	}
	send("message_start", fmt.Sprintf(`{"type":"message_start","message":{"id":"msg_fake","type":"message","role":"assistant","model":%q,"content":[],"stop_reason":null,"stop_sequence":null,"usage":%s}}`, model, usage(1)))
	send("ping", `{"type": "ping"}`)
	for i, b := range blocks {
		switch b.kind {
		case "thinking":
			send("content_block_start", fmt.Sprintf(`{"type":"content_block_start","index":%d,"content_block":{"type":"thinking","thinking":"","signature":""}}`, i))
			for _, p := range Words(b.text) {
				send("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"thinking_delta","thinking":%s}}`, i, jsonString(p)))
			}
			send("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"signature_delta","signature":%s}}`, i, jsonString(b.sig)))
		case "redacted_thinking":
			send("content_block_start", fmt.Sprintf(`{"type":"content_block_start","index":%d,"content_block":%s}`, i, b.whole()))
		case "tool_use":
			send("content_block_start", fmt.Sprintf(`{"type":"content_block_start","index":%d,"content_block":{"type":"tool_use","id":%s,"name":%s,"input":{}}}`, i, jsonString(b.id), jsonString(b.name)))
			send("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"input_json_delta","partial_json":""}}`, i))
			for _, p := range runePieces(b.text, 8) {
				send("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"input_json_delta","partial_json":%s}}`, i, jsonString(p)))
			}
		default:
			send("content_block_start", fmt.Sprintf(`{"type":"content_block_start","index":%d,"content_block":{"type":"text","text":""}}`, i))
			for _, p := range Words(b.text) {
				send("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"text_delta","text":%s}}`, i, jsonString(p)))
			}
		}
		send("content_block_stop", fmt.Sprintf(`{"type":"content_block_stop","index":%d}`, i))
	}
	send("x_future_event", `{"type":"x_future_event","note":"unknown to the gateway"}`)
	send("message_delta", fmt.Sprintf(`{"type":"message_delta","delta":{"stop_reason":%q,"stop_sequence":null},"usage":%s}`, stop, usage(output)))
	send("message_stop", `{"type":"message_stop"}`)
}
