// Package responses serves OpenAI's Responses API (POST /v1/responses,
// GET and DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items,
// POST /v1/responses/input_tokens), the API Codex, the Vercel AI SDK's
// default OpenAI model and LangChain's useResponsesApi speak.
//
// A call to a model on an OpenAI upstream takes the gateway's pass-through
// lane: the body goes upstream as the client sent it, apart from its model
// (and, for a stored conversation, its earlier turns spliced into input in
// place of previous_response_id). Any other upstream takes the translation
// lane: the request is decoded into the canonical types and the answer
// encoded back into a response object or event stream here.
// https://platform.openai.com/docs/api-reference/responses
package responses

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// Gateway is what this dialect needs from the core.
type Gateway interface {
	Authenticate(ctx context.Context, key string) (*gateway.Principal, error)
	Exchange(ctx context.Context, c *gateway.Call, x *gateway.Exchange) (*gateway.Answer, error)
	CountTokens(ctx context.Context, c *gateway.Call, x *gateway.Exchange) (int, error)
}

// Handler serves the dialect.
type Handler struct {
	GW        Gateway
	Log       *slog.Logger
	BodyLimit int64
	// Store keeps responses created with store (the default); nil keeps
	// them in memory for the life of the process.
	Store Store
	Now   func() time.Time
}

// Register adds the Responses routes.
func (h *Handler) Register(mux *http.ServeMux) {
	if h.Store == nil {
		h.Store = NewMemoryStore()
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	mux.Handle("POST /v1/responses", h.handle(h.create))
	mux.Handle("POST /v1/responses/input_tokens", h.handle(h.inputTokens))
	mux.Handle("GET /v1/responses/{id}", h.handle(h.get))
	mux.Handle("DELETE /v1/responses/{id}", h.handle(h.remove))
	mux.Handle("GET /v1/responses/{id}/input_items", h.handle(h.inputItems))
}

func (h *Handler) handle(fn httpx.HandlerFunc) http.Handler {
	return httpx.Handle(h.Log, WriteError, fn)
}

// WriteError writes e in OpenAI's error shape.
func WriteError(w http.ResponseWriter, r *http.Request, status int, e *llmservice.Error) {
	_ = httpx.WriteJSON(w, status, wire.NewErrorBody(e))
}

// authenticate reads the virtual key from Authorization: Bearer, as every
// OpenAI client sends it.
func (h *Handler) authenticate(r *http.Request) (*gateway.Principal, error) {
	tok := httpx.BearerToken(r)
	if tok == "" {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key",
			Message: "You didn't provide an API key. Provide it in the Authorization header as 'Bearer <key>'."}
	}
	return h.GW.Authenticate(r.Context(), tok)
}

func (h *Handler) now() int64 { return h.Now().Unix() }

func newCall(r *http.Request, p *gateway.Principal, endpoint, model string) *gateway.Call {
	return &gateway.Call{Principal: p, Endpoint: endpoint, Model: model, Project: r.Header.Get("X-Project-Id"),
		Purpose: r.Header.Get("X-Purpose"), ClientIP: httpx.ClientIP(r.Context())}
}

func setServedHeaders(w http.ResponseWriter, s gateway.Served) {
	for _, kv := range s.Headers() {
		w.Header().Set(kv[0], kv[1])
	}
}

// prepare authenticates and decodes a request, resolving
// previous_response_id within the caller's team.
func (h *Handler) prepare(w http.ResponseWriter, r *http.Request, countOnly bool) (*gateway.Principal, *decoded, []byte, error) {
	p, err := h.authenticate(r)
	if err != nil {
		return nil, nil, nil, err
	}
	body, err := httpx.ReadBody(w, r, h.BodyLimit)
	if err != nil {
		return nil, nil, nil, err
	}
	d, err := decode(body, countOnly)
	if err != nil {
		return nil, nil, nil, err
	}
	if id := d.req.PreviousResponseID; id != "" {
		prev, err := getStored(r.Context(), h.Store, p.Team.ID, id)
		if err != nil {
			return nil, nil, nil, err
		}
		d.history = append(append([]item(nil), prev.Input...), prev.Output...)
		if d.chat, err = d.req.toLLM(d.custom, d.history); err != nil {
			return nil, nil, nil, err
		}
		if body, err = spliceHistory(body, d.history); err != nil {
			return nil, nil, nil, err
		}
	}
	return p, d, body, nil
}

// create serves POST /v1/responses.
func (h *Handler) create(w http.ResponseWriter, r *http.Request) error {
	p, d, body, err := h.prepare(w, r, false)
	if err != nil {
		return err
	}
	call := newCall(r, p, "responses", d.req.Model)
	if call.Cache, err = gateway.ParseCacheAsk(r.Header.Get); err != nil {
		return err
	}
	x := &gateway.Exchange{
		Raw: &llm.RawRequest{Protocol: llm.OpenAIResponses, Op: "responses", Body: body, Stream: d.req.Stream,
			ReplyModel: d.req.Model},
		Chat:  d.chat,
		Cache: responsesCache{},
	}
	ans, err := h.GW.Exchange(r.Context(), call, x)
	if err != nil {
		return err
	}
	setServedHeaders(w, ans.Served)
	keep := func(resp *response) { h.keep(r.Context(), p, d, resp) }
	switch {
	case ans.Raw != nil:
		return h.writeRaw(w, r, ans.Raw, p, d)
	case ans.Result != nil:
		resp := responseFromLLM(d, ans.Result, h.now())
		keep(resp)
		return httpx.WriteJSON(w, http.StatusOK, resp)
	default:
		return streamResponse(w, ans.Stream, d, h.now, keep)
	}
}

