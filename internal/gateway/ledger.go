package gateway

import (
	"errors"

	"github.com/llmservice/llmservice"
)

// LedgerGate is a Meter that can run out of room: its database and its
// journal both fail. Calls are refused meanwhile, since they could not be
// recorded (billed) if served.
type LedgerGate interface {
	Full() bool
}

// errLedgerFull marks the refusal of a call whose usage could not be kept.
var errLedgerFull = errors.New("usage ledger full")

// ledgerRefusal returns the 503 of a call made while the meter cannot keep
// usage records, and nil otherwise.
func (g *Gateway) ledgerRefusal() error {
	if lg, ok := g.meter.(LedgerGate); !ok || !lg.Full() {
		return nil
	}
	return &llmservice.Error{Kind: llmservice.Unavailable, Code: "usage_ledger_unavailable",
		Message: "The gateway cannot record usage right now (its database and its local journal both fail), so it takes no new calls; try again shortly",
		Err:     errLedgerFull}
}
