package athena

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	"github.com/llmservice/llmservice/internal/openaihttp"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// defaultBodyLimit applies when the Handler sets none.
const defaultBodyLimit = 8 << 20

func (h *Handler) bodyLimit() int64 {
	if h.BodyLimit > 0 {
		return h.BodyLimit
	}
	return defaultBodyLimit
}

// readBody reads at most the body limit, unless the server refused the
// request for want of capacity.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if err := httpx.Refusal(r.Context()); err != nil {
		return nil, err
	}
	return httpx.ReadBody(w, r, h.bodyLimit())
}

// chat serves POST /api/v1/chat/completions: OpenAI's request, OpenAI's
// answer plus "content".
func (h *Handler) chat(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r)
	if err != nil {
		return err
	}
	_, lr, err := openaihttp.DecodeChat(w, r, h.bodyLimit())
	if err != nil {
		return err
	}
	if lr.Stream {
		gc, err := c.call(r.Context(), lr.Model, nil)
		if err != nil {
			return err
		}
		s, err := h.GW.ChatStream(r.Context(), gc, lr)
		if err != nil {
			return err
		}
		setServedHeaders(w, s.Served)
		return openaihttp.StreamChat(w, s, lr.Model, h.now().Unix(), lr.IncludeUsage)
	}
	cc, served, err := h.runChat(r.Context(), c, lr)
	if err != nil {
		return err
	}
	setServedHeaders(w, served)
	return httpx.WriteJSON(w, http.StatusOK, cc)
}

func (h *Handler) createConversation(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r)
	if err != nil {
		return err
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	in, err := decodeConversation(body)
	if err != nil {
		return err
	}
	v, err := h.createConv(r.Context(), c, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/conversations/"+v.ID)
	return httpx.WriteJSON(w, http.StatusCreated, v)
}

func (h *Handler) getConversation(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r)
	if err != nil {
		return err
	}
	v, err := h.findConv(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, v)
}

func (h *Handler) deleteConversation(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := h.deleteConv(r.Context(), c, id); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "object": "conversation.deleted", "deleted": true})
}

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, llmservice.InvalidParam(name, "%s must be a non-negative integer, got %q", name, s)
	}
	return n, nil
}

func (h *Handler) listConversations(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	if r.URL.Query().Has("limit") && limit == 0 {
		return llmservice.InvalidParam("limit", "limit must be between 1 and 100")
	}
	offset, err := queryInt(r, "offset")
	if err != nil {
		return err
	}
	v, err := h.listConvs(r.Context(), c, limit, r.URL.Query().Get("cursor"), offset)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, v)
}

func (h *Handler) sendMessage(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r)
	if err != nil {
		return err
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	in, err := decodeTurn(body)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if in.Stream {
		return h.streamTurn(w, r, c, id, in)
	}
	v, served, err := h.sendTurn(r.Context(), c, id, in)
	if err != nil {
		return err
	}
	setServedHeaders(w, served)
	return httpx.WriteJSON(w, http.StatusOK, v)
}

// streamTurn streams a conversation's reply as OpenAI chunks and stores the
// turn when the stream has ended well. A stream that fails midway stores
// nothing: the client sees the error event and may send the message again.
func (h *Handler) streamTurn(w http.ResponseWriter, r *http.Request, c *caller, id string, in *turnInput) error {
	ctx := r.Context()
	t, err := h.prepareTurn(ctx, c, id, in)
	if err != nil {
		return err
	}
	gc, err := c.call(ctx, t.conv.Model, metadataLabels(t.conv.Metadata))
	if err != nil {
		return err
	}
	s, err := h.GW.ChatStream(ctx, gc, t.req)
	if err != nil {
		return err
	}
	defer s.Close()
	setServedHeaders(w, s.Served)
	w.Header().Set("X-Conversation-Id", t.conv.ID)
	streamID, model, created := gateway.NewID("chatcmpl-"), t.conv.Model, h.now().Unix()
	httpx.StartSSE(w)
	var (
		text strings.Builder
		seen *llm.Usage // the last usage upstream reported
	)
	fail := func(err error) error {
		b, _ := json.Marshal(openaihttp.ErrorBody(llmservice.AsError(err)))
		_ = httpx.SSEData(w, b)
		return nil
	}
	failed, gone := httpx.RelayChunks(s, func(ch *llm.Chunk) error {
		text.WriteString(ch.Text)
		if ch.Usage != nil {
			seen = ch.Usage
		}
		if ch.Usage != nil && ch.Text == "" && ch.Role == "" && ch.FinishReason == "" && len(ch.ToolCalls) == 0 || ch.ThinkingOnly() {
			return nil // usage-only chunk (sent once, at the end) or thinking (no place here)
		}
		b, _ := json.Marshal(wire.ChunkFromLLM(ch, streamID, model, created, false))
		return httpx.SSEData(w, b)
	})
	if failed != nil {
		return fail(failed)
	}
	if gone != nil {
		return nil // client went away before the end: nothing is stored
	}
	// The gateway's count is the one billed; a stream it did not wrap
	// (tests) has only what upstream said.
	u := gateway.StreamUsage(s)
	if u == (llm.Usage{}) && seen != nil {
		u = *seen
	}
	if _, _, err := h.finishTurn(ctx, c, t, text.String(), u); err != nil {
		return fail(err)
	}
	if in.IncludeUsage {
		b, _ := json.Marshal(wire.ChunkFromLLM(&llm.Chunk{Usage: &u}, streamID, model, created, true))
		_ = httpx.SSEData(w, b)
	}
	_ = httpx.SSEData(w, []byte("[DONE]"))
	return nil
}

func (h *Handler) models(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "data": h.modelsOf(c)})
}

// parseTime accepts RFC 3339 or a bare date (UTC midnight), as the admin
// usage report does.
func parseTime(param, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, llmservice.InvalidParam(param, "%s must be an RFC 3339 time or a date (YYYY-MM-DD), got %q", param, v)
}

func (h *Handler) usage(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	from, err := parseTime("from", q.Get("from"))
	if err != nil {
		return err
	}
	to, err := parseTime("to", q.Get("to"))
	if err != nil {
		return err
	}
	v, err := h.usageOf(r.Context(), c, from, to, q.Get("group_by"))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, v)
}
