package main

import "github.com/llmservice/llmservice/internal/dialect/athena"

// Athena's API: /api/v1/chat/completions, /api/v1/conversations...,
// /api/v1/models, /api/v1/usage, and GraphQL on /graphql (POST) with its
// playground (GET). Conversations live in the main database; usage reports
// read the ledger after writing what the meter still buffers.
func init() {
	dialectBuilders = append(dialectBuilders, func(d *deps) (registrar, error) {
		return &athena.Handler{
			GW:        d.Gateway,
			Store:     d.DB,
			Usage:     d.DB,
			Flush:     d.Meter.Flush,
			Log:       d.Logger,
			BodyLimit: d.Config.BodyLimit,
		}, nil
	})
}
