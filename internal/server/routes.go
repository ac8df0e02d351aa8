package server

// routes lists the whole API surface.
func (s *Server) routes() {
	m := s.mux
	m.Handle("GET /healthz", s.handle(s.healthz))
	m.Handle("GET /readyz", s.handle(s.readyz))

	// OpenAI-compatible API, and Anthropic's Messages API (which shares
	// GET /v1/models: see dopenai.Handler.ModelsBy).
	s.openai.Register(m)
	s.anthropic.Register(m)
	s.responses.Register(m)
	s.gemini.Register(m) // shares GET /v1/models too, by x-goog-api-key

	// Admin API.
	m.Handle("POST /admin/teams", s.admin(s.createTeam))
	m.Handle("GET /admin/teams", s.admin(s.listTeams))
	m.Handle("GET /admin/teams/{id}", s.admin(s.getTeam))
	m.Handle("PATCH /admin/teams/{id}", s.admin(s.updateTeam))
	m.Handle("DELETE /admin/teams/{id}", s.admin(s.deleteTeam))
	m.Handle("POST /admin/teams/{id}/credits", s.admin(s.addCredits))
	m.Handle("GET /admin/teams/{id}/credits", s.admin(s.listCredits))
	m.Handle("GET /admin/teams/{id}/budget", s.admin(s.teamBudget))
	m.Handle("DELETE /admin/teams/{id}/cache", s.admin(s.purgeCache))
	m.Handle("DELETE /admin/cache", s.admin(s.purgeCache))
	m.Handle("POST /admin/keys", s.admin(s.createKey))
	m.Handle("GET /admin/keys", s.admin(s.listKeys))
	m.Handle("GET /admin/keys/{id}", s.admin(s.getKey))
	m.Handle("PATCH /admin/keys/{id}", s.admin(s.updateKey))
	m.Handle("DELETE /admin/keys/{id}", s.admin(s.revokeKey))
	m.Handle("POST /admin/models", s.admin(s.upsertModel))
	m.Handle("GET /admin/models", s.admin(s.listModels))
	m.Handle("PATCH /admin/models/{name...}", s.admin(s.patchModel))
	m.Handle("DELETE /admin/models/{name...}", s.admin(s.deleteModel))
	m.Handle("POST /admin/model-groups", s.admin(s.createGroup))
	m.Handle("GET /admin/model-groups", s.admin(s.listGroups))
	m.Handle("GET /admin/model-groups/{name}", s.admin(s.getGroup))
	m.Handle("PUT /admin/model-groups/{name}", s.admin(s.putGroup))
	m.Handle("DELETE /admin/model-groups/{name}", s.admin(s.deleteGroup))
	m.Handle("GET /admin/usage", s.adminScoped(s.usage))
	m.Handle("GET /admin/deployments", s.admin(s.deployments))
	m.Handle("GET /admin/usage/series", s.adminScoped(s.series))
	m.Handle("GET /admin/logs", s.adminScoped(s.logs))
	m.Handle("GET /admin/batches", s.adminScoped(s.batches))
	m.Handle("GET /admin/batches/{id}", s.adminScoped(s.getBatch))
	m.Handle("POST /admin/batches/{id}/cancel", s.adminScoped(s.cancelBatch))
	m.Handle("GET /admin/qcompletions", s.adminScoped(s.queued))
	m.Handle("POST /admin/qcompletions/{id}/cancel", s.adminScoped(s.cancelQueued))

	// Self-service for a team's virtual keys: the same reads, confined
	// to the key's team (selfservice.go).
	m.Handle("GET /v1/usage", s.keyScoped(s.usage))
	m.Handle("GET /v1/usage/series", s.keyScoped(s.series))
	m.Handle("GET /v1/usage/logs", s.keyScoped(s.logs))
	m.Handle("GET /v1/team", s.keyScoped(s.ownTeam))
	m.Handle("GET /v1/team/batches", s.keyScoped(s.batches))
	m.Handle("GET /v1/team/batches/{id}", s.keyScoped(s.getBatch))
	m.Handle("POST /v1/team/batches/{id}/cancel", s.keyScoped(s.cancelBatch))
	m.Handle("GET /v1/team/qcompletions", s.keyScoped(s.queued))
	m.Handle("POST /v1/team/qcompletions/{id}/cancel", s.keyScoped(s.cancelQueued))

	// The dashboard (internal/ui).
	if s.cfg.UI != nil {
		m.Handle("GET /ui/", s.cfg.UI) // the mux redirects /ui here
	}
	if s.cfg.Metrics != nil {
		m.Handle("GET /metrics", s.cfg.Metrics)
	}

	// The seed services' APIs (Athena, the Django API, jobs, StackForDevs,
	// LlmEndpoint, batches), each from its own dialect package.
	for _, d := range s.cfg.Dialects {
		d.Register(m)
	}

	m.Handle("/", s.handle(s.notFound))
}
