package server

import (
	"context"
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
)

// The dashboard's reads are served twice: under /admin for the admin key,
// over any team or every team, and under /v1 for a team's own virtual
// keys, confined to that team (self-service: its usage, logs, budget,
// credits, keys shown by prefix, and its batches). One handler serves both;
// the route decides the scope.

// scope is whose data a dashboard request may read.
type scope struct {
	admin bool
	// team is the team to read; "" is every team (the admin only).
	team string
	// principal is the key holder (nil for the admin).
	principal *gateway.Principal
}

type scopedFunc func(w http.ResponseWriter, r *http.Request, sc scope) error

// adminScoped serves fn to the admin key, for the team of the team_id
// parameter or, without one, for every team.
func (s *Server) adminScoped(fn scopedFunc) http.Handler {
	return s.admin(func(w http.ResponseWriter, r *http.Request) error {
		return fn(w, r, scope{admin: true, team: r.URL.Query().Get("team_id")})
	})
}

// keyScoped serves fn to a team's virtual key, for that team alone: a
// team_id parameter naming another team is refused, whether it exists or
// not, so the answer tells nothing about other teams.
func (s *Server) keyScoped(fn scopedFunc) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.keyHolder(r)
		if err != nil {
			return err
		}
		if t := r.URL.Query().Get("team_id"); t != "" && t != p.Team.ID {
			return &llmservice.Error{Kind: llmservice.Forbidden, Param: "team_id", Code: "team_not_allowed",
				Message: "this key may only read its own team's data"}
		}
		return fn(w, r, scope{team: p.Team.ID, principal: p})
	})
}

// keyHolder authenticates a virtual key (Authenticate checks its IP
// allowlist).
func (s *Server) keyHolder(r *http.Request) (*gateway.Principal, error) {
	tok := httpx.BearerToken(r)
	if tok == "" {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "invalid_api_key",
			Message: "You didn't provide an API key. Provide it in the Authorization header as 'Bearer <key>'."}
	}
	return s.cfg.Gateway.Authenticate(r.Context(), tok)
}

// flushUsage writes what the meter still buffers, so that a dashboard
// shows the calls made a moment ago.
// It waits at most gateway.UsageFlushWait, so that a database outage
// cannot hold a read, and reports whether the read may miss records.
func (s *Server) flushUsage(ctx context.Context) (partial bool) {
	if s.cfg.Meter == nil {
		return false
	}
	return gateway.FlushUsage(ctx, s.cfg.Meter.Flush)
}

// teamView is GET /v1/team: everything a team's key holder may see of the
// team in one answer.
type teamView struct {
	Team    *llmservice.Team             `json:"team"`
	Budget  *gateway.BudgetView          `json:"budget"`
	Keys    []*llmservice.Key            `json:"keys"`
	Credits []*llmservice.CreditMovement `json:"credit_movements"`
}

// ownTeam answers GET /v1/team. Keys show their prefix only: their
// secrets exist nowhere but with whoever created them.
func (s *Server) ownTeam(w http.ResponseWriter, r *http.Request, sc scope) error {
	ctx := r.Context()
	t, err := s.cfg.Stores.Teams.FindTeamByID(ctx, sc.team)
	if err != nil {
		return err
	}
	v := teamView{Team: t}
	if v.Budget, err = s.cfg.Gateway.TeamBudget(ctx, t); err != nil {
		return err
	}
	if v.Keys, err = s.cfg.Stores.Keys.FindKeys(ctx, llmservice.KeyFilter{TeamID: t.ID}); err != nil {
		return err
	}
	if v.Credits, err = s.cfg.Stores.Credits.FindCreditMovements(ctx, t.ID, 20); err != nil {
		return err
	}
	if v.Keys == nil {
		v.Keys = []*llmservice.Key{}
	}
	if v.Credits == nil {
		v.Credits = []*llmservice.CreditMovement{}
	}
	return httpx.WriteJSON(w, http.StatusOK, v)
}
