package apidoc

var sfdMessages = []map[string]string{{"role": "user", "content": "Summarize the latest AI trends."}}

func stackForDevsAPI() api {
	return api{Tag: "StackForDevs", Error: "StackForDevsError",
		Description: "StackForDevs' LLM Service API. Every request carries x-api-key and x-secret-key (from POST /admin/keys), " +
			"x-tenant-id (the key's team) and x-project-id (a label kept with each call). Completions are POST /v1/completions with messages (see OpenAI-compatible).",
		Ops: []operation{
			{Method: "POST", Path: "/v1/batch", Auth: "sfd", Summary: "Create a batch job", Body: ref("SFDBatchCreate"),
				Example: map[string]any{"requests": []map[string]any{{"custom_id": "request-1", "model": "mock/echo", "messages": sfdMessages}},
					"webhook_url": "https://yourapp.com/batch-complete"}, Status: 201, Response: ref("SFDBatch"), Errors: []int{400, 401}},
			{Method: "GET", Path: "/v1/batch", Auth: "sfd", Summary: "List batch jobs", Params: []param{
				query("status", "pending, processing, completed or failed."), query("limit", "Page size.")}, Response: ref("SFDBatchList"), Errors: []int{400, 401}},
			{Method: "GET", Path: "/v1/batch/{id}", Auth: "sfd", Summary: "Get a batch job", Response: ref("SFDBatch"), Errors: []int{401, 404}},
			{Method: "GET", Path: "/v1/batch/{id}/results", Auth: "sfd", Summary: "Get a batch's results (425 until it is done)",
				Response: ref("SFDBatchResults"), Errors: []int{401, 404, 425}},
			{Method: "POST", Path: "/v1/batch/{id}/cancel", Auth: "sfd", Summary: "Cancel a batch job (409 once finished)",
				Response: ref("SFDBatch"), Errors: []int{401, 404, 409}},
			{Method: "GET", Path: "/v1/batch/{id}/webhooks", Auth: "sfd", Summary: "Deliveries of a batch's webhook", Response: ref("SFDWebhookDeliveries"), Errors: []int{401, 404}},
			{Method: "POST", Path: "/v1/providers", Auth: "sfd", Summary: "Configure a provider with your own API key",
				Description: "Stores the key encrypted (AES-256-GCM). Your calls to that provider then use it. 201 for a new provider, 200 when replacing one.",
				Body:        ref("ProviderRequest"), Example: map[string]any{"providerType": "openai", "apiKey": "sk-your-openai-api-key"},
				Status: 201, Response: ref("ProviderSaved"), Errors: []int{400, 401}},
			{Method: "GET", Path: "/v1/providers", Auth: "sfd", Summary: "List configured providers (keys masked)", Response: ref("ProviderList"), Errors: []int{401}},
			{Method: "GET", Path: "/v1/providers/{providerType}", Auth: "sfd", Summary: "Get one configured provider (key masked)",
				Response: object("", "provider*", ref("Provider")), Errors: []int{400, 401, 404}},
			{Method: "DELETE", Path: "/v1/providers/{providerType}", Auth: "sfd", Summary: "Remove a provider's key", Status: 204, Errors: []int{400, 401, 404}},
			{Method: "POST", Path: "/v1/providers/test", Auth: "sfd", Summary: "Test a provider's key with a one-token call",
				Body: ref("ProviderTest"), Example: map[string]any{"providerType": "openai"}, Response: ref("ProviderTestResult"), Errors: []int{400, 401, 404}},
			{Method: "GET", Path: "/v1/logs/{tenant}/{project}", Auth: "sfd", Summary: "Completion logs, newest first",
				Description: "project '*' selects every project. Prompts and responses are there for StackForDevs calls unless the tenant turned log_bodies off (redacted masks them).",
				Params: []param{query("limit", "Page size, 1 to 500 (default 50)."), query("cursor", "next_cursor of the previous page."),
					query("from", "RFC 3339 time, YYYY-MM-DD or unix seconds (inclusive)."), query("to", "Exclusive end.")},
				Response: ref("LogPage"), Errors: []int{400, 401, 403, 503}},
			{Method: "GET", Path: "/v1/stats/{tenant}/{project}", Auth: "sfd", Summary: "Usage statistics: requests, tokens, cost by model, success rate",
				Params:   []param{query("from", "RFC 3339 time, YYYY-MM-DD or unix seconds (inclusive)."), query("to", "Exclusive end.")},
				Response: ref("Stats"), Errors: []int{400, 401, 403, 503}},
		}}
}

