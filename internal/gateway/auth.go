package gateway

import (
	"context"
	"crypto/subtle"
	"net/netip"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
)

// Principal is an authenticated caller: a key and the team that owns it.
type Principal struct {
	Key  *llmservice.Key
	Team *llmservice.Team
	// allow is the key's parsed IP allowlist (nil: anywhere).
	allow []netip.Prefix
	// limits are the key's and team's rate limit rules and budget scopes,
	// built when the principal is loaded (nil: build them per call).
	limits *principalLimits
}

// Authenticate resolves a bearer key. Keys are cached by hash so that the
// steady state reads no database; InvalidateKey and InvalidateTeam drop
// entries when admins change them, and while the database is unavailable a
// known key is served from its last good copy (see stale.go). Expiry is
// checked on every call, and so is the key's IP allowlist against the
// client address in ctx (httpx.WithClientIP): every API authenticates
// here, so none can forget it.
func (g *Gateway) Authenticate(ctx context.Context, key string) (*Principal, error) {
	p, err := g.authenticate(ctx, key)
	if err != nil {
		return nil, err
	}
	if err := p.CheckIP(httpx.ClientIP(ctx)); err != nil {
		return nil, err
	}
	return p, nil
}

// authenticate is Authenticate without the IP allowlist, which
// AuthenticateSecret checks only once the secret is right (a wrong secret
// must not learn that the key is real).
func (g *Gateway) authenticate(ctx context.Context, key string) (*Principal, error) {
	if key == "" {
		return nil, llmservice.Errorf(llmservice.Unauthenticated, "missing API key")
	}
	if g.tokens != nil && strings.Count(key, ".") == 2 && !strings.HasPrefix(key, "sk-") {
		return g.authenticateToken(ctx, key)
	}
	hash := llmservice.HashSecret(key)
	if g.unknown.has(hash, g.now()) {
		return nil, invalidKey()
	}
	p, err := g.principal(ctx, hash, func(ctx context.Context) (*llmservice.Key, error) {
		return g.stores.Keys.FindKeyByHash(ctx, hash)
	})
	if err != nil {
		if llmservice.ErrorKind(err) == llmservice.Unauthenticated {
			g.unknown.add(hash, g.now())
		}
		return nil, err
	}
	if !p.Key.Active(g.now()) {
		if p.Key.RevokedAt != nil {
			return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Message: "API key has been revoked", Code: "invalid_api_key"}
		}
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Message: "API key has expired", Code: "invalid_api_key"}
	}
	return p, nil
}

// authenticateToken verifies a JWT access token (every request: an HMAC
// check is cheap, and expiry must bite at once) and resolves the key it
// stands for through the same cache as bearer keys.
func (g *Gateway) authenticateToken(ctx context.Context, token string) (*Principal, error) {
	keyID, err := g.tokens.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	// A key's hash never changes, so the ID -> hash step is cached for good
	// and the steady state reads no database; the principal itself lives in
	// the same cache as bearer keys, dropped by InvalidateKey/Team.
	hash := ""
	if h, ok := g.keyHashes.Load(keyID); ok {
		hash = h.(string)
	}
	p, err := g.principal(ctx, hash, func(ctx context.Context) (*llmservice.Key, error) {
		return g.stores.Keys.FindKeyByID(ctx, keyID)
	})
	if err != nil {
		return nil, err
	}
	if hash == "" {
		g.keyHashes.Store(keyID, p.Key.KeyHash)
	}
	if !p.Key.Active(g.now()) {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Message: "token's key is no longer valid", Code: "invalid_api_key"}
	}
	return p, nil
}

// parseAllowlist reads CIDRs and bare addresses; the admin API validated
// them, so an unreadable entry (from an older version) is skipped.
func parseAllowlist(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	if len(list) > 0 && len(out) == 0 {
		// A list that allows nothing must not turn into "anywhere".
		out = []netip.Prefix{}
	}
	return out
}

