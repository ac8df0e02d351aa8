// Package mock is the built-in offline provider. It answers deterministically
// with no network, so that a server started with no configuration can serve a
// completion at once, and benchmarks can measure the gateway alone.
//
// Every model name works. The answer to a conversation is
// "mock reply: <last user text>"; when the request declares tools and the
// last turn is the user's, the mock calls the first tool with
// {"input": "<last user text>"}. Token counts are word counts.
//
// When the request asks for reasoning (an extra "thinking" object whose
// type is not "disabled", or "reasoning_effort"), the answer starts with an
// unsigned thinking part of the mock family, "mock thinking about: <last
// user text>", counted in the completion and reasoning tokens.
package mock

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"io"
	"math"
	"strings"
	"time"
	"unicode"

	"github.com/llmservice/llmservice/internal/llm"
)

// Client is the mock provider.
type Client struct{}

var (
	_ llm.Provider = Client{}
	_ llm.Embedder = Client{}
)

// Prefix starts every mock answer, so nobody mistakes it for a model.
const Prefix = "mock reply: "

// Family is the provider family name of the mock's thinking parts.
const Family = "mock"

// answer is reply with the thinking the request asked for.
func answer(req *llm.ChatRequest) (llm.Message, string, llm.Usage) {
	msg, finish, u := reply(req)
	if !wantsThinking(req) {
		return msg, finish, u
	}
	last := ""
	for _, m := range req.Messages {
		if m.Role == llm.RoleUser || m.Role == llm.RoleTool {
			last = m.Text()
		}
	}
	thought := "mock thinking about: " + last
	msg.Content = append([]llm.Part{{Type: llm.PartThinking, Text: thought, Family: Family}}, msg.Content...)
	n := countWords(thought)
	u.CompletionTokens += n
	u.ReasoningTokens = n
	return msg, finish, u
}

// wantsThinking reports whether the request asks for reasoning, in
// Anthropic's words (thinking) or OpenAI's (reasoning_effort).
func wantsThinking(req *llm.ChatRequest) bool {
	if v, ok := req.Extra["thinking"]; ok {
		var cfg struct {
			Type string `json:"type"`
		}
		return json.Unmarshal(v, &cfg) == nil && cfg.Type != "" && cfg.Type != "disabled"
	}
	v, ok := req.Extra["reasoning_effort"]
	return ok && string(v) != "null" && string(v) != `"none"`
}

func reply(req *llm.ChatRequest) (msg llm.Message, finish string, u llm.Usage) {
	var last llm.Message
	for _, m := range req.Messages {
		u.PromptTokens += countWords(m.Text())
		last = m
	}
	msg.Role = llm.RoleAssistant
	finish = llm.FinishStop
	switch {
	case len(req.Tools) > 0 && last.Role == llm.RoleUser && (req.ToolChoice == nil || req.ToolChoice.Mode != llm.ToolChoiceNone):
		name := req.Tools[0].Name
		if req.ToolChoice != nil && req.ToolChoice.Mode == llm.ToolChoiceFunction {
			name = req.ToolChoice.Name
		}
		args, _ := json.Marshal(map[string]string{"input": last.Text()})
		msg.ToolCalls = []llm.ToolCall{{ID: "call_mock_1", Name: name, Arguments: string(args)}}
		finish = llm.FinishToolCalls
		u.CompletionTokens = countWords(string(args))
		return msg, finish, u
	case last.Role == llm.RoleTool:
		msg.Content = []llm.Part{{Type: llm.PartText, Text: Prefix + "the tool said " + last.Text()}}
	default:
		msg.Content = []llm.Part{{Type: llm.PartText, Text: Prefix + last.Text()}}
	}
	// Words are counted, never split out: a 16 MiB prompt of short words
	// would otherwise cost a string header per word (128 MiB for 8 Mi
	// words) on top of the text.
	words := countWords(msg.Content[0].Text)
	// A negative budget is clamped rather than trusted: not every dialect
	// validates max_tokens, and slicing by it would crash the server.
	if req.MaxTokens != nil && words > max(*req.MaxTokens, 0) {
		words = max(*req.MaxTokens, 0)
		msg.Content[0].Text = firstWords(msg.Content[0].Text, words)
		finish = llm.FinishLength
	}
	u.CompletionTokens = words
	return msg, finish, u
}

