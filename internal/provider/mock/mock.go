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
	n := len(strings.Fields(thought))
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
		u.PromptTokens += len(strings.Fields(m.Text()))
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
		u.CompletionTokens = len(strings.Fields(string(args)))
		return msg, finish, u
	case last.Role == llm.RoleTool:
		msg.Content = []llm.Part{{Type: llm.PartText, Text: Prefix + "the tool said " + last.Text()}}
	default:
		msg.Content = []llm.Part{{Type: llm.PartText, Text: Prefix + last.Text()}}
	}
	words := strings.Fields(msg.Text())
	// A negative budget is clamped rather than trusted: not every dialect
	// validates max_tokens, and slicing by it would crash the server.
	if req.MaxTokens != nil && len(words) > max(*req.MaxTokens, 0) {
		words = words[:max(*req.MaxTokens, 0)]
		msg.Content[0].Text = strings.Join(words, " ")
		finish = llm.FinishLength
	}
	u.CompletionTokens = len(words)
	return msg, finish, u
}

// Chat answers at once.
func (Client) Chat(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	msg, finish, u := answer(req)
	return &llm.ChatResponse{ID: "mock", Model: req.Model, Created: time.Now().Unix(),
		Choices: []llm.Choice{{Message: msg, FinishReason: finish}}, Usage: u, HasUsage: true}, nil
}

// ChatStream streams the answer word by word.
func (Client) ChatStream(ctx context.Context, req *llm.ChatRequest) (llm.Stream, error) {
	msg, finish, u := answer(req)
	// The role comes with the first chunk: the thinking when there is
	// some, else the call or an empty text.
	var chunks []llm.Chunk
	role := llm.RoleAssistant
	if p := msg.Content; len(p) > 0 && p[0].Type == llm.PartThinking {
		chunks = append(chunks, llm.Chunk{Role: role, Thinking: p[0].Text, ThinkingFamily: Family})
		role = ""
	}
	if len(msg.ToolCalls) > 0 {
		tc := msg.ToolCalls[0]
		chunks = append(chunks,
			llm.Chunk{Role: role, ToolCalls: []llm.ToolCallDelta{{ID: tc.ID, Name: tc.Name}}},
			llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Arguments: tc.Arguments}}})
	} else {
		if role != "" {
			chunks = append(chunks, llm.Chunk{Role: role})
		}
		for i, w := range strings.Fields(msg.Text()) {
			if i > 0 {
				w = " " + w
			}
			chunks = append(chunks, llm.Chunk{Text: w})
		}
	}
	chunks = append(chunks, llm.Chunk{FinishReason: finish, Usage: &u})
	for i := range chunks {
		chunks[i].Model = req.Model
	}
	return &stream{ctx: ctx, chunks: chunks}, nil
}

type stream struct {
	ctx    context.Context
	chunks []llm.Chunk
}

func (s *stream) Recv() (llm.Chunk, error) {
	if err := s.ctx.Err(); err != nil {
		return llm.Chunk{}, err
	}
	if len(s.chunks) == 0 {
		return llm.Chunk{}, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
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
		out.Usage.PromptTokens += len(strings.Fields(t))
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
