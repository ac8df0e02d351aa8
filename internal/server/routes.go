package server

// routes lists the whole API surface.
func (s *Server) routes() {
	m := s.mux
	m.Handle("GET /healthz", s.handle(s.healthz))

	// OpenAI-compatible API.
	s.openai.Register(m)

	// Admin API.
	m.Handle("POST /admin/teams", s.admin(s.createTeam))
	m.Handle("GET /admin/teams", s.admin(s.listTeams))
	m.Handle("GET /admin/teams/{id}", s.admin(s.getTeam))
	m.Handle("PATCH /admin/teams/{id}", s.admin(s.updateTeam))
	m.Handle("DELETE /admin/teams/{id}", s.admin(s.deleteTeam))
	m.Handle("POST /admin/teams/{id}/credits", s.admin(s.addCredits))
	m.Handle("GET /admin/teams/{id}/credits", s.admin(s.listCredits))
	m.Handle("GET /admin/teams/{id}/budget", s.admin(s.teamBudget))
	m.Handle("POST /admin/keys", s.admin(s.createKey))
	m.Handle("GET /admin/keys", s.admin(s.listKeys))
	m.Handle("GET /admin/keys/{id}", s.admin(s.getKey))
	m.Handle("PATCH /admin/keys/{id}", s.admin(s.updateKey))
	m.Handle("DELETE /admin/keys/{id}", s.admin(s.revokeKey))
	m.Handle("POST /admin/models", s.admin(s.upsertModel))
	m.Handle("GET /admin/models", s.admin(s.listModels))
	m.Handle("DELETE /admin/models/{name...}", s.admin(s.deleteModel))
	m.Handle("POST /admin/model-groups", s.admin(s.createGroup))
	m.Handle("GET /admin/model-groups", s.admin(s.listGroups))
	m.Handle("GET /admin/model-groups/{name}", s.admin(s.getGroup))
	m.Handle("PUT /admin/model-groups/{name}", s.admin(s.putGroup))
	m.Handle("DELETE /admin/model-groups/{name}", s.admin(s.deleteGroup))
	m.Handle("GET /admin/usage", s.admin(s.usage))
	m.Handle("GET /admin/deployments", s.admin(s.deployments))
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
