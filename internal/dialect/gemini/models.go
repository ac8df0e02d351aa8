package gemini

import (
	"net/http"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
)

// modelInfo is a model in Gemini's shape.
// https://ai.google.dev/api/models#Model
type modelInfo struct {
	Name                       string   `json:"name"`
	BaseModelID                string   `json:"baseModelId"`
	Version                    string   `json:"version"`
	DisplayName                string   `json:"displayName"`
	SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
}

type modelList struct {
	Models []modelInfo `json:"models"`
}

func toModelInfo(m gateway.ModelInfo) modelInfo {
	return modelInfo{Name: "models/" + m.ID, BaseModelID: m.ID, Version: "001", DisplayName: m.ID,
		SupportedGenerationMethods: []string{opGenerate, opStream, opCount}}
}

// listModels serves GET /v1beta/models (and /v1/models for Gemini
// clients): every model the key may use, in one page.
func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	list := modelList{Models: []modelInfo{}}
	for _, m := range h.GW.Models(p) {
		list.Models = append(list.Models, toModelInfo(m))
	}
	return httpx.WriteJSON(w, http.StatusOK, list)
}

func (h *Handler) getModel(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(r.PathValue("model"), "models/")
	for _, m := range h.GW.Models(p) {
		if m.ID == id {
			return httpx.WriteJSON(w, http.StatusOK, toModelInfo(m))
		}
	}
	return &llmservice.Error{Kind: llmservice.NotFound, Param: "model", Code: "model_not_found", Message: "model not found: " + id}
}
