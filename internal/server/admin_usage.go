package server

import (
	"context"
	"net/http"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
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

func (s *Server) usage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from, err := parseTime("from", q.Get("from"))
	if err != nil {
		return err
	}
	to, err := parseTime("to", q.Get("to"))
	if err != nil {
		return err
	}
	groupBy := q.Get("group_by")
	switch groupBy {
	case "", "model", "key", "day":
	default:
		return llmservice.InvalidParam("group_by", "group_by must be model, key or day")
	}
	// Totals include calls still in the meter's buffer when it can write
	// them promptly; otherwise they are what is written, marked partial.
	var flush func(context.Context) error
	if s.cfg.Meter != nil {
		flush = s.cfg.Meter.Flush
	}
	partial := gateway.FlushUsage(r.Context(), flush)
	totals, err := s.cfg.Stores.Usage.SumUsage(r.Context(), llmservice.UsageFilter{TeamID: q.Get("team_id"), From: from, To: to, GroupBy: groupBy})
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "usage", "team_id": q.Get("team_id"), "group_by": groupBy,
		"partial": partial, "data": totals})
}
