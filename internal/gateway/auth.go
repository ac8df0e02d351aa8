package gateway

import (
	"context"
	"strings"

	"github.com/llmservice/llmservice"
)

// Principal is an authenticated caller: a key and the team that owns it.
type Principal struct {
	Key  *llmservice.Key
	Team *llmservice.Team
}

type principalEntry struct {
	p *Principal
}

// Authenticate resolves a bearer key. Keys are cached by hash so that the
// steady state reads no database; InvalidateKey and InvalidateTeam drop
// entries when admins change them. Expiry is checked on every call.
func (g *Gateway) Authenticate(ctx context.Context, key string) (*Principal, error) {
	if key == "" {
		return nil, llmservice.Errorf(llmservice.Unauthenticated, "missing API key")
	}
	hash := llmservice.HashSecret(key)
	var p *Principal
	if e, ok := g.keys.Load(hash); ok {
		p = e.(*principalEntry).p
	} else {
		k, err := g.stores.Keys.FindKeyByHash(ctx, hash)
		if err != nil {
			if llmservice.ErrorKind(err) == llmservice.NotFound {
				return nil, invalidKey()
			}
			return nil, err
		}
		t, err := g.stores.Teams.FindTeamByID(ctx, k.TeamID)
		if err != nil {
			if llmservice.ErrorKind(err) == llmservice.NotFound {
				return nil, invalidKey()
			}
			return nil, err
		}
		p = &Principal{Key: k, Team: t}
		g.keys.Store(hash, &principalEntry{p: p})
	}
	if !p.Key.Active(g.now()) {
		if p.Key.RevokedAt != nil {
			return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Message: "API key has been revoked", Code: "invalid_api_key"}
		}
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Message: "API key has expired", Code: "invalid_api_key"}
	}
	return p, nil
}

// AuthenticateSecret checks a key and its secret together (StackForDevs
// style credentials).
func (g *Gateway) AuthenticateSecret(ctx context.Context, key, secret string) (*Principal, error) {
	p, err := g.Authenticate(ctx, key)
	if err != nil {
		return nil, err
	}
	if p.Key.SecretHash == "" || llmservice.HashSecret(secret) != p.Key.SecretHash {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Message: "invalid API key or secret", Code: "invalid_api_key"}
	}
	return p, nil
}

func invalidKey() error {
	return &llmservice.Error{Kind: llmservice.Unauthenticated, Message: "Incorrect API key provided", Code: "invalid_api_key"}
}

// InvalidateKey drops the cached principal of a key, so that a revocation
// applies to the very next request.
func (g *Gateway) InvalidateKey(hash string) { g.keys.Delete(hash) }

// InvalidateTeam drops every cached principal of a team.
func (g *Gateway) InvalidateTeam(teamID string) {
	g.keys.Range(func(k, v any) bool {
		if v.(*principalEntry).p.Team.ID == teamID {
			g.keys.Delete(k)
		}
		return true
	})
}

// allowed reports whether model is in list (empty list allows everything).
func allowed(list []string, model string) bool {
	if len(list) == 0 {
		return true
	}
	for _, m := range list {
		if m == model || m == "*" || (strings.HasSuffix(m, "/*") && strings.HasPrefix(model, m[:len(m)-1])) {
			return true
		}
	}
	return false
}

// CheckModel enforces the team's and the key's model allowlists.
func (p *Principal) CheckModel(model string) error {
	if !allowed(p.Team.Models, model) {
		return &llmservice.Error{Kind: llmservice.Forbidden, Param: "model", Code: "model_not_allowed",
			Message: "Team '" + p.Team.ID + "' does not have access to model '" + model + "'"}
	}
	if !allowed(p.Key.Models, model) {
		return &llmservice.Error{Kind: llmservice.Forbidden, Param: "model", Code: "model_not_allowed",
			Message: "This API key does not have access to model '" + model + "'"}
	}
	return nil
}
