package openai

import (
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
	wire "github.com/llmservice/llmservice/internal/wire/openai"
)

func (h *Handler) models(w http.ResponseWriter, r *http.Request) error {
	if mr := h.modelsRoute(r); mr != nil {
		mr.List.ServeHTTP(w, r)
		return nil
	}
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	list := wire.ModelList{Object: "list", Data: []wire.ModelInfo{}}
	for _, m := range h.GW.Models(p) {
		list.Data = append(list.Data, wire.ModelInfo{ID: m.ID, Object: "model", Created: m.Created, OwnedBy: m.OwnedBy})
	}
	return httpx.WriteJSON(w, http.StatusOK, list)
}

func (h *Handler) model(w http.ResponseWriter, r *http.Request) error {
	if mr := h.modelsRoute(r); mr != nil {
		mr.Get.ServeHTTP(w, r)
		return nil
	}
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	id := r.PathValue("model")
	for _, m := range h.GW.Models(p) {
		if m.ID == id {
			return httpx.WriteJSON(w, http.StatusOK, wire.ModelInfo{ID: m.ID, Object: "model", Created: m.Created, OwnedBy: m.OwnedBy})
		}
	}
	return &llmservice.Error{Kind: llmservice.NotFound, Param: "model", Code: "model_not_found", Message: "The model '" + id + "' does not exist or you do not have access to it."}
}
