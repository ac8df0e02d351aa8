package llmservice

import (
	"context"
	"time"
)

// Model is a catalog entry: a public model name mapped to a provider instance
// and the model id that provider knows it by, with optional prices and limits.
type Model struct {
	Name          string   `json:"name"`
	Provider      string   `json:"provider"`
	UpstreamModel string   `json:"upstream_model,omitempty"`
	InputPerMTok  *float64 `json:"input_per_mtok,omitempty"`
	OutputPerMTok *float64 `json:"output_per_mtok,omitempty"`
	// CacheReadPerMTok and CacheWritePerMTok override the price of prompt
	// tokens read from the provider's prompt cache and written to it (the
	// 5-minute lifetime); unset, they come from the price table or the
	// provider family's multipliers of the input price.
	CacheReadPerMTok  *float64 `json:"cache_read_per_mtok,omitempty"`
	CacheWritePerMTok *float64 `json:"cache_write_per_mtok,omitempty"`
	RPM               int      `json:"rpm,omitempty"`
	TPM               int      `json:"tpm,omitempty"`
	ContextWindow     int      `json:"context_window,omitempty"`
	// Deployments, when set, serve the model instead of Provider and
	// UpstreamModel alone: several providers or hosts share its traffic.
	Deployments []Deployment `json:"deployments,omitempty"`
	// Strategy picks among deployments: weighted (default),
	// least-outstanding or lowest-latency.
	Strategy string `json:"strategy,omitempty"`
	// Cache switches the response cache on for the model's calls when
	// neither the caller's key nor its team has a policy (nil: off).
	Cache     *CachePolicy `json:"cache,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
}

// Deployment is one place a catalog model is served.
type Deployment struct {
	Provider      string `json:"provider"`
	UpstreamModel string `json:"upstream_model,omitempty"`
	Weight        int    `json:"weight,omitempty"`
	Priority      int    `json:"priority,omitempty"`
}

// Upstream returns the model id to send upstream.
func (m *Model) Upstream() string {
	if m.UpstreamModel != "" {
		return m.UpstreamModel
	}
	return m.Name
}

// CatalogStore persists catalog entries.
type CatalogStore interface {
	// UpsertModel creates or replaces the entry named m.Name.
	UpsertModel(ctx context.Context, m *Model) error
	FindModels(ctx context.Context) ([]*Model, error)
	// DeleteModel returns NotFound when absent.
	DeleteModel(ctx context.Context, name string) error
}

// SettingStore keeps small named values the server generates once, such as
// the admin key's hash.
type SettingStore interface {
	// Setting returns NotFound when the setting was never set.
	Setting(ctx context.Context, name string) (string, error)
	// SetSettingIfAbsent stores value unless name is set, and returns the value
	// now stored, so that two processes starting at once agree.
	SetSettingIfAbsent(ctx context.Context, name, value string) (string, error)
}
