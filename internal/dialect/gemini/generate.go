package gemini

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
)

// generate serves generateContent and streamGenerateContent. A stream is
// SSE with alt=sse and one JSON array without it.
func (h *Handler) generate(w http.ResponseWriter, r *http.Request, model string, stream bool) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	body, err := httpx.ReadBody(w, r, h.BodyLimit)
	if err != nil {
		return err
	}
	lr, err := decode(body, model, stream)
	if err != nil {
		return err
	}
	op := opGenerate
	if stream {
		op = opStream
	}
	sse := r.URL.Query().Get("alt") == "sse"
	call := newCall(r, p, "generate_content", model)
	if call.Cache, err = gateway.ParseCacheAsk(r.Header.Get); err != nil {
		return err
	}
	x := &gateway.Exchange{
		Raw:   &llm.RawRequest{Protocol: llm.GeminiGenerate, Op: op, Body: body, Stream: stream, ReplyModel: model},
		Chat:  lr,
		Cache: generateCache{},
	}
	ans, err := h.GW.Exchange(r.Context(), call, x)
	if err != nil {
		return err
	}
	setServedHeaders(w, ans.Served)
	switch {
	case ans.Raw != nil:
		return writeRaw(w, ans.Raw, stream && !sse)
	case ans.Result != nil:
		return httpx.WriteJSON(w, http.StatusOK, responseFromLLM(ans.Result, model))
	default:
		return streamGenerate(w, ans.Stream, model, sse)
	}
}

// writeRaw copies a pass-through answer to the client as it arrives,
// flushing after each read so that stream events are not held back. The
// Gemini adapter always streams SSE; a client that asked for the JSON
// array framing gets each event's data, unchanged, as an array element.
func writeRaw(w http.ResponseWriter, a *gateway.RawAnswer, array bool) error {
	defer a.Body.Close()
	sse := strings.HasPrefix(http.Header(a.Header).Get("Content-Type"), "text/event-stream")
	if array && sse {
		return reframe(w, a)
	}
	for k, v := range a.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.Status)
	// The status line is gone: a failure now travels as an error element
	// (the scanner hands out whole frames, so this one starts on a frame
	// boundary).
	if err := httpx.Relay(w, a.Body); err != nil && sse {
		_ = httpx.SSEData(w, errorJSON(err))
	}
	return nil
}

// reframe turns an SSE answer into the JSON array framing.
func reframe(w http.ResponseWriter, a *gateway.RawAnswer) error {
	f := newFramer(w, false)
	defer f.end()
	br := bufio.NewReaderSize(a.Body, 64<<10)
	var data []byte
	for f.err == nil {
		line, err := br.ReadBytes('\n')
		t := bytes.TrimRight(line, "\r\n")
		if v, ok := bytes.CutPrefix(t, []byte("data:")); ok {
			data = append(data, bytes.TrimPrefix(v, []byte(" "))...)
		} else if len(t) == 0 && len(data) > 0 {
			f.write(data)
			data = nil
		}
		if err != nil {
			if len(data) > 0 {
				f.write(data)
			}
			if !errors.Is(err, io.EOF) {
				f.write(errorJSON(err))
			}
			return nil
		}
	}
	return nil
}

// countTokens serves countTokens: the upstream's own count for Gemini
// models, a local count for every other; never a paid call.
func (h *Handler) countTokens(w http.ResponseWriter, r *http.Request, model string) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	body, err := httpx.ReadBody(w, r, h.BodyLimit)
	if err != nil {
		return err
	}
	lr, err := decodeCount(body, model)
	if err != nil {
		return err
	}
	call := newCall(r, p, "count_tokens", model)
	x := &gateway.Exchange{
		Raw:  &llm.RawRequest{Protocol: llm.GeminiGenerate, Op: opCount, Body: body, ReplyModel: model},
		Chat: lr,
	}
	n, err := h.GW.CountTokens(r.Context(), call, x)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]int{"totalTokens": n})
}
