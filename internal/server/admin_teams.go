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
		ID string `json:"id"`
		teamPatch
		Credits int64 `json:"credits"`
	}
	if err := httpx.DecodeStrictJSON(w, r, s.cfg.BodyLimit, &in); err != nil {
		return err
	}
	if in.ID == "" {
		in.ID = gateway.NewID("team_")
	}
	if !teamIDPattern.MatchString(in.ID) {
		return llmservice.InvalidParam("id", "id must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if in.Credits < 0 {
		return llmservice.InvalidParam("credits", "credits must not be negative")
	}
	t := &llmservice.Team{ID: in.ID, Name: in.ID, CreatedAt: s.now().UTC()}
	if err := in.teamPatch.apply(t); err != nil {
		return err
	}
	if err := s.cfg.Stores.Teams.CreateTeam(r.Context(), t); err != nil {
		return err
	}
	if in.Credits > 0 {
		b, err := s.cfg.Stores.Credits.AddCredits(r.Context(), t.ID, in.Credits, "initial grant", "")
		if err != nil {
			return err
		}
		t.Credits = b
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
	var in teamPatch
	if err := httpx.DecodeStrictJSON(w, r, s.cfg.BodyLimit, &in); err != nil {
		return err
	}
	id := r.PathValue("id")
	t, err := s.cfg.Stores.Teams.UpdateTeam(r.Context(), id, in.apply)
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

func (s *Server) addCredits(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Amount *int64 `json:"amount"`
		Reason string `json:"reason"`
	}
	if err := httpx.DecodeStrictJSON(w, r, s.cfg.BodyLimit, &in); err != nil {
		return err
	}
	if in.Amount == nil || *in.Amount == 0 {
		return llmservice.InvalidParam("amount", "amount is required: a non-zero integer number of credits (negative to deduct)")
	}
	if in.Reason == "" {
		in.Reason = "admin"
	}
	id := r.PathValue("id")
	b, err := s.cfg.Stores.Credits.AddCredits(r.Context(), id, *in.Amount, in.Reason, "")
	if err != nil {
		return err
	}
	s.cfg.Gateway.InvalidateTeam(id)
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"team_id": id, "credits": b})
}

func (s *Server) listCredits(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.cfg.Stores.Teams.FindTeamByID(r.Context(), id); err != nil {
		return err
	}
	ms, err := s.cfg.Stores.Credits.FindCreditMovements(r.Context(), id, 1000)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, newList(ms))
}

func (s *Server) teamBudget(w http.ResponseWriter, r *http.Request) error {
	t, err := s.cfg.Stores.Teams.FindTeamByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := s.cfg.Gateway.TeamBudget(r.Context(), t)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, v)
}