func llmEndpointAPI() api {
	le := map[string]any{"messages": []map[string]string{{"role": "user", "content": "What is the meaning of life?"}},
		"model": "llama3.1", "max_tokens": 100, "temperature": 0.7, "stream": false}
	return api{Tag: "LlmEndpoint", Error: "LlmEndpointError",
		Description: "LlmEndpoint's API: 'Authorization: <key>' (Bearer optional), answers {success, ...}, costs credits.", Ops: []operation{
			{Method: "POST", Path: "/api/v1/completions", Auth: "llmendpoint", Summary: "Generate a completion",
				Description: "Charges the seed's credit cost before the call and refunds it if the call fails. With stream, the answer is newline-delimited {role, content} chunks.",
				Body:        ref("LECompletionRequest"), Example: le, Response: ref("LECompletion"), AltType: ndjsonType, Alt: ref("LEChunk"),
				Errors: []int{400, 401, 402, 500}},
			{Method: "POST", Path: "/api/v1/qcompletions", Auth: "llmendpoint", Summary: "Queue a completion",
				Body: ref("LEQCompletionRequest"), Example: map[string]any{"messages": []map[string]string{{"role": "user", "content": "How does quantum computing work?"}},
					"model": "llama3.1", "max_tokens": 100, "temperature": 0.7}, Response: ref("LEQueued"), Errors: []int{400, 401, 402}},
			{Method: "GET", Path: "/api/v1/qcompletions/{task_id}", Auth: "llmendpoint", Summary: "Status and result of a queued completion",
				Response: ref("LETask"), Errors: []int{401, 404}},
		}}
}

func athenaAPI() api {
	std := []int{400, 401, 403, 404, 429, 502}
	return api{Tag: "Athena", Error: "OpenAIError", Description: "The Athena LLM Service: chat completions, conversations, usage and GraphQL.", Ops: []operation{
		{Method: "POST", Path: "/api/v1/chat/completions", Auth: "bearer", Summary: "Create a chat completion (with top-level content)",
			Body: ref("ChatCompletionRequest"), Example: chatExample, Response: ref("AthenaChatCompletion"), AltType: sseType, Alt: ref("ChatCompletionChunk"), Errors: std},
		{Method: "POST", Path: "/api/v1/conversations", Auth: "bearer", Summary: "Create a conversation", Body: ref("ConversationCreate"),
			Example: map[string]any{"model": "mock/echo", "system_message": "You are a helpful coding assistant.", "metadata": map[string]string{"project": "my-app"}},
			Status:  201, Response: ref("Conversation"), Errors: []int{400, 401}},
		{Method: "GET", Path: "/api/v1/conversations", Auth: "bearer", Summary: "List conversations", Response: S{"type": "object"}, Errors: []int{401}},
		{Method: "GET", Path: "/api/v1/conversations/{id}", Auth: "bearer", Summary: "Get a conversation with its messages", Response: ref("Conversation"), Errors: []int{401, 404}},
		{Method: "DELETE", Path: "/api/v1/conversations/{id}", Auth: "bearer", Summary: "Delete a conversation", Response: S{"type": "object"}, Errors: []int{401, 404}},
		{Method: "POST", Path: "/api/v1/conversations/{id}/messages", Auth: "bearer", Summary: "Continue a conversation", Body: ref("MessageSend"),
			Example:  map[string]any{"message": map[string]string{"role": "user", "content": "Review this Python function"}},
			Response: ref("AthenaChatCompletion"), AltType: sseType, Alt: ref("ChatCompletionChunk"), Errors: std},
		{Method: "GET", Path: "/api/v1/models", Auth: "bearer", Summary: "Models and their prices", Response: S{"type": "object"}, Errors: []int{401}},
		{Method: "GET", Path: "/api/v1/usage", Auth: "bearer", Summary: "Usage of this key's team", Response: S{"type": "object"}, Errors: []int{401}},
		{Method: "POST", Path: "/graphql", Auth: "bearer", Summary: "GraphQL endpoint", Body: ref("GraphQLRequest"),
			Example: map[string]any{"query": "{ models { id } }"}, Response: ref("GraphQLResponse"), Errors: []int{400, 401}},
		{Method: "GET", Path: "/graphql", Summary: "GraphQL playground", Response: str("HTML page."), ResponseType: htmlType},
	}}
}

