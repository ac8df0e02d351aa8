package llmservice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Key is a virtual API key. The plaintext key and secret are shown once at
// creation; only their SHA-256 hashes are stored. A fast hash is enough here
// because keys carry 130 bits of randomness: there is nothing to brute-force,
// and the hot path looks a key up on every request.
type Key struct {
	ID         string   `json:"id"`
	TeamID     string   `json:"team_id"`
	Name       string   `json:"name,omitempty"`
	Prefix     string   `json:"prefix"` // first characters of the key, for people to recognise it
	KeyHash    string   `json:"-"`
	SecretHash string   `json:"-"`
	Models     []string `json:"models,omitempty"` // allowlist of public model names; empty = all the team may use
	// IPAllowlist holds CIDRs (or single addresses) the key may be used
	// from; empty = anywhere.
	IPAllowlist []string `json:"ip_allowlist,omitempty"`
	Limits
	// Cache switches the response cache on for the key's calls (nil: the
	// team's policy).
	Cache *CachePolicy `json:"cache,omitempty"`
	// ModelLimits overrides RPM/TPM for one model (a key+model pair).
	ModelLimits map[string]ModelLimit `json:"model_limits,omitempty"`
	ExpiresAt   *time.Time            `json:"expires_at,omitempty"`
	RevokedAt   *time.Time            `json:"revoked_at,omitempty"`
	CreatedAt   time.Time             `json:"created_at"`
}

// Active reports whether k may authenticate at now.
func (k *Key) Active(now time.Time) bool {
	if k.RevokedAt != nil {
		return false
	}
	return k.ExpiresAt == nil || now.Before(*k.ExpiresAt)
}

// HashSecret returns the hex SHA-256 of a key or secret, the only form stored.
func HashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// KeyFilter selects keys; empty fields match everything.
type KeyFilter struct {
	TeamID string
}

// KeyStore persists keys.
type KeyStore interface {
	// CreateKey inserts k. Conflict if the ID or hash exists; NotFound if the team does not.
	CreateKey(ctx context.Context, k *Key) error
	// FindKeyByHash returns NotFound when no key has that hash (revoked keys are returned).
	FindKeyByHash(ctx context.Context, hash string) (*Key, error)
	FindKeyByID(ctx context.Context, id string) (*Key, error)
	FindKeys(ctx context.Context, f KeyFilter) ([]*Key, error)
	// UpdateKey applies fn to the stored key and saves it in one transaction.
	// fn must not change ID, TeamID or the hashes. NotFound when absent.
	UpdateKey(ctx context.Context, id string, fn func(*Key) error) (*Key, error)
	// RevokeKey marks the key revoked at now. NotFound when absent.
	RevokeKey(ctx context.Context, id string, now time.Time) error
}

// ModelLimit is a per-model rate limit.
type ModelLimit struct {
	RPM int64 `json:"rpm,omitempty"`
	TPM int64 `json:"tpm,omitempty"`
}
