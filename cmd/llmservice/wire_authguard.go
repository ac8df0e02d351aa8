package main

import (
	"github.com/llmservice/llmservice/internal/authguard"
	"github.com/llmservice/llmservice/internal/config"
)

// defaultAuthFailures is LLMSERVICE_AUTH_FAILURES_PER_MINUTE's default.
const defaultAuthFailures = 20

// authGuards returns the throttles of failed authentications: per client
// address (the setting) and per Django username (half of it, at least 1).
// -1 turns both off.
func authGuards(cfg config.Config) (perAddress, perUser *authguard.Guard) {
	n := cfg.AuthFailuresPerMinute
	switch {
	case n < 0:
		return nil, nil
	case n == 0:
		n = defaultAuthFailures
	}
	return authguard.New(n, nil), authguard.New(max(1, n/2), nil)
}
