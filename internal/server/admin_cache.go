package server

import (
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
)

// purgeCache is DELETE /admin/cache (every team's response cache entries)
// and DELETE /admin/teams/{id}/cache (one team's).
func (s *Server) purgeCache(w http.ResponseWriter, r *http.Request) error {
	team := r.PathValue("id")
	if team != "" {
		if _, err := s.cfg.Stores.Teams.FindTeamByID(r.Context(), team); err != nil {
			return err
		}
	}
	n, err := s.cfg.Gateway.PurgeCache(r.Context(), team)
	if err != nil {
		return llmservice.Errorf(llmservice.Unavailable, "purge the response cache: %v", err)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "cache.purge", "team_id": team, "deleted": n})
}
