package main

import "github.com/llmservice/llmservice/internal/dialect/jobs"

// The jobs API (/api/jobs/...): jobs, their LLM calls and credits.
func init() {
	dialectBuilders = append(dialectBuilders, func(d *deps) (registrar, error) {
		return &jobs.Handler{GW: d.Gateway, Jobs: d.DB, Log: d.Logger, BodyLimit: d.Config.BodyLimit}, nil
	})
}
