package server

import (
	"net/http"
	"regexp"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
)

// teamIDPattern keeps team IDs safe in URLs and log lines.
var teamIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

type list[T any] struct {
	Object string `json:"object"`
	Data   []T    `json:"data"`
}

func newList[T any](items []T) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Object: "list", Data: items}
}

func (s *Server) createTeam(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ID     string   `json:"id"`
		Name   string   `json:"name"`
		Models []string `json:"models"`
	}
	if err := httpx.DecodeJSON(w, r, s.cfg.BodyLimit, &in); err != nil {
		return err
	}
	if in.ID == "" {
		in.ID = gateway.NewID("team_")
	}
	if !teamIDPattern.MatchString(in.ID) {
		return llmservice.InvalidParam("id", "id must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if in.Name == "" {
		in.Name = in.ID
	}
	t := &llmservice.Team{ID: in.ID, Name: in.Name, Models: in.Models, CreatedAt: s.now().UTC()}
	if err := s.cfg.Stores.Teams.CreateTeam(r.Context(), t); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusCreated, t)
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.cfg.Stores.Teams.FindTeams(r.Context())
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, newList(ts))
}

func (s *Server) getTeam(w http.ResponseWriter, r *http.Request) error {
	t, err := s.cfg.Stores.Teams.FindTeamByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, t)
}

func (s *Server) updateTeam(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name   *string   `json:"name"`
		Models *[]string `json:"models"`
	}
	if err := httpx.DecodeJSON(w, r, s.cfg.BodyLimit, &in); err != nil {
		return err
	}
	id := r.PathValue("id")
	t, err := s.cfg.Stores.Teams.UpdateTeam(r.Context(), id, llmservice.TeamUpdate{Name: in.Name, Models: in.Models})
	if err != nil {
		return err
	}
	s.cfg.Gateway.InvalidateTeam(id)
	return httpx.WriteJSON(w, http.StatusOK, t)
}

func (s *Server) deleteTeam(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.cfg.Stores.Teams.DeleteTeam(r.Context(), id); err != nil {
		return err
	}
	s.cfg.Gateway.InvalidateTeam(id)
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "deleted": true})
}
