package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
	"github.com/llmservice/llmservice/internal/llm"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

// maxEmbedInputs is OpenAI's documented limit of inputs per request.
const maxEmbedInputs = 2048

func (h *Handler) embeddings(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	var req wire.EmbeddingRequest
	if err := httpx.DecodeJSON(w, r, h.BodyLimit, &req); err != nil {
		return err
	}
	lr, err := embedToLLM(&req)
	if err != nil {
		return err
	}
	res, err := h.GW.Embed(r.Context(), newCall(r, p, "embeddings", req.Model), lr)
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

func embedToLLM(req *wire.EmbeddingRequest) (*llm.EmbedRequest, error) {
	if req.Model == "" {
		return nil, llmservice.InvalidParam("model", "model is required")
	}
	switch req.EncodingFormat {
	case "", "float", "base64":
	default:
		return nil, llmservice.InvalidParam("encoding_format", "encoding_format must be float or base64")
	}
	if req.Dimensions != nil && *req.Dimensions < 1 {
		return nil, llmservice.InvalidParam("dimensions", "dimensions must be at least 1")
	}
	in := bytes.TrimSpace(req.Input)
	var inputs []string
	switch {
	case len(in) == 0 || bytes.Equal(in, []byte("null")):
		return nil, llmservice.InvalidParam("input", "input is required")
	case in[0] == '"':
		var s string
		if err := json.Unmarshal(in, &s); err != nil {
			return nil, llmservice.InvalidParam("input", "input must be a string or an array of strings")
		}
		inputs = []string{s}
	default:
		if err := json.Unmarshal(in, &inputs); err != nil {
			return nil, llmservice.InvalidParam("input", "input must be a string or an array of strings; token arrays are not supported")
		}
	}
	if len(inputs) == 0 || len(inputs) > maxEmbedInputs {
		return nil, llmservice.InvalidParam("input", "input must hold between 1 and %d strings", maxEmbedInputs)
	}
	for i, s := range inputs {
		if s == "" {
			return nil, llmservice.InvalidParam("input", "input[%d] is empty", i)
		}
	}
	return &llm.EmbedRequest{Model: req.Model, Input: inputs, Dimensions: req.Dimensions, User: req.User}, nil
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
