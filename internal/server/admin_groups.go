package server

import (
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
)

func (s *Server) decodeGroup(w http.ResponseWriter, r *http.Request) (*llmservice.ModelGroup, error) {
	var g llmservice.ModelGroup
	if err := httpx.DecodeStrictJSON(w, r, s.cfg.BodyLimit, &g); err != nil {
		return nil, err
	}
	if len(g.Models) == 0 {
		return nil, llmservice.InvalidParam("models", "models must list the primary model first, then the fallbacks")
	}
	for i, m := range g.Models {
		if m == "" {
			return nil, llmservice.InvalidParam("models", "models[%d] is empty", i)
		}
	}
	switch g.Strategy {
	case "", "weighted", "least-outstanding", "lowest-latency":
	default:
		return nil, llmservice.InvalidParam("strategy", "strategy must be weighted, least-outstanding or lowest-latency")
	}
	g.CreatedAt = s.now().UTC()
	return &g, nil
}

func (s *Server) saveGroup(w http.ResponseWriter, r *http.Request, g *llmservice.ModelGroup, status int) error {
	if !teamIDPattern.MatchString(g.Name) {
		return llmservice.InvalidParam("name", "name must be 1-64 letters, digits, '.', '_' or '-'")
	}
	if err := s.cfg.Stores.Groups.UpsertModelGroup(r.Context(), g); err != nil {
		return err
	}
	if err := s.cfg.Gateway.ReloadCatalog(r.Context()); err != nil {
		return err
	}
	return httpx.WriteJSON(w, status, g)
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := s.decodeGroup(w, r)
	if err != nil {
		return err
	}
	if _, err := s.cfg.Stores.Groups.FindModelGroup(r.Context(), g.Name); err == nil {
		return &llmservice.Error{Kind: llmservice.Conflict, Param: "name", Message: "model group '" + g.Name + "' already exists; use PUT /admin/model-groups/" + g.Name + " to replace it"}
	}
	return s.saveGroup(w, r, g, http.StatusCreated)
}

func (s *Server) putGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := s.decodeGroup(w, r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if g.Name != "" && g.Name != name {
		return llmservice.InvalidParam("name", "name in the body (%q) differs from the path (%q)", g.Name, name)
	}
	g.Name = name
	return s.saveGroup(w, r, g, http.StatusOK)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := s.cfg.Stores.Groups.FindModelGroup(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, g)
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) error {
	gs, err := s.cfg.Stores.Groups.FindModelGroups(r.Context())
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, newList(gs))
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := s.cfg.Stores.Groups.DeleteModelGroup(r.Context(), name); err != nil {
		return err
	}
	if err := s.cfg.Gateway.ReloadCatalog(r.Context()); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"name": name, "deleted": true})
}