// keep stores a finished response when the request asked for it.
func (h *Handler) keep(ctx context.Context, p *gateway.Principal, d *decoded, resp *response) {
	if !d.req.stored() {
		return
	}
	st := &Stored{Response: *resp, Input: append(append([]item(nil), d.history...), d.req.Input...)}
	for _, it := range resp.Output {
		st.Output = append(st.Output, it.asInput())
	}
	if err := putStored(context.WithoutCancel(ctx), h.Store, p.Team.ID, st); err != nil {
		h.Log.Warn("could not store response", "id", resp.ID, "err", err)
	}
}

// writeRaw copies a pass-through answer to the client as it arrives,
// flushing after each read so that stream events are not held back, and
// keeps the response it carried when the request asked for it.
func (h *Handler) writeRaw(w http.ResponseWriter, r *http.Request, a *gateway.RawAnswer, p *gateway.Principal, d *decoded) error {
	defer a.Body.Close()
	for k, v := range a.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.Status)
	stream := strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream")
	cap := newCapture(stream, d.req.stored() && a.Status/100 == 2)
	buf := make([]byte, 32<<10)
	for {
		n, err := a.Body.Read(buf)
		if n > 0 {
			cap.write(buf[:n])
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil // client went away; Close settles the call
			}
			_ = httpx.Flush(w)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				if stream {
					le := llmservice.AsError(err)
					_ = httpx.SSEEvent(w, "error", []byte(`{"type":"error","code":"`+errorCode(le)+`","message":`+strconv.Quote(le.Message)+`}`))
				}
				return nil
			}
			if resp := cap.response(); resp != nil {
				resp.Model = d.req.Model
				h.keep(r.Context(), p, d, resp)
			}
			return nil
		}
	}
}

// inputTokens serves POST /v1/responses/input_tokens: the upstream's own
// count for OpenAI models, a local count for every other; never a paid
// call.
func (h *Handler) inputTokens(w http.ResponseWriter, r *http.Request) error {
	p, d, body, err := h.prepare(w, r, true)
	if err != nil {
		return err
	}
	call := newCall(r, p, "input_tokens", d.req.Model)
	x := &gateway.Exchange{
		Raw:  &llm.RawRequest{Protocol: llm.OpenAIResponses, Op: "input_tokens", Body: body, ReplyModel: d.req.Model},
		Chat: d.chat,
	}
	n, err := h.GW.CountTokens(r.Context(), call, x)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "response.input_tokens", "input_tokens": n})
}

func (h *Handler) stored(r *http.Request) (*Stored, error) {
	p, err := h.authenticate(r)
	if err != nil {
		return nil, err
	}
	return getStored(r.Context(), h.Store, p.Team.ID, r.PathValue("id"))
}

// get serves GET /v1/responses/{id}.
func (h *Handler) get(w http.ResponseWriter, r *http.Request) error {
	st, err := h.stored(r)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, st.Response)
}

// remove serves DELETE /v1/responses/{id}.
func (h *Handler) remove(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := h.Store.DeleteResponse(r.Context(), p.Team.ID, id); err != nil {
		if llmservice.ErrorKind(err) == llmservice.NotFound {
			return notFound(id)
		}
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "object": "response", "deleted": true})
}

// inputItems serves GET /v1/responses/{id}/input_items: the items the
// response was generated from, earlier turns included, newest first
// unless order=asc, paged with limit (1-100, default 20) and after.
func (h *Handler) inputItems(w http.ResponseWriter, r *http.Request) error {
	st, err := h.stored(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return llmservice.InvalidParam("limit", "Invalid 'limit': expected an integer between 1 and 100.")
		}
		limit = n
	}
	order := q.Get("order")
	if order != "" && order != "asc" && order != "desc" {
		return llmservice.InvalidParam("order", "Invalid 'order': expected 'asc' or 'desc'.")
	}
	items := make([]item, len(st.Input))
	for i, it := range st.Input {
		if it.ID == "" {
			it.ID = "item_" + strconv.Itoa(i) + "_" + st.Response.ID
		}
		if it.Type == "" {
			it.Type = "message"
		}
		items[i] = it
	}
	if order != "asc" {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}
	if after := q.Get("after"); after != "" {
		for i, it := range items {
			if it.ID == after {
				items = items[i+1:]
				break
			}
		}
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	out := map[string]any{"object": "list", "data": items, "has_more": more, "first_id": nil, "last_id": nil}
	if len(items) > 0 {
		out["first_id"], out["last_id"] = items[0].ID, items[len(items)-1].ID
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}
