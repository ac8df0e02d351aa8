package apidoc

func responsesAPI() api {
	std := []int{400, 401, 403, 404, 413, 429, 502, 503, 504}
	id := "A response ID (resp_...) stored by this team; another team's is a 404."
	return api{Tag: "Responses", Error: "OpenAIError",
		Description: "OpenAI's Responses API, for Codex, the OpenAI SDKs and the Vercel AI SDK: point the client's base URL at <base>/v1. " +
			"Calls to models on an openai provider pass through byte for byte apart from the model; calls to any other model are translated. " +
			"store (default true) keeps a response per team, and previous_response_id continues it on any provider.",
		Ops: []operation{
			{Method: "POST", Path: "/v1/responses", Summary: "Create a response (\"stream\": true for named SSE events: response.created ... response.completed)",
				Auth: "bearer", Body: S{"type": "object", "description": "model, input (a string or items), instructions, tools, tool_choice, text.format, reasoning, max_output_tokens, store, previous_response_id, stream."},
				Example:  map[string]any{"model": "mock/echo", "input": "Hello!"},
				Response: S{"type": "object", "description": "A response object (object: response) with its output items and usage."},
				AltType:  sseType, Alt: S{"type": "object", "description": "Named events, each with a sequence_number; no [DONE]."}, Errors: std},
			{Method: "GET", Path: "/v1/responses/{id}", Summary: "Retrieve a stored response. " + id, Auth: "bearer", Response: S{"type": "object"}, Errors: []int{401, 404}},
			{Method: "DELETE", Path: "/v1/responses/{id}", Summary: "Delete a stored response. " + id, Auth: "bearer", Response: S{"type": "object"}, Errors: []int{401, 404}},
			{Method: "GET", Path: "/v1/responses/{id}/input_items", Summary: "The input items of a stored response, a page at a time. " + id, Auth: "bearer", Response: S{"type": "object"}, Errors: []int{400, 401, 404}},
			{Method: "POST", Path: "/v1/responses/input_tokens", Summary: "Count a request's input tokens without generating (the upstream's own count endpoint for OpenAI models, else a local count)",
				Auth: "bearer", Body: S{"type": "object"}, Response: S{"type": "object", "description": "{object: response.input_tokens, input_tokens}."}, Errors: []int{400, 401, 403, 404}},
		}}
}