func djangoAPI() api {
	return api{Tag: "Django LLM API", Error: "DetailError", Description: "The Django REST Framework LLM API: users, JWT tokens, models and chat completions.", Ops: []operation{
		{Method: "GET", Path: "/", Summary: "Welcome message", Response: ref("Welcome")},
		{Method: "POST", Path: "/api/signup/", Summary: "Create a user", Body: ref("UserCredentials"),
			Example: map[string]any{"username": "charming_user", "password": "secure_pwd"}, Status: 201, Response: ref("Message"), Errors: []int{400}},
		{Method: "POST", Path: "/api/token/", Summary: "Get an access and a refresh token", Body: ref("UserCredentials"),
			Example: map[string]any{"username": "charming_user", "password": "secure_pwd"}, Response: ref("TokenPair"), Errors: []int{400, 401}},
		{Method: "POST", Path: "/api/token/refresh/", Summary: "Refresh an access token", Body: ref("TokenRefresh"), Response: ref("AccessToken"), Errors: []int{400, 401}},
		{Method: "GET", Path: "/api/supported-models/", Auth: "bearer", Summary: "Models of a provider",
			Params: []param{{In: "query", Name: "provider", Desc: "openai, gemini or inhouse.", Required: true}}, Response: ref("SupportedModels"), Errors: []int{400, 401}},
		{Method: "POST", Path: "/api/chat/completions/", Auth: "bearer", Summary: "Chat completion with a provider",
			Params: []param{{In: "query", Name: "provider", Desc: "openai, gemini or inhouse.", Required: true}},
			Body:   ref("ChatCompletionRequest"), Example: map[string]any{"model": "gpt-3.5-turbo", "messages": []map[string]string{{"role": "user", "content": "How is the weather on Venus?"}}, "stream": false},
			Response: ref("ChatCompletion"), AltType: sseType, Alt: ref("ChatCompletionChunk"), Errors: []int{400, 401}},
	}}
}

func jobsAPI() api {
	call := map[string]any{"model_group": "ResumeAgent", "messages": []map[string]string{{"role": "user", "content": "Parse this resume..."}},
		"purpose": "resume_parsing", "temperature": 0.7, "max_tokens": 1000}
	e := []int{401, 403, 404, 422, 500}
	return api{Tag: "Jobs", Error: "DetailError", Description: "LLM calls inside jobs, tracked and billed per job.", Ops: []operation{
		{Method: "POST", Path: "/api/jobs/create", Auth: "bearer", Summary: "Create a job", Body: ref("JobCreate"),
			Example: map[string]any{"team_id": "acme-corp", "job_type": "document_analysis"}, Response: ref("Job"), Errors: []int{401, 403, 422}},
		{Method: "GET", Path: "/api/jobs/{job_id}", Auth: "bearer", Summary: "Get a job", Response: ref("Job"), Errors: []int{401, 403, 404}},
		{Method: "POST", Path: "/api/jobs/{job_id}/llm-call", Auth: "bearer", Summary: "LLM call in a job", Body: ref("JobLLMCall"), Example: call,
			Response: ref("JobLLMCallResponse"), Errors: e},
		{Method: "POST", Path: "/api/jobs/{job_id}/llm-call-stream", Auth: "bearer", Summary: "Streaming LLM call in a job", Body: ref("JobLLMCall"), Example: call,
			Response: ref("ChatCompletionChunk"), ResponseType: sseType, Errors: e},
		{Method: "POST", Path: "/api/jobs/{job_id}/complete", Auth: "bearer", Summary: "Complete a job", Body: ref("JobComplete"),
			Example: map[string]any{"status": "completed"}, Response: ref("JobCompleteResponse"), Errors: []int{401, 403, 404, 422}},
	}}
}

func batchesAPI() api {
	return api{Tag: "OpenAI files & batches", Error: "OpenAIError", Description: "OpenAI's Files and Batch API, for the official SDKs' batch calls.", Ops: []operation{
		{Method: "POST", Path: "/v1/files", Auth: "bearer", Summary: "Upload a file (purpose batch, JSONL)", Body: ref("FileUpload"), BodyType: formType,
			Response: ref("File"), Errors: []int{400, 401, 413}},
		{Method: "GET", Path: "/v1/files", Auth: "bearer", Summary: "List files", Response: ref("List"), Errors: []int{401}},
		{Method: "GET", Path: "/v1/files/{id}", Auth: "bearer", Summary: "Get a file's metadata", Response: ref("File"), Errors: []int{401, 404}},
		{Method: "DELETE", Path: "/v1/files/{id}", Auth: "bearer", Summary: "Delete a file", Response: S{"type": "object"}, Errors: []int{401, 404}},
		{Method: "GET", Path: "/v1/files/{id}/content", Auth: "bearer", Summary: "Download a file", Response: str("JSONL."), ResponseType: jsonlType, Errors: []int{401, 404}},
		{Method: "POST", Path: "/v1/batches", Auth: "bearer", Summary: "Create a batch", Body: ref("BatchCreate"),
			Example: map[string]any{"input_file_id": "file-abc123", "endpoint": "/v1/chat/completions", "completion_window": "24h"}, Response: ref("Batch"), Errors: []int{400, 401, 404}},
		{Method: "GET", Path: "/v1/batches", Auth: "bearer", Summary: "List batches", Params: []param{query("limit", ""), query("after", "Cursor: a batch ID.")},
			Response: ref("List"), Errors: []int{401}},
		{Method: "GET", Path: "/v1/batches/{id}", Auth: "bearer", Summary: "Get a batch", Response: ref("Batch"), Errors: []int{401, 404}},
		{Method: "POST", Path: "/v1/batches/{id}/cancel", Auth: "bearer", Summary: "Cancel a batch", Response: ref("Batch"), Errors: []int{401, 404, 409}},
	}}
}