// countWords is len(strings.Fields(s)) without allocating.
func countWords(s string) int {
	n := 0
	for {
		w, rest := nextWord(s)
		if w == "" {
			return n
		}
		n++
		s = rest
	}
}

// nextWord returns the first word of s (as strings.Fields splits) and what
// follows it; w is empty when s has no more words.
func nextWord(s string) (w, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// firstWords is the first n words of s joined by single spaces.
func firstWords(s string, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		w, rest := nextWord(s)
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
		s = rest
	}
	return b.String()
}

// Chat answers at once.
func (Client) Chat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	msg, finish, u := answer(req)
	return &llm.ChatResponse{ID: "mock", Model: req.Model, Created: time.Now().Unix(),
		Choices: []llm.Choice{{Message: msg, FinishReason: finish}}, Usage: u, HasUsage: true}, nil
}

// ChatStream streams the answer word by word. Chunks are made as they are
// read, so a stream holds its answer once however many words it has, and a
// client that stops reading stops the making.
func (Client) ChatStream(ctx context.Context, req *llm.ChatRequest) (llm.Stream, error) {
	msg, finish, u := answer(req)
	s := &stream{ctx: ctx, model: req.Model, last: llm.Chunk{FinishReason: finish, Usage: &u, Model: req.Model}}
	// The role comes with the first chunk: the thinking when there is
	// some, else the call or an empty text.
	role := llm.RoleAssistant
	if p := msg.Content; len(p) > 0 && p[0].Type == llm.PartThinking {
		s.head = append(s.head, llm.Chunk{Role: role, Thinking: p[0].Text, ThinkingFamily: Family, Model: req.Model})
		role = ""
	}
	if len(msg.ToolCalls) > 0 {
		tc := msg.ToolCalls[0]
		s.head = append(s.head,
			llm.Chunk{Role: role, ToolCalls: []llm.ToolCallDelta{{ID: tc.ID, Name: tc.Name}}, Model: req.Model},
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Arguments: tc.Arguments}}, Model: req.Model})
		return s, nil
	}
	if role != "" {
		s.head = append(s.head, llm.Chunk{Role: role, Model: req.Model})
	}
	s.text = msg.Text()
	return s, nil
}

// stream hands out head, then one chunk per word of text, then last.
type stream struct {
	ctx   context.Context
	model string
	head  []llm.Chunk
	text  string // the words still to send
	words int    // sent so far
	last  llm.Chunk
	done  bool
}

func (s *stream) Recv() (llm.Chunk, error) {
	if err := s.ctx.Err(); err != nil {
		return llm.Chunk{}, err
	}
	if len(s.head) > 0 {
		c := s.head[0]
		s.head = s.head[1:]
		return c, nil
	}
	if w, rest := nextWord(s.text); w != "" {
		s.text = rest
		if s.words > 0 {
			w = " " + w
		}
		s.words++
		return llm.Chunk{Text: w, Model: s.model}, nil
	}
	if s.done {
		return llm.Chunk{}, io.EOF
	}
	s.done = true
	return s.last, nil
}

func (s *stream) Close() error { return nil }

// Embed returns a deterministic unit vector per input (8 dimensions unless
// the request asks for others), derived from a hash of the text.
func (Client) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	dims := 8
	if req.Dimensions != nil && *req.Dimensions > 0 && *req.Dimensions <= 4096 {
		dims = *req.Dimensions
	}
	out := &llm.EmbedResponse{Model: req.Model, Vectors: make([][]float32, len(req.Input)), HasUsage: true}
	for i, t := range req.Input {
		out.Usage.PromptTokens += countWords(t)
		h := fnv.New64a()
		_, _ = h.Write([]byte(t))
		seed := h.Sum64()
		v := make([]float32, dims)
		var norm float64
		for j := range v {
			seed = seed*6364136223846793005 + 1442695040888963407
			x := float64(int64(seed>>11))/float64(1<<52) - 1
			v[j] = float32(x)
			norm += x * x
		}
		norm = math.Sqrt(norm)
		if norm > 0 {
			for j := range v {
				v[j] = float32(float64(v[j]) / norm)
			}
		}
		out.Vectors[i] = v
	}
	return out, nil
}
