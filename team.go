package llmservice

import (
	"context"
	"time"
)

// Team owns keys, usage and (in later features) budgets and credits. Every
// tenant-scoped record carries a TeamID, and no query crosses teams.
type Team struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Models    []string  `json:"models,omitempty"` // allowlist of public model names; empty = all
	CreatedAt time.Time `json:"created_at"`
}

// TeamUpdate carries the fields a PATCH may change; nil means unchanged.
type TeamUpdate struct {
	Name   *string
	Models *[]string
}

// TeamStore persists teams.
type TeamStore interface {
	// CreateTeam inserts t. Conflict if the ID is taken.
	CreateTeam(ctx context.Context, t *Team) error
	// FindTeamByID returns NotFound when there is no such team.
	FindTeamByID(ctx context.Context, id string) (*Team, error)
	FindTeams(ctx context.Context) ([]*Team, error)
	// UpdateTeam returns NotFound when there is no such team.
	UpdateTeam(ctx context.Context, id string, u TeamUpdate) (*Team, error)
	// DeleteTeam deletes the team and its keys; its usage records stay. NotFound when absent.
	DeleteTeam(ctx context.Context, id string) error
}
