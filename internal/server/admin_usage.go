package server

import (
	"net/http"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
)

// parseTime accepts RFC 3339 or a bare date (UTC midnight).
func parseTime(param, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	return time.Time{}, llmservice.InvalidParam(param, "%s must be an RFC 3339 time or a date (YYYY-MM-DD), got %q", param, v)
}

// usageGroups are the group_by values of the usage totals.
var usageGroups = map[string]bool{"": true, "model": true, "key": true, "project": true, "team": true, "day": true}

// usageFilter reads the parameters shared by the usage endpoints: the
// scope's team, key_id, project, model, from and to.
func usageFilter(r *http.Request, sc scope) (llmservice.UsageFilter, error) {
	q := r.URL.Query()
	f := llmservice.UsageFilter{TeamID: sc.team, KeyID: q.Get("key_id"), Project: q.Get("project"), Model: q.Get("model")}
	var err error
	if f.From, err = parseTime("from", q.Get("from")); err != nil {
		return f, err
	}
	if f.To, err = parseTime("to", q.Get("to")); err != nil {
		return f, err
	}
	return f, nil
}

// usage is GET /admin/usage and, for a team's own keys, GET /v1/usage:
// totals, or totals per model, key, project, team or day.
func (s *Server) usage(w http.ResponseWriter, r *http.Request, sc scope) error {
	f, err := usageFilter(r, sc)
	if err != nil {
		return err
	}
	f.GroupBy = r.URL.Query().Get("group_by")
	if !usageGroups[f.GroupBy] && !attemptGroups[f.GroupBy] {
		return llmservice.InvalidParam("group_by", "group_by must be model, key, project, team, day, provider or deployment")
	}
	// Totals include calls still in the meter's buffer when it can write
	// them promptly; otherwise they are what is written, marked partial.
	partial := s.flushUsage(r.Context())
	if attemptGroups[f.GroupBy] {
		totals, truncated, err := s.attemptTotals(r.Context(), f)
		if err != nil {
			return err
		}
		return httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "usage", "team_id": sc.team, "group_by": f.GroupBy,
			"partial": partial, "truncated": truncated, "data": totals})
	}
	totals, err := s.cfg.Stores.Usage.SumUsage(r.Context(), f)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "usage", "team_id": sc.team, "group_by": f.GroupBy,
		"partial": partial, "data": totals})
}
