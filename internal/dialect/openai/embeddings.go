package openai

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"

	"github.com/llmservice/llmservice/internal/httpx"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

func (h *Handler) embeddings(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	var req wire.EmbeddingRequest
	if err := httpx.DecodeJSON(w, r, h.BodyLimit, &req); err != nil {
		return err
	}
	lr, err := req.ToLLM()
	if err != nil {
		return err
	}
	call, err := cacheableCall(r, p, "embeddings", req.Model)
	if err != nil {
		return err
	}
	res, err := h.GW.Embed(r.Context(), call, lr)
	if err != nil {
		return err
	}
	setServedHeaders(w, res.Served)
	out := wire.EmbeddingResponse{Object: "list", Model: req.Model, Data: make([]wire.Embedding, len(res.Response.Vectors)),
		Usage: wire.EmbedUsage{PromptTokens: res.Usage.PromptTokens, TotalTokens: res.Usage.PromptTokens}}
	for i, v := range res.Response.Vectors {
		var raw []byte
		if req.EncodingFormat == "base64" {
			raw = encodeBase64(v)
		} else {
			raw, _ = json.Marshal(v)
		}
		out.Data[i] = wire.Embedding{Object: "embedding", Index: i, Embedding: raw}
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}

// encodeBase64 renders a vector the way OpenAI's base64 encoding_format
// does: little-endian float32s, base64, as a JSON string.
func encodeBase64(v []float32) []byte {
	buf := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
	}
	s, _ := json.Marshal(base64.StdEncoding.EncodeToString(buf))
	return s
}
