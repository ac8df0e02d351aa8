package gateway

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/tokens"
)

// Call describes one request for admission and for the ledger.
type Call struct {
	Principal *Principal
	Endpoint  string // chat, completions, embeddings
	Model     string // the public name the caller asked for
	Project   string
	Purpose   string
}

// Result is a finished non-streaming call.
type Result struct {
	Response *llm.ChatResponse
	Target   *Target
	Attempts int
	Usage    llm.Usage
	Cost     llmservice.Nanos
	Latency  time.Duration
}

// prepare resolves the model and enforces access.
func (g *Gateway) prepare(c *Call) (*Target, error) {
	if err := c.Principal.CheckModel(c.Model); err != nil {
		return nil, err
	}
	return g.Resolve(c.Model)
}

// Chat runs a non-streaming chat call.
func (g *Gateway) Chat(ctx context.Context, c *Call, req *llm.ChatRequest) (*Result, error) {
	start := g.now()
	t, err := g.prepare(c)
	if err != nil {
		g.settle(c, nil, start, 0, llm.Usage{}, false, err)
		return nil, err
	}
	req.Model = t.Upstream
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	resp, err := t.Instance.Provider.Chat(ctx, req)
	if err != nil {
		g.settle(c, t, start, 0, llm.Usage{}, false, err)
		return nil, err
	}
	u := resp.Usage
	if !resp.HasUsage {
		u = countChat(t.Upstream, req.Messages, resp)
	}
	cost := g.settle(c, t, start, 0, u, false, nil)
	return &Result{Response: resp, Target: t, Attempts: 1, Usage: u, Cost: cost, Latency: g.now().Sub(start)}, nil
}

// countChat counts tokens locally when upstream reported none.
func countChat(model string, msgs []llm.Message, resp *llm.ChatResponse) llm.Usage {
	u := llm.Usage{PromptTokens: tokens.CountMessages(model, msgs), Estimated: true}
	for _, c := range resp.Choices {
		u.CompletionTokens += tokens.Count(model, c.Message.Text())
		for _, tc := range c.Message.ToolCalls {
			u.CompletionTokens += tokens.Count(model, tc.Name+tc.Arguments)
		}
	}
	return u
}

// settle prices the call and hands its record to the meter. It returns the cost.
func (g *Gateway) settle(c *Call, t *Target, start time.Time, ttft time.Duration, u llm.Usage, stream bool, err error) llmservice.Nanos {
	rec := llmservice.UsageRecord{
		ID:               NewID("req_"),
		Time:             start,
		TeamID:           c.Principal.Team.ID,
		KeyID:            c.Principal.Key.ID,
		Project:          c.Project,
		Endpoint:         c.Endpoint,
		RequestedModel:   c.Model,
		PromptTokens:     u.PromptTokens,
		CompletionTokens: u.CompletionTokens,
		TokensEstimated:  u.Estimated,
		LatencyMS:        int(g.now().Sub(start).Milliseconds()),
		TTFTMS:           int(ttft.Milliseconds()),
		Stream:           stream,
		Status:           200,
		Purpose:          c.Purpose,
		Attempts:         1,
	}
	if t != nil {
		rec.Provider = t.Instance.Name
		rec.UpstreamModel = t.Upstream
		if t.HasPrice {
			rec.Cost = t.Price.Cost(u)
		}
	} else {
		rec.Attempts = 0
	}
	if err != nil {
		e := llmservice.AsError(err)
		rec.Status = e.Kind.HTTPStatus()
		rec.ErrorType = e.Kind.String()
		if e.Code != "" {
			rec.ErrorType = e.Code
		}
	}
	g.meter.Record(rec)
	return rec.Cost
}

// StreamResult is a started stream. Reading it to io.EOF or closing it
// settles the call.
type StreamResult struct {
	llm.Stream
	Target   *Target
	Attempts int
}

