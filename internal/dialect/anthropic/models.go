package anthropic

import (
	"net/http"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
)

// modelInfo is a model in Anthropic's shape.
// https://platform.claude.com/docs/en/api/models/list
type modelInfo struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

type modelList struct {
	Data    []modelInfo `json:"data"`
	HasMore bool        `json:"has_more"`
	FirstID *string     `json:"first_id"`
	LastID  *string     `json:"last_id"`
}

func toModelInfo(m gateway.ModelInfo) modelInfo {
	return modelInfo{Type: "model", ID: m.ID, DisplayName: m.ID, CreatedAt: time.Unix(m.Created, 0).UTC().Format(time.RFC3339)}
}

// listModels serves GET /v1/models for Anthropic clients: every model the
// key may use, in one page.
func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	list := modelList{Data: []modelInfo{}}
	for _, m := range h.GW.Models(p) {
		list.Data = append(list.Data, toModelInfo(m))
	}
	if n := len(list.Data); n > 0 {
		list.FirstID, list.LastID = &list.Data[0].ID, &list.Data[n-1].ID
	}
	return httpx.WriteJSON(w, http.StatusOK, list)
}

func (h *Handler) getModel(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	id := r.PathValue("model")
	for _, m := range h.GW.Models(p) {
		if m.ID == id {
			return httpx.WriteJSON(w, http.StatusOK, toModelInfo(m))
		}
	}
	return &llmservice.Error{Kind: llmservice.NotFound, Param: "model", Code: "model_not_found", Message: "model: " + id}
}
