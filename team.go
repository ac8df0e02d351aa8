package llmservice

import (
	"context"
	"time"
)

// Team owns keys, usage and (in later features) budgets and credits. Every
// tenant-scoped record carries a TeamID, and no query crosses teams.
type Team struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Models []string `json:"models,omitempty"` // allowlist of public model names; empty = all
	// ModelGroups limits the team to these model groups; empty = all.
	ModelGroups []string `json:"model_groups,omitempty"`
	// LogBodies says whether the team's prompts and responses are kept for
	// its logs: "", "off", "full" or "redacted".
	LogBodies string `json:"log_bodies,omitempty"`
	// Cache switches the response cache on for the team's calls (nil: off).
	Cache *CachePolicy `json:"cache,omitempty"`
	Limits
	// Credits is the team's balance, changed only through CreditStore.
	Credits   int64     `json:"credits"`
	CreatedAt time.Time `json:"created_at"`
}

// Limits are the rate limits and the budget a team or a key may carry.
// Zero means no limit of that kind (a configured default may still apply).
type Limits struct {
	RPM          int64    `json:"rpm,omitempty"`
	TPM          int64    `json:"tpm,omitempty"`
	MaxBudgetUSD *float64 `json:"max_budget_usd,omitempty"`
	// BudgetPeriod is "", "daily", "weekly" or "monthly" (UTC calendar
	// periods; weeks start on Monday). "" means the budget never resets.
	BudgetPeriod string `json:"budget_period,omitempty"`
}

// Body logging modes of a team (Team.LogBodies).
const (
	LogBodiesDefault  = ""         // the server's configured default
	LogBodiesOff      = "off"      // no prompt or response is kept
	LogBodiesFull     = "full"     // prompts and responses are kept as sent
	LogBodiesRedacted = "redacted" // kept with e-mail addresses, card and phone numbers and secrets masked
)

// TeamStore persists teams.
type TeamStore interface {
	// CreateTeam inserts t. Conflict if the ID is taken.
	CreateTeam(ctx context.Context, t *Team) error
	// FindTeamByID returns NotFound when there is no such team.
	FindTeamByID(ctx context.Context, id string) (*Team, error)
	FindTeams(ctx context.Context) ([]*Team, error)
	// UpdateTeam applies fn to the stored team and saves the result, all in
	// one transaction, so concurrent updates cannot undo each other. fn must
	// not change ID or Credits. NotFound when absent; fn's error is returned.
	UpdateTeam(ctx context.Context, id string, fn func(*Team) error) (*Team, error)
	// DeleteTeam deletes the team and its keys; its usage records stay. NotFound when absent.
	DeleteTeam(ctx context.Context, id string) error
}

// CreditMovement is one change of a team's credit balance.
type CreditMovement struct {
	ID           int64     `json:"id"`
	TeamID       string    `json:"team_id"`
	Amount       int64     `json:"amount"`
	BalanceAfter int64     `json:"balance_after"`
	Reason       string    `json:"reason"`
	Ref          string    `json:"ref,omitempty"`
	Time         time.Time `json:"time"`
}

// CreditStore keeps team balances and the ledger of every movement.
type CreditStore interface {
	// AddCredits changes the balance by amount (negative to spend) and records
	// the movement, atomically. PaymentRequired ("Insufficient credits") when
	// the balance would fall below zero; NotFound when the team is absent.
	AddCredits(ctx context.Context, teamID string, amount int64, reason, ref string) (balance int64, err error)
	// FindCreditMovements returns the newest movements first, at most limit.
	FindCreditMovements(ctx context.Context, teamID string, limit int) ([]*CreditMovement, error)
}

// ModelGroup is a named list of models tried in order: the primary first,
// then each fallback.
type ModelGroup struct {
	Name      string    `json:"name"`
	Models    []string  `json:"models"`
	Strategy  string    `json:"strategy,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// ModelGroupStore persists model groups.
type ModelGroupStore interface {
	// UpsertModelGroup creates or replaces g.
	UpsertModelGroup(ctx context.Context, g *ModelGroup) error
	// FindModelGroup returns NotFound when absent.
	FindModelGroup(ctx context.Context, name string) (*ModelGroup, error)
	FindModelGroups(ctx context.Context) ([]*ModelGroup, error)
	// DeleteModelGroup returns NotFound when absent.
	DeleteModelGroup(ctx context.Context, name string) error
}