// ChatStream starts a streaming chat call. Errors before the first chunk are
// returned here, so the dialect can still answer with a plain error status.
func (g *Gateway) ChatStream(ctx context.Context, c *Call, req *llm.ChatRequest) (*StreamResult, error) {
	start := g.now()
	t, err := g.prepare(c)
	if err != nil {
		g.settle(c, nil, start, 0, llm.Usage{}, true, err)
		return nil, err
	}
	req.Model = t.Upstream
	req.Stream = true
	// The wait for the first chunk is bounded; the rest of the stream is
	// bounded by the client's connection.
	fctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(g.timeout, cancel)
	s, err := t.Instance.Provider.ChatStream(fctx, req)
	if err != nil {
		timer.Stop()
		cancel()
		if errors.Is(err, context.Canceled) && ctx.Err() == nil {
			err = &llmservice.Error{Kind: llmservice.UpstreamTimeout, Message: "upstream timed out", Err: err}
		}
		g.settle(c, t, start, 0, llm.Usage{}, true, err)
		return nil, err
	}
	ms := &meteredStream{g: g, c: c, t: t, req: req, s: s, start: start, timer: timer, cancel: cancel}
	return &StreamResult{Stream: ms, Target: t, Attempts: 1}, nil
}

// meteredStream watches a stream go by: time to first token, usage, and the
// text needed to count tokens when upstream reports none.
type meteredStream struct {
	g      *Gateway
	c      *Call
	t      *Target
	req    *llm.ChatRequest
	s      llm.Stream
	start  time.Time
	timer  *time.Timer
	cancel context.CancelFunc

	ttft    time.Duration
	usage   *llm.Usage
	text    strings.Builder
	settled bool
}

func (m *meteredStream) Recv() (llm.Chunk, error) {
	ch, err := m.s.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			m.finish(nil)
		} else {
			m.finish(err)
		}
		return ch, err
	}
	if m.ttft == 0 {
		m.ttft = m.g.now().Sub(m.start)
		if m.ttft == 0 {
			m.ttft = time.Nanosecond
		}
		m.timer.Stop()
	}
	if ch.Usage != nil {
		u := *ch.Usage
		m.usage = &u
	}
	m.text.WriteString(ch.Text)
	for _, tc := range ch.ToolCalls {
		m.text.WriteString(tc.Name)
		m.text.WriteString(tc.Arguments)
	}
	return ch, nil
}

// Usage returns what the stream cost in tokens so far (counted locally when
// upstream has not reported usage).
func (m *meteredStream) Usage() llm.Usage {
	if m.usage != nil {
		return *m.usage
	}
	return llm.Usage{
		PromptTokens:     tokens.CountMessages(m.t.Upstream, m.req.Messages),
		CompletionTokens: tokens.Count(m.t.Upstream, m.text.String()),
		Estimated:        true,
	}
}

func (m *meteredStream) finish(err error) {
	if m.settled {
		return
	}
	m.settled = true
	m.timer.Stop()
	m.g.settle(m.c, m.t, m.start, m.ttft, m.Usage(), true, err)
}

// Close settles a stream the client abandoned before its end.
func (m *meteredStream) Close() error {
	if !m.settled {
		m.finish(&llmservice.Error{Kind: llmservice.Upstream, Code: "client_closed", Message: "client closed the stream"})
	}
	m.cancel()
	return m.s.Close()
}

// StreamUsage returns the usage of a stream started by ChatStream.
func StreamUsage(s *StreamResult) llm.Usage {
	if m, ok := s.Stream.(*meteredStream); ok {
		return m.Usage()
	}
	return llm.Usage{}
}

// EmbedResult is a finished embeddings call.
type EmbedResult struct {
	Response *llm.EmbedResponse
	Target   *Target
	Usage    llm.Usage
}

// Embed runs an embeddings call.
func (g *Gateway) Embed(ctx context.Context, c *Call, req *llm.EmbedRequest) (*EmbedResult, error) {
	start := g.now()
	t, err := g.prepare(c)
	if err != nil {
		g.settle(c, nil, start, 0, llm.Usage{}, false, err)
		return nil, err
	}
	e, ok := t.Instance.Provider.(llm.Embedder)
	if !ok {
		err := llmservice.InvalidParam("model", "provider '%s' does not serve embeddings", t.Instance.Name)
		g.settle(c, t, start, 0, llm.Usage{}, false, err)
		return nil, err
	}
	req.Model = t.Upstream
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	resp, err := e.Embed(ctx, req)
	if err != nil {
		g.settle(c, t, start, 0, llm.Usage{}, false, err)
		return nil, err
	}
	u := resp.Usage
	if !resp.HasUsage {
		u = llm.Usage{Estimated: true}
		for _, in := range req.Input {
			u.PromptTokens += tokens.Count(t.Upstream, in)
		}
	}
	g.settle(c, t, start, 0, u, false, nil)
	return &EmbedResult{Response: resp, Target: t, Usage: u}, nil
}
