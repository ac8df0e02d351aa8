package storesql

import (
	"encoding/json"
	"fmt"

	"github.com/llmservice/llmservice"
)

// The columns of the core tables, in the order both stores insert and scan
// them; the two schemas name them alike.
const (
	TeamColumns = `id, name, models, policy, credits, created_at`
	KeyColumns  = `id, team_id, name, prefix, key_hash, secret_hash, models,
	expires_at, revoked_at, created_at, policy`
	ModelColumns = `name, provider, upstream_model, input_per_mtok, output_per_mtok,
	rpm, tpm, context_window, created_at, deployments, strategy, cache_read_per_mtok, cache_write_per_mtok`
)

// EncodeList stores a list as JSON text; nil and empty both become "[]".
func EncodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

// DecodeList reads a JSON list back; an empty list comes back nil, so that a
// round trip does not turn nil into []string{}.
func DecodeList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("decode list %q: %w", s, err)
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// teamPolicy is the JSON stored in teams.policy: limits, budgets and
// allowlists are read together on every cache miss and changed together, so
// they travel as one object and new knobs need no migration.
type teamPolicy struct {
	ModelGroups []string                `json:"model_groups,omitempty"`
	LogBodies   string                  `json:"log_bodies,omitempty"`
	Cache       *llmservice.CachePolicy `json:"cache,omitempty"`
	llmservice.Limits
}

// EncodeTeamPolicy returns the JSON stored in teams.policy for t.
func EncodeTeamPolicy(t *llmservice.Team) string {
	b, _ := json.Marshal(teamPolicy{ModelGroups: t.ModelGroups, LogBodies: t.LogBodies, Cache: t.Cache, Limits: t.Limits})
	return string(b)
}

// DecodeTeamPolicy sets t's policy fields from the JSON in teams.policy.
func DecodeTeamPolicy(s string, t *llmservice.Team) error {
	var p teamPolicy
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return fmt.Errorf("team %s: bad policy: %w", t.ID, err)
	}
	t.ModelGroups, t.LogBodies, t.Cache, t.Limits = p.ModelGroups, p.LogBodies, p.Cache, p.Limits
	return nil
}

// keyPolicy is the JSON stored in keys.policy.
type keyPolicy struct {
	IPAllowlist []string                         `json:"ip_allowlist,omitempty"`
	ModelLimits map[string]llmservice.ModelLimit `json:"model_limits,omitempty"`
	Cache       *llmservice.CachePolicy          `json:"cache,omitempty"`
	llmservice.Limits
}

// EncodeKeyPolicy returns the JSON stored in keys.policy for k.
func EncodeKeyPolicy(k *llmservice.Key) string {
	b, _ := json.Marshal(keyPolicy{IPAllowlist: k.IPAllowlist, ModelLimits: k.ModelLimits, Cache: k.Cache, Limits: k.Limits})
	return string(b)
}

// DecodeKeyPolicy sets k's policy fields from the JSON in keys.policy.
func DecodeKeyPolicy(s string, k *llmservice.Key) error {
	var p keyPolicy
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return fmt.Errorf("key %s: bad policy: %w", k.ID, err)
	}
	k.IPAllowlist, k.ModelLimits, k.Cache, k.Limits = p.IPAllowlist, p.ModelLimits, p.Cache, p.Limits
	return nil
}

// EncodeDeployments returns the JSON stored in models.deployments; nil and
// empty both become "[]".
func EncodeDeployments(ds []llmservice.Deployment) string {
	if len(ds) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ds)
	return string(b)
}

// DecodeDeployments reads models.deployments back into m.Deployments.
func DecodeDeployments(s string, m *llmservice.Model) error {
	if err := json.Unmarshal([]byte(s), &m.Deployments); err != nil {
		return fmt.Errorf("model %s: bad deployments: %w", m.Name, err)
	}
	return nil
}
