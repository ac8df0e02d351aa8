package providertest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/anthropic"
)

// ThinkingSignature is the signature the Anthropic fake gives a thinking
// block whose text is thinking. The real API signs with a key only it holds;
// the fake's key is public so that tests can build valid histories, but it
// checks every signature it is sent just as strictly: a thinking block
// whose text or signature changed by one byte is refused.
func ThinkingSignature(thinking string) string {
	sum := sha256.Sum256([]byte("providertest anthropic key\x00" + thinking))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// RedactedData is the data of the redacted_thinking block the fake returns
// when the last user text contains "[redact]".
var RedactedData = "RED" + ThinkingSignature("redacted")

// fakeThinking is the reasoning the fake returns: none when the request did
// not enable thinking.
type fakeThinking struct {
	text     string
	redacted bool
}

// thinkingFor returns the thinking of an answer to req: with thinking
// enabled ({"type":"enabled"} or {"type":"adaptive"}), one signed block
// "thinking about: <last user text>", plus a redacted block on request.
// https://platform.claude.com/docs/en/build-with-claude/extended-thinking
func thinkingFor(req *wire.MessagesRequest) fakeThinking {
	var cfg struct {
		Type string `json:"type"`
	}
	if len(req.Thinking) == 0 || json.Unmarshal(req.Thinking, &cfg) != nil || (cfg.Type != "enabled" && cfg.Type != "adaptive") {
		return fakeThinking{}
	}
	last := ""
	for _, t := range anthropicTurns(req) {
		if t.Role == "user" || t.Role == "tool" {
			last = t.Text
		}
	}
	return fakeThinking{text: "thinking about: " + last, redacted: strings.Contains(last, "[redact]")}
}

// tokens is what the thinking adds to output_tokens, which include it.
func (th fakeThinking) tokens() int {
	n := len(strings.Fields(th.text))
	if th.redacted {
		n++
	}
	return n
}

// blocks returns the thinking blocks of a whole answer, first as the API
// puts them.
func (th fakeThinking) blocks() []wire.ContentBlock {
	if th.text == "" {
		return []wire.ContentBlock{}
	}
	out := []wire.ContentBlock{{Type: wire.BlockThinking, Thinking: th.text, Signature: ThinkingSignature(th.text)}}
	if th.redacted {
		out = append(out, wire.ContentBlock{Type: wire.BlockRedactedThinking, Data: RedactedData})
	}
	return out
}

// stream sends the thinking blocks in the API's framing (an empty thinking
// block, thinking_delta pieces, one signature_delta, stop; a redacted block
// whole in its start) and returns the index of the next block.
func (th fakeThinking) stream(send func(name string, v any)) int {
	if th.text == "" {
		return 0
	}
	send(wire.EventContentBlockStart, wire.ContentBlockStartEvent{Type: wire.EventContentBlockStart, Index: 0,
		ContentBlock: wire.ContentBlock{Type: wire.BlockThinking}})
	for _, p := range Words(th.text) {
		send(wire.EventContentBlockDelta, wire.ContentBlockDeltaEvent{Type: wire.EventContentBlockDelta, Index: 0,
			Delta: wire.Delta{Type: wire.DeltaThinking, Thinking: p}})
	}
	send(wire.EventContentBlockDelta, wire.ContentBlockDeltaEvent{Type: wire.EventContentBlockDelta, Index: 0,
		Delta: wire.Delta{Type: wire.DeltaSignature, Signature: ThinkingSignature(th.text)}})
	send(wire.EventContentBlockStop, wire.ContentBlockStopEvent{Type: wire.EventContentBlockStop, Index: 0})
	if !th.redacted {
		return 1
	}
	send(wire.EventContentBlockStart, wire.ContentBlockStartEvent{Type: wire.EventContentBlockStart, Index: 1,
		ContentBlock: wire.ContentBlock{Type: wire.BlockRedactedThinking, Data: RedactedData}})
	send(wire.EventContentBlockStop, wire.ContentBlockStopEvent{Type: wire.EventContentBlockStop, Index: 1})
	return 2
}

// checkThinking refuses what the API refuses: a thinking block whose
// signature does not verify, a redacted block whose data was altered, and,
// with thinking enabled, a last assistant turn that used a tool without
// starting with its thinking (the block a proxy dropped or mangled).
func checkThinking(req *wire.MessagesRequest) string {
	lastAssistant := -1
	for i, m := range req.Messages {
		for j, b := range m.Content {
			switch b.Type {
			case wire.BlockThinking:
				if m.Role != wire.RoleAssistant || b.Signature != ThinkingSignature(b.Thinking) {
					return fmt.Sprintf("messages.%d.content.%d: Invalid `signature` in `thinking` block", i, j)
				}
			case wire.BlockRedactedThinking:
				if m.Role != wire.RoleAssistant || b.Data != RedactedData {
					return fmt.Sprintf("messages.%d.content.%d: Invalid `data` in `redacted_thinking` block", i, j)
				}
			}
		}
		if m.Role == wire.RoleAssistant {
			lastAssistant = i
		}
	}
	if thinkingFor(req).text == "" || lastAssistant < 0 {
		return ""
	}
	m := req.Messages[lastAssistant]
	usesTool := false
	for _, b := range m.Content {
		usesTool = usesTool || b.Type == wire.BlockToolUse
	}
	if usesTool && m.Content[0].Type != wire.BlockThinking && m.Content[0].Type != wire.BlockRedactedThinking {
		return fmt.Sprintf("messages.%d.content.0.type: Expected `thinking` or `redacted_thinking`, but found `%s`. When `thinking` is enabled, a final `assistant` message must start with a thinking block.", lastAssistant, m.Content[0].Type)
	}
	return ""
}

// promptCache is the fake's prompt cache: the prefixes it has seen, each
// ending at a cache_control breakpoint.
type promptCache struct {
	mu   sync.Mutex
	seen map[string]bool
}

// usage returns the cache counts of req in the API's terms: the prompt up
// to the last cache_control breakpoint (system, then messages, counted in
// words like the rest of the fake) is read from the cache when an earlier
// request had the same prefix, and written to it, in the breakpoint's
// lifetime tier, when not. InputTokens and OutputTokens are left to the
// caller.
// https://platform.claude.com/docs/en/build-with-claude/prompt-caching
func (c *promptCache) usage(req *wire.MessagesRequest) wire.Usage {
	var prefix bytes.Buffer
	words, cached := 0, 0
	ttl, key := "", ""
	mark := func(b wire.ContentBlock) {
		text := b.Text
		if b.Type == wire.BlockToolResult {
			text = b.Content.Text()
		}
		words += len(strings.Fields(text))
		enc, _ := json.Marshal(b)
		prefix.Write(enc)
		if len(b.CacheControl) > 0 {
			var cc struct {
				TTL string `json:"ttl"`
			}
			_ = json.Unmarshal(b.CacheControl, &cc)
			cached, ttl, key = words, cc.TTL, req.Model+"\x00"+prefix.String()
		}
	}
	for _, b := range req.System {
		mark(b)
	}
	for _, m := range req.Messages {
		for _, b := range m.Content {
			mark(b)
		}
	}
	var u wire.Usage
	if key == "" || cached == 0 {
		return u
	}
	c.mu.Lock()
	hit := c.seen[key]
	c.seen[key] = true
	c.mu.Unlock()
	if hit {
		u.CacheReadInputTokens = cached
		return u
	}
	u.CacheCreationInputTokens = cached
	u.CacheCreation = &wire.CacheCreation{Ephemeral5mInputTokens: cached}
	if ttl == "1h" {
		u.CacheCreation = &wire.CacheCreation{Ephemeral1hInputTokens: cached}
	}
	return u
}

// ThinkingHistory is a conversation whose assistant turns carry thinking
// parts of family, for translation tables: their text, signature and data
// all contain "SECRET", which no translation toward another family may
// send, while the turn's text "Hello" must go through.
func ThinkingHistory(family string) []llm.Message {
	return []llm.Message{
		llm.TextMessage(llm.RoleUser, "Hi"),
		{Role: llm.RoleAssistant, Content: []llm.Part{
			{Type: llm.PartThinking, Text: "SECRET-THOUGHT", Signature: "SECRET-SIG", Family: family},
			{Type: llm.PartRedactedThinking, Data: "SECRET-DATA", Family: family},
			{Type: llm.PartText, Text: "Hello"},
		}},
		{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartThinking, Text: "SECRET-ONLY", Family: family}}},
		llm.TextMessage(llm.RoleUser, "Again"),
	}
}
