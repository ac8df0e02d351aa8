package main

import "github.com/llmservice/llmservice/internal/dialect/llmendpoint"

// LlmEndpoint's synchronous completions; its queued ones are built with the
// queue (wire_queue.go).
func init() {
	dialectBuilders = append(dialectBuilders, func(d *deps) (registrar, error) {
		return &llmendpoint.Handler{GW: d.Gateway, Credits: d.DB, Log: d.Logger, BodyLimit: d.Config.BodyLimit}, nil
	})
}
