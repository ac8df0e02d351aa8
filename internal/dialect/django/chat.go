package django

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// chatInput is a validated chat body.
type chatInput struct {
	Model string // as the caller wrote it
	Req   *llm.ChatRequest
}

// decodeChat validates the seed's {model, messages, stream} in DRF's terms
// (all missing fields named at once), then reads every other OpenAI
// parameter (temperature, max_tokens, tools, stream_options...) through the
// OpenAI wire types, so that they reach the provider as they would through
// /v1/chat/completions.
func decodeChat(fields map[string]json.RawMessage) (*chatInput, error) {
	errs := newFieldErrors()
	in := &chatInput{}
	in.Model, _ = stringField(fields, "model", true, errs)
	if raw, ok := fields["messages"]; !ok {
		errs.add("messages", msgRequired)
	} else {
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) == 0 || raw[0] == 'n':
			errs.add("messages", msgNull)
		case raw[0] != '[':
			errs.add("messages", `Expected a list of items but got type "`+pythonType(raw)+`".`)
		case len(bytes.TrimSpace(raw[1:])) > 0 && bytes.TrimSpace(raw[1:])[0] == ']':
			errs.add("messages", msgEmptyList)
		}
	}
	stream := boolField(fields, "stream", errs)
	if err := errs.err(); err != nil {
		return nil, err
	}
	// The rest goes through the OpenAI decoder, without the fields read
	// above: stream may be "true" here, and provider is not OpenAI's.
	rest := make(map[string]json.RawMessage, len(fields))
	for k, v := range fields {
		if k != "stream" && k != "provider" {
			rest[k] = v
		}
	}
	rest["model"], _ = json.Marshal(in.Model)
	b, _ := json.Marshal(rest)
	var req wire.ChatRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return nil, httpx.JSONError(err)
	}
	lr, err := req.ToLLM()
	if err != nil {
		return nil, err
	}
	lr.Stream = stream
	in.Req = lr
	return in, nil
}

// chat answers POST /api/chat/completions/?provider=...
func (h *Handler) chat(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	fields, err := readFields(w, r, h.BodyLimit)
	if err != nil {
		return err
	}
	// Some clients put the provider in the body; the query wins.
	var bodyProvider string
	if raw, ok := fields["provider"]; ok {
		_ = json.Unmarshal(raw, &bodyProvider) // a non-string is as good as none
	}
	prov, err := h.provider(r, bodyProvider)
	if err != nil {
		return err
	}
	in, err := decodeChat(fields)
	if err != nil {
		return err
	}
	if prov.Instance == "" {
		return h.callFailed(w, r, unavailable(prov))
	}
	// The response cache may answer: the seed's chat is stateless, the
	// whole conversation is in the request.
	ask, err := gateway.ParseCacheAsk(r.Header.Get)
	if err != nil {
		return err
	}
	call := &gateway.Call{Principal: p, Endpoint: "chat", Model: h.publicModel(prov, in.Model),
		Project: r.Header.Get("X-Project-Id"), Purpose: r.Header.Get("X-Purpose"), ClientIP: httpx.ClientIP(r.Context()),
		Cache: ask}
	if in.Req.Stream {
		return h.chatStream(w, r, call, in)
	}
	res, err := h.GW.Chat(r.Context(), call, in.Req)
	if err != nil {
		return h.callFailed(w, r, err)
	}
	setServed(w, res.Served)
	model := res.Response.Model
	if model == "" {
		model = in.Model
	}
	created := res.Response.Created
	if created == 0 {
		created = h.now().Unix()
	}
	id := completionID(res.Response.ID, func() string { return gateway.NewID("chatcmpl-") })
	return httpx.WriteJSON(w, http.StatusOK, completionFrom(res.Response, res.Usage, id, model, created))
}

// callFailed writes a failed LLM call in the seed's {"error": ...} shape.
func (h *Handler) callFailed(w http.ResponseWriter, r *http.Request, err error) error {
	httpx.WriteError(h.Log, writeCallError, w, r, err)
	return nil
}

// setServed says which provider instance and model answered, and the
// response cache's state when the cache applied.
func setServed(w http.ResponseWriter, s gateway.Served) {
	w.Header().Set("X-Llmservice-Provider", s.Instance)
	w.Header().Set("X-Llmservice-Model", s.HeaderModel())
	if s.Cache != "" {
		w.Header().Set("X-Llmservice-Cache", s.Cache)
	}
}

// chatStream sends the answer as OpenAI chunks over SSE, ending with
// "data: [DONE]". A failure before the first chunk is a plain error status;
// after it, an OpenAI-shaped error event, which the OpenAI SDKs raise.
func (h *Handler) chatStream(w http.ResponseWriter, r *http.Request, call *gateway.Call, in *chatInput) error {
	s, err := h.GW.ChatStream(r.Context(), call, in.Req)
	if err != nil {
		return h.callFailed(w, r, err)
	}
	defer s.Close()
	setServed(w, s.Served)
	id := gateway.NewID("chatcmpl-")
	created := h.now().Unix()
	model := in.Model
	httpx.StartSSE(w)
	failed, gone := httpx.RelayChunks(s, func(ch *llm.Chunk) error {
		if ch.Model != "" {
			model = ch.Model
		}
		if ch.Usage != nil && ch.Text == "" && ch.Role == "" && ch.FinishReason == "" && len(ch.ToolCalls) == 0 || ch.ThinkingOnly() {
			return nil // usage-only (sent at the end when asked for) or thinking (no place here)
		}
		b, _ := json.Marshal(chunkFrom(ch, id, model, created))
		return httpx.SSEData(w, b)
	})
	if failed != nil {
		e := llmservice.AsError(failed)
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": e.Message, "type": e.Kind.String(), "code": e.Code}})
		_ = httpx.SSEData(w, b)
		return nil
	}
	if gone != nil {
		return nil // the client went away; Close settles the call
	}
	if in.Req.IncludeUsage {
		b, _ := json.Marshal(usageChunk(gateway.StreamUsage(s), id, model, created))
		_ = httpx.SSEData(w, b)
	}
	_ = httpx.SSEData(w, []byte("[DONE]"))
	return nil
}
