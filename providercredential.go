package llmservice

import (
	"context"
	"time"
)

// Provider families a team may bring its own key for (StackForDevs'
// providerType values).
const (
	CredentialOpenAI    = "openai"
	CredentialAnthropic = "anthropic"
)

// ProviderCredential is a team's own API key for an upstream provider
// ("bring your own key"): that team's calls to the provider are made, and
// billed upstream, with it. The store only ever holds the key sealed; the
// plaintext exists in memory while a call is made with it.
type ProviderCredential struct {
	TeamID       string
	ProviderType string // CredentialOpenAI or CredentialAnthropic
	// Ciphertext is the sealed key (nonce and AES-GCM output); only the
	// process holding the encryption key can open it.
	Ciphertext []byte
	// Hint is the masked key shown in listings, such as "sk-...abcd".
	Hint      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ProviderCredentialStore keeps teams' provider credentials. Every method is
// scoped by team: no call can read or change another team's credential.
type ProviderCredentialStore interface {
	// UpsertProviderCredential creates or replaces the team's credential for
	// c.ProviderType, keeping the first CreatedAt. NotFound when the team
	// does not exist.
	UpsertProviderCredential(ctx context.Context, c *ProviderCredential) error
	// FindProviderCredential returns NotFound when the team has none for
	// that provider.
	FindProviderCredential(ctx context.Context, teamID, providerType string) (*ProviderCredential, error)
	// FindProviderCredentials lists the team's credentials by provider type.
	FindProviderCredentials(ctx context.Context, teamID string) ([]*ProviderCredential, error)
	// DeleteProviderCredential returns NotFound when there is nothing to delete.
	DeleteProviderCredential(ctx context.Context, teamID, providerType string) error
}
