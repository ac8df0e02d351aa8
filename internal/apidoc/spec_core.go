package apidoc

var chatExample = map[string]any{"model": "mock/echo", "messages": []map[string]string{
	{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Hello!"}}}

func coreAPI() api {
	return api{Tag: "Operations", Description: "Health, metrics and this reference.", Error: "OpenAIError", Ops: []operation{
		{Method: "GET", Path: "/healthz", Summary: "Liveness: the process serves HTTP", Response: object("", "status*", str("ok")), ResponseType: jsonType},
		{Method: "GET", Path: "/readyz", Summary: "Readiness: 503 while shutting down or while the usage ledger can keep no more records", Response: object("", "status*", str("ok or unavailable"), "reason", str("Why the replica is not ready.")), ResponseType: jsonType},
		{Method: "GET", Path: "/metrics", Summary: "Prometheus metrics", Response: str("Prometheus text format."), ResponseType: textType},
		{Method: "GET", Path: "/openapi.json", Summary: "This OpenAPI document", Response: S{"type": "object"}},
		{Method: "GET", Path: "/docs", Summary: "Interactive API reference (this page)", Response: str("HTML page."), ResponseType: htmlType},
	}}
}

func openAIAPI() api {
	std := []int{400, 401, 403, 404, 429, 502, 503, 504}
	return api{Tag: "OpenAI-compatible", Error: "OpenAIError",
		Description: "The OpenAI API: point any OpenAI SDK at <base>/v1 with a virtual key.", Ops: []operation{
			{Method: "POST", Path: "/v1/chat/completions", Summary: "Create a chat completion", Auth: "bearer",
				Body: ref("ChatCompletionRequest"), Example: chatExample, Response: ref("ChatCompletion"),
				AltType: sseType, Alt: ref("ChatCompletionChunk"), Errors: std},
			{Method: "POST", Path: "/v1/completions", Auth: "bearer|sfd", Summary: "Create a completion (OpenAI legacy prompt, or StackForDevs messages)",
				Description: "With prompt (OpenAI's legacy form) the answer is a text_completion. With messages and StackForDevs' four headers " +
					"(x-api-key, x-secret-key, x-tenant-id, x-project-id) the answer is a chat.completion; with messages and a bearer key, a text_completion.",
				Body: ref("CompletionRequest"), Example: map[string]any{"model": "mock/echo", "messages": []map[string]string{
					{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Explain quantum computing in simple terms."}},
					"max_tokens": 500, "temperature": 0.7},
				Response: S{"oneOf": []S{ref("ChatCompletion"), ref("TextCompletion")}}, AltType: sseType, Alt: S{"type": "object"}, Errors: std},
			{Method: "POST", Path: "/v1/embeddings", Summary: "Create embeddings", Auth: "bearer", Body: ref("EmbeddingRequest"),
				Example: map[string]any{"model": "text-embedding-3-small", "input": "hello"}, Response: ref("EmbeddingResponse"), Errors: std},
			{Method: "GET", Path: "/v1/models", Summary: "List the models this key may use", Auth: "bearer", Response: ref("ModelList"), Errors: []int{401}},
			{Method: "GET", Path: "/v1/models/{model}", Summary: "Get one model", Auth: "bearer", Response: ref("Model"), Errors: []int{401, 404}},
		}}
}

func adminAPI() api {
	e := []int{400, 401, 404}
	list := ref("List")
	return api{Tag: "Admin", Error: "OpenAIError",
		Description: "Teams, keys, catalog, model groups, credits and usage. Authenticate with the admin key.", Ops: []operation{
			{Method: "POST", Path: "/admin/teams", Summary: "Create a team", Auth: "admin", Body: ref("TeamCreate"),
				Example: map[string]any{"id": "acme", "credits": 100000}, Status: 201, Response: ref("Team"), Errors: []int{400, 401, 409}},
			{Method: "GET", Path: "/admin/teams", Summary: "List teams", Auth: "admin", Response: list, Errors: []int{401}},
			{Method: "GET", Path: "/admin/teams/{id}", Summary: "Get a team", Auth: "admin", Response: ref("Team"), Errors: e},
			{Method: "PATCH", Path: "/admin/teams/{id}", Summary: "Change a team (limits, models, log_bodies, ...)", Auth: "admin",
				Body: ref("TeamPatch"), Example: map[string]any{"log_bodies": "full"}, Response: ref("Team"), Errors: e},
			{Method: "DELETE", Path: "/admin/teams/{id}", Summary: "Delete a team and its keys", Auth: "admin", Response: S{"type": "object"}, Errors: e},
			{Method: "DELETE", Path: "/admin/teams/{id}/cache", Summary: "Purge a team's response cache entries", Auth: "admin", Response: S{"type": "object"}, Errors: e},
			{Method: "DELETE", Path: "/admin/cache", Summary: "Purge every team's response cache entries", Auth: "admin", Response: S{"type": "object"}, Errors: e},
			{Method: "POST", Path: "/admin/teams/{id}/credits", Summary: "Add or remove credits", Auth: "admin", Body: ref("CreditAdd"),
				Example: map[string]any{"amount": 1000, "reason": "top-up"}, Response: S{"type": "object"}, Errors: e},
			{Method: "GET", Path: "/admin/teams/{id}/credits", Summary: "List credit movements", Auth: "admin", Response: list, Errors: e},
			{Method: "GET", Path: "/admin/teams/{id}/budget", Summary: "Budget state of a team", Auth: "admin", Response: S{"type": "object"}, Errors: e},
			{Method: "POST", Path: "/admin/keys", Summary: "Create a key (shows the key and its secret once)", Auth: "admin",
				Body: ref("KeyCreate"), Example: map[string]any{"team_id": "acme"}, Status: 201, Response: ref("KeyCreated"), Errors: e},
			{Method: "GET", Path: "/admin/keys", Summary: "List keys", Auth: "admin", Params: []param{query("team_id", "Only this team's keys.")}, Response: list, Errors: []int{401}},
			{Method: "GET", Path: "/admin/keys/{id}", Summary: "Get a key", Auth: "admin", Response: ref("Key"), Errors: e},
			{Method: "PATCH", Path: "/admin/keys/{id}", Summary: "Change a key (models, limits, IP allowlist, expiry)", Auth: "admin",
				Body: ref("KeyPatch"), Example: map[string]any{"ip_allowlist": []string{"10.0.0.0/8"}}, Response: ref("Key"), Errors: e},
			{Method: "DELETE", Path: "/admin/keys/{id}", Summary: "Revoke a key", Auth: "admin", Response: S{"type": "object"}, Errors: e},
			{Method: "POST", Path: "/admin/models", Summary: "Create or replace a catalog model", Auth: "admin", Body: ref("CatalogModel"),
				Example: map[string]any{"name": "gpt-4", "provider": "openai", "upstream_model": "gpt-4o-mini", "input_per_mtok": 0.15, "output_per_mtok": 0.6},
				Status:  201, Response: ref("CatalogModel"), Errors: []int{400, 401}},
			{Method: "GET", Path: "/admin/models", Summary: "List catalog models", Auth: "admin", Response: list, Errors: []int{401}},
			{Method: "PATCH", Path: "/admin/models/{name}", Summary: "Switch a catalog model's response cache on ({\"cache\": {\"ttl\": \"1h\"}}) or off ({\"cache\": null})", Auth: "admin",
				Body: object("", "cache", object("null: off.", "ttl*", str("A Go duration such as \"1h\"."))), Example: map[string]any{"cache": map[string]any{"ttl": "1h"}},
				Response: ref("CatalogModel"), Errors: e},
			{Method: "DELETE", Path: "/admin/models/{name}", Summary: "Delete a catalog model (the name may contain '/')", Auth: "admin", Response: S{"type": "object"}, Errors: e},
			{Method: "POST", Path: "/admin/model-groups", Summary: "Create a model group", Auth: "admin", Body: ref("ModelGroup"),
				Example: map[string]any{"name": "ResumeAgent", "models": []string{"gpt-4o-mini", "claude-3-5-haiku-latest"}}, Status: 201, Response: ref("ModelGroup"), Errors: []int{400, 401, 409}},
			{Method: "GET", Path: "/admin/model-groups", Summary: "List model groups", Auth: "admin", Response: list, Errors: []int{401}},
			{Method: "GET", Path: "/admin/model-groups/{name}", Summary: "Get a model group", Auth: "admin", Response: ref("ModelGroup"), Errors: e},
			{Method: "PUT", Path: "/admin/model-groups/{name}", Summary: "Replace a model group", Auth: "admin", Body: ref("ModelGroup"), Response: ref("ModelGroup"), Errors: e},
			{Method: "DELETE", Path: "/admin/model-groups/{name}", Summary: "Delete a model group", Auth: "admin", Response: S{"type": "object"}, Errors: e},
			{Method: "GET", Path: "/admin/usage", Summary: "Usage totals", Auth: "admin", Params: []param{
				query("team_id", "Only this team."), query("key_id", "Only this key."), query("project", "Only this project."),
				query("model", "Only this requested model."), query("from", "RFC 3339 time or YYYY-MM-DD (inclusive)."), query("to", "Exclusive end."),
				query("group_by", "model, key, project, team, day, provider or deployment (these two count attempts: a failed primary and the fallback that answered both show).")}, Response: object("", "object", str(""), "data", array(ref("UsageTotal")),
				"partial", boolean("True when the newest calls may be missing: the ledger could not be written within 1.5 s (a database outage).")),
				Errors: []int{400, 401, 503}},
			{Method: "GET", Path: "/admin/deployments", Summary: "Router state of every provider host", Auth: "admin", Response: list, Errors: []int{401}},
		}}
}
