package openai_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/llmservice/llmservice"
	openaidialect "github.com/llmservice/llmservice/internal/dialect/openai"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/llm"
)

const goodKey = "sk-good"

// fakeGateway answers like a one-model gateway: it echoes the last message,
// calls the first tool when tools are declared, and fails on demand. It
// records the last canonical request so tests can see what the dialect
// decoded.
type fakeGateway struct {
	mu      sync.Mutex
	last    *llm.ChatRequest
	lastEmb *llm.EmbedRequest
	err     error // returned by Chat, ChatStream and Embed when set
}

var _ openaidialect.Gateway = (*fakeGateway)(nil)

var served = gateway.Served{Instance: "fake", Model: "fake-model", Attempts: 1}

func (g *fakeGateway) Authenticate(ctx context.Context, key string) (*gateway.Principal, error) {
	if key != goodKey {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key", Message: "Incorrect API key provided."}
	}
	return &gateway.Principal{Key: &llmservice.Key{}, Team: &llmservice.Team{}}, nil
}

func (g *fakeGateway) record(req *llm.ChatRequest) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last = req
	return g.err
}

func (g *fakeGateway) answer(req *llm.ChatRequest) (llm.Message, string, llm.Usage) {
	var last llm.Message
	if n := len(req.Messages); n > 0 {
		last = req.Messages[n-1]
	}
	u := llm.Usage{PromptTokens: len(req.Messages), CompletionTokens: 2}
	if len(req.Tools) > 0 {
		return llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: req.Tools[0].Name, Arguments: `{"q":1}`}}}, llm.FinishToolCalls, u
	}
	return llm.TextMessage(llm.RoleAssistant, "echo: "+last.Text()), llm.FinishStop, u
}

func (g *fakeGateway) Chat(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.Result, error) {
	if err := g.record(req); err != nil {
		return nil, err
	}
	msg, finish, u := g.answer(req)
	resp := &llm.ChatResponse{ID: "up", Model: "fake-model", Created: 1, Choices: []llm.Choice{{Message: msg, FinishReason: finish}}, Usage: u, HasUsage: true}
	return &gateway.Result{Served: served, Response: resp, Usage: u}, nil
}

func (g *fakeGateway) ChatStream(ctx context.Context, c *gateway.Call, req *llm.ChatRequest) (*gateway.StreamResult, error) {
	if err := g.record(req); err != nil {
		return nil, err
	}
	msg, finish, u := g.answer(req)
	cs := []llm.Chunk{{Role: llm.RoleAssistant}}
	for _, w := range strings.SplitAfter(msg.Text(), " ") {
		cs = append(cs, llm.Chunk{Text: w})
	}
	for i, tc := range msg.ToolCalls {
		cs = append(cs, llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: i, ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments}}})
	}
	cs = append(cs, llm.Chunk{FinishReason: finish}, llm.Chunk{Usage: &u})
	return &gateway.StreamResult{Stream: &sliceStream{chunks: cs}, Served: served}, nil
}

func (g *fakeGateway) Embed(ctx context.Context, c *gateway.Call, req *llm.EmbedRequest) (*gateway.EmbedResult, error) {
	g.mu.Lock()
	g.lastEmb = req
	err := g.err
	g.mu.Unlock()
	if err != nil {
		return nil, err
	}
	res := &llm.EmbedResponse{Model: "fake-model", HasUsage: true, Usage: llm.Usage{PromptTokens: len(req.Input)}}
	for range req.Input {
		res.Vectors = append(res.Vectors, []float32{0.5, -0.25})
	}
	return &gateway.EmbedResult{Served: served, Response: res, Usage: res.Usage}, nil
}

func (g *fakeGateway) Models(p *gateway.Principal) []gateway.ModelInfo {
	return []gateway.ModelInfo{{ID: "fake/model", OwnedBy: "fake", Created: 1}}
}

// sliceStream yields fixed chunks.
type sliceStream struct{ chunks []llm.Chunk }

func (s *sliceStream) Recv() (llm.Chunk, error) {
	if len(s.chunks) == 0 {
		return llm.Chunk{}, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}

func (s *sliceStream) Close() error { return nil }

// bodyLimit is small so that the too-large case needs no big body.
const bodyLimit = 4 << 10

// newServer registers the dialect on a mux over gw.
func newServer(gw openaidialect.Gateway) http.Handler {
	h := &openaidialect.Handler{GW: gw, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), BodyLimit: bodyLimit, Now: func() int64 { return 1700000000 }}
	mux := http.NewServeMux()
	h.Register(mux)
	return mux
}

// post sends body to path with the good key and returns the recorder.
func post(h http.Handler, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+goodKey)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
