package server

import (
	"net"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
)

// optional distinguishes a field left out of a PATCH (Set false) from one
// sent as null (Set true, Null true), which clears it.
type optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

func (o *optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	// Strict, so that an unknown field inside (model_limits' entries) is
	// refused like one at the top.
	return httpx.StrictRaw(b, &o.Value)
}

// limitsPatch is the part of a PATCH shared by teams and keys.
type limitsPatch struct {
	RPM          optional[int64]   `json:"rpm"`
	TPM          optional[int64]   `json:"tpm"`
	MaxBudgetUSD optional[float64] `json:"max_budget_usd"`
	BudgetPeriod optional[string]  `json:"budget_period"`
}

// maxPerMinute bounds rpm and tpm: the limiter counts in nanoseconds and
// cannot hold more than one unit per nanosecond, and a billion a minute is
// far beyond any real limit.
const maxPerMinute = 1_000_000_000

// checkRate validates one per-minute limit.
func checkRate(param string, v int64) error {
	if v < 0 || v > maxPerMinute {
		return llmservice.InvalidParam(param, "%s must be between 0 (no limit) and %d", param, maxPerMinute)
	}
	return nil
}

func (p *limitsPatch) apply(l *llmservice.Limits) error {
	if p.RPM.Set {
		if err := checkRate("rpm", p.RPM.Value); err != nil {
			return err
		}
		l.RPM = p.RPM.Value
	}
	if p.TPM.Set {
		if err := checkRate("tpm", p.TPM.Value); err != nil {
			return err
		}
		l.TPM = p.TPM.Value
	}
	if p.MaxBudgetUSD.Set {
		if p.MaxBudgetUSD.Null {
			l.MaxBudgetUSD = nil
		} else {
			if p.MaxBudgetUSD.Value < 0 {
				return llmservice.InvalidParam("max_budget_usd", "max_budget_usd must not be negative")
			}
			v := p.MaxBudgetUSD.Value
			l.MaxBudgetUSD = &v
		}
	}
	if p.BudgetPeriod.Set {
		switch p.BudgetPeriod.Value {
		case "", "daily", "weekly", "monthly":
			l.BudgetPeriod = p.BudgetPeriod.Value
		default:
			return llmservice.InvalidParam("budget_period", "budget_period must be daily, weekly, monthly or empty")
		}
	}
	return nil
}

// teamPatch is the body of PATCH /admin/teams/{id} (and the optional fields of POST).
type teamPatch struct {
	Name        optional[string]   `json:"name"`
	Models      optional[[]string] `json:"models"`
	ModelGroups optional[[]string] `json:"model_groups"`
	LogBodies   optional[string]   `json:"log_bodies"`
	cachePatch
	limitsPatch
}

func (p *teamPatch) apply(t *llmservice.Team) error {
	if p.Name.Set && !p.Name.Null {
		if p.Name.Value == "" {
			return llmservice.InvalidParam("name", "name must not be empty")
		}
		t.Name = p.Name.Value
	}
	if p.Models.Set {
		t.Models = p.Models.Value
	}
	if p.ModelGroups.Set {
		t.ModelGroups = p.ModelGroups.Value
	}
	if p.LogBodies.Set {
		switch p.LogBodies.Value {
		case llmservice.LogBodiesDefault, llmservice.LogBodiesOff, llmservice.LogBodiesFull, llmservice.LogBodiesRedacted:
			t.LogBodies = p.LogBodies.Value
		default:
			return llmservice.InvalidParam("log_bodies", "log_bodies must be off, full or redacted")
		}
	}
	if err := p.cachePatch.apply(&t.Cache); err != nil {
		return err
	}
	return p.limitsPatch.apply(&t.Limits)
}

// keyPatch is the body of PATCH /admin/keys/{id} (and the optional fields of POST).
type keyPatch struct {
	Name        optional[string]                           `json:"name"`
	Models      optional[[]string]                         `json:"models"`
	ExpiresAt   optional[time.Time]                        `json:"expires_at"`
	IPAllowlist optional[[]string]                         `json:"ip_allowlist"`
	ModelLimits optional[map[string]llmservice.ModelLimit] `json:"model_limits"`
	cachePatch
	limitsPatch
}

func (p *keyPatch) apply(k *llmservice.Key, now time.Time) error {
	if p.Name.Set {
		k.Name = p.Name.Value
	}
	if p.Models.Set {
		k.Models = p.Models.Value
	}
	if p.ExpiresAt.Set {
		if p.ExpiresAt.Null {
			k.ExpiresAt = nil
		} else {
			if !p.ExpiresAt.Value.After(now) {
				return llmservice.InvalidParam("expires_at", "expires_at must be in the future")
			}
			v := p.ExpiresAt.Value
			k.ExpiresAt = &v
		}
	}
	if p.IPAllowlist.Set {
		for i, c := range p.IPAllowlist.Value {
			if err := checkCIDR(c); err != nil {
				return llmservice.InvalidParam("ip_allowlist", "ip_allowlist[%d]: %q is not an IP address or CIDR", i, c)
			}
		}
		k.IPAllowlist = p.IPAllowlist.Value
	}
	if p.ModelLimits.Set {
		for m, l := range p.ModelLimits.Value {
			if checkRate("rpm", l.RPM) != nil || checkRate("tpm", l.TPM) != nil {
				return llmservice.InvalidParam("model_limits", "model_limits[%q]: rpm and tpm must be between 0 and %d", m, maxPerMinute)
			}
		}
		k.ModelLimits = p.ModelLimits.Value
	}
	if err := p.cachePatch.apply(&k.Cache); err != nil {
		return err
	}
	return p.limitsPatch.apply(&k.Limits)
}

func checkCIDR(s string) error {
	if strings.Contains(s, "/") {
		_, _, err := net.ParseCIDR(s)
		return err
	}
	if net.ParseIP(s) == nil {
		return &net.ParseError{Type: "IP address", Text: s}
	}
	return nil
}