// CheckIP enforces the key's IP allowlist.
func (p *Principal) CheckIP(ip netip.Addr) error {
	if p.allow == nil {
		return nil
	}
	ip = ip.Unmap()
	for _, pr := range p.allow {
		if pr.Contains(ip) {
			return nil
		}
	}
	return &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "ip_not_allowed", Message: "Unauthorized IP address"}
}

// AuthenticateSecret checks a key and its secret together (StackForDevs
// style credentials).
func (g *Gateway) AuthenticateSecret(ctx context.Context, key, secret string) (*Principal, error) {
	p, err := g.authenticate(ctx, key)
	if err != nil {
		return nil, err
	}
	if p.Key.SecretHash == "" || subtle.ConstantTimeCompare([]byte(llmservice.HashSecret(secret)), []byte(p.Key.SecretHash)) != 1 {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Message: "invalid API key or secret", Code: "invalid_api_key"}
	}
	if err := p.CheckIP(httpx.ClientIP(ctx)); err != nil {
		return nil, err
	}
	return p, nil
}

func invalidKey() error {
	return &llmservice.Error{Kind: llmservice.Unauthenticated, Message: "Incorrect API key provided", Code: "invalid_api_key"}
}

// InvalidateKey drops the cached principal of a key on every replica, so
// that a revocation applies to the very next request.
func (g *Gateway) InvalidateKey(hash string) {
	g.unknown.forget(hash)
	g.dropKey(hash)
	g.announce("key:" + hash)
}

// InvalidateTeam drops every cached principal of a team on every replica.
func (g *Gateway) InvalidateTeam(teamID string) {
	g.dropTeam(teamID)
	g.announce("team:" + teamID)
}

func (g *Gateway) dropKey(hash string) {
	g.invalidations.Add(1)
	if v, ok := g.keys.LoadAndDelete(hash); ok && g.budgets != nil {
		g.budgets.Forget("key:" + v.(*principalEntry).p.Key.ID)
	}
}

func (g *Gateway) dropTeam(teamID string) {
	g.invalidations.Add(1)
	g.keys.Range(func(k, v any) bool {
		if v.(*principalEntry).p.Team.ID == teamID {
			g.keys.Delete(k)
		}
		return true
	})
	if g.budgets != nil {
		g.budgets.Forget("team:" + teamID)
	}
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

// checkAccess enforces the team's model and model-group permissions and the
// key's model allowlist for a resolved plan.
func (p *Principal) checkAccess(plan *Plan) error {
	name := plan.Public
	if plan.Group != nil {
		if len(p.Team.ModelGroups) > 0 && !allowed(p.Team.ModelGroups, name) {
			return &llmservice.Error{Kind: llmservice.Forbidden, Param: "model", Code: "model_group_not_allowed",
				Message: "Team '" + p.Team.ID + "' does not have access to model group '" + name + "'"}
		}
	} else {
		if len(p.Team.ModelGroups) > 0 && len(p.Team.Models) == 0 {
			// A team confined to model groups cannot name models directly,
			// or the confinement would be one request away from useless.
			return &llmservice.Error{Kind: llmservice.Forbidden, Param: "model", Code: "model_not_allowed",
				Message: "Team '" + p.Team.ID + "' may only use its model groups: " + strings.Join(p.Team.ModelGroups, ", ")}
		}
		if !allowed(p.Team.Models, name) {
			return &llmservice.Error{Kind: llmservice.Forbidden, Param: "model", Code: "model_not_allowed",
				Message: "Team '" + p.Team.ID + "' does not have access to model '" + name + "'"}
		}
	}
	if !allowed(p.Key.Models, name) {
		return &llmservice.Error{Kind: llmservice.Forbidden, Param: "model", Code: "model_not_allowed",
			Message: "This API key does not have access to model '" + name + "'"}
	}
	return nil
}
