package jobs

import (
	"encoding/json"
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
)

// chunk is the seed's SSE chunk: an OpenAI chat.completion.chunk whose
// model is the model that answered.
type chunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *chunkUsage   `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int        `json:"index"`
	Delta        chunkDelta `json:"delta"`
	FinishReason *string    `json:"finish_reason"`
}

// chunkDelta has the role only in the first chunk, and nothing in the last.
type chunkDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type chunkUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// streamError is the seed's error chunk, sent when a stream fails after its
// status line is gone.
type streamError struct {
	Error streamErrorBody `json:"error"`
}

type streamErrorBody struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    string `json:"code"`
}

// StreamErrorChunk renders e as the seed's error chunk. The seed's own
// example is a timeout: {"type":"timeout_error","code":"model_timeout"}.
func StreamErrorChunk(e *llmservice.Error) any {
	b := streamErrorBody{Message: e.Message, Type: "server_error", Code: "internal_error"}
	switch e.Kind {
	case llmservice.UpstreamTimeout:
		b.Type, b.Code = "timeout_error", "model_timeout"
		if b.Message == "" {
			b.Message = "Model timeout exceeded"
		}
	case llmservice.RateLimited:
		b.Type, b.Code = "rate_limit_error", "rate_limit_exceeded"
	case llmservice.Upstream:
		b.Type, b.Code = "api_error", "upstream_error"
	case llmservice.Unavailable:
		b.Type, b.Code = "service_unavailable", "model_unavailable"
	case llmservice.Internal:
		b.Message = "Internal server error"
	}
	if e.Code != "" && e.Kind != llmservice.Internal && e.Kind != llmservice.UpstreamTimeout {
		b.Code = e.Code
	}
	return streamError{Error: b}
}

func (h *Handler) callStream(w http.ResponseWriter, r *http.Request) error {
	pc, err := h.prepare(w, r)
	if err != nil {
		return err
	}
	start := h.now()
	s, err := h.GW.ChatStream(r.Context(), pc.call, pc.req.ToLLM())
	if err != nil {
		// Nothing is sent yet: the failure still gets its status code.
		h.recordFailure(r.Context(), pc, true, start, err)
		return err
	}
	defer s.Close()
	setCacheHeader(w, s.Served)
	model := servedName(s.Served)
	sw := &chunkWriter{w: w, base: chunk{ID: "chatcmpl-" + gateway.NewID(""), Object: "chat.completion.chunk",
		Created: start.Unix(), Model: model}}
	httpx.StartSSE(w)

	var (
		finish string
		seen   *llm.Usage // usage reported in the stream, for gateways that do not meter
	)
	failure, left := httpx.RelayChunks(s, func(ch *llm.Chunk) error {
		if ch.Usage != nil {
			u := *ch.Usage
			seen = &u
		}
		if ch.FinishReason != "" {
			finish = ch.FinishReason
		}
		if ch.Text == "" && (sw.started || ch.Role == "") {
			return nil // the finish reason and usage go in the final chunk
		}
		return sw.delta(ch.Text)
	})
	gone := left != nil
	if failure != nil {
		gone = sw.write(StreamErrorChunk(llmservice.AsError(failure))) != nil
	}
	u := gateway.StreamUsage(s)
	if u == (llm.Usage{}) && seen != nil {
		u = *seen
	}
	if failure == nil && !gone {
		if finish == "" {
			finish = llm.FinishStop
		}
		if err := sw.final(finish, u); err != nil {
			gone = true
		}
	}
	if gone && failure == nil {
		failure = &llmservice.Error{Kind: llmservice.Upstream, Code: "client_closed", Message: "client closed the stream"}
	}
	jc := h.jobCall(pc, true, start)
	jc.Model, jc.PromptTokens, jc.CompletionTokens = model, u.PromptTokens, u.CompletionTokens
	jc.Cost = gateway.StreamCost(s)
	jc.LatencyMS = int(h.now().Sub(start).Milliseconds())
	if failure != nil {
		jc.Error = failureText(llmservice.AsError(failure))
	}
	h.record(r.Context(), jc)
	return nil
}

// chunkWriter writes one stream's chunks; the first carries the role.
type chunkWriter struct {
	w       http.ResponseWriter
	base    chunk
	started bool
}

func (c *chunkWriter) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return httpx.SSEData(c.w, b)
}

func (c *chunkWriter) delta(text string) error {
	ch := c.base
	d := chunkDelta{Content: &text}
	if !c.started {
		d.Role = llm.RoleAssistant
		c.started = true
	}
	ch.Choices = []chunkChoice{{Delta: d}}
	return c.write(ch)
}

// final sends the last chunk (empty delta, finish reason, usage) and the
// [DONE] line. A stream with no text still opens with the role chunk.
func (c *chunkWriter) final(finish string, u llm.Usage) error {
	if !c.started {
		if err := c.delta(""); err != nil {
			return err
		}
	}
	ch := c.base
	ch.Choices = []chunkChoice{{Delta: chunkDelta{}, FinishReason: &finish}}
	ch.Usage = &chunkUsage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.Total()}
	if err := c.write(ch); err != nil {
		return err
	}
	return httpx.SSEData(c.w, []byte("[DONE]"))
}
