package apidoc

func anthropicAPI() api {
	std := []int{400, 401, 403, 404, 413, 429, 502, 504, 529}
	version := header("anthropic-version", "Any version (2023-06-01 and newer).")
	beta := header("anthropic-beta", "Beta flags, forwarded to Anthropic upstreams as sent.")
	return api{Tag: "Anthropic Messages", Error: "AnthropicError",
		Description: "Anthropic's Messages API, for Claude Code and the Anthropic SDKs: set ANTHROPIC_BASE_URL to <base> (no /v1). " +
			"Calls to Anthropic models pass through byte for byte apart from the model; calls to any other model are translated.",
		Ops: []operation{
			{Method: "POST", Path: "/v1/messages", Summary: "Create a message (any query, e.g. ?beta=true)", Auth: "anthropic",
				Params: []param{version, beta}, Body: ref("MessagesRequest"),
				Example:  map[string]any{"model": "mock/echo", "max_tokens": 1024, "messages": []map[string]string{{"role": "user", "content": "Hello!"}}},
				Response: ref("AnthropicMessage"), AltType: sseType, Alt: S{"type": "object", "description": "Messages stream events."}, Errors: std},
			{Method: "POST", Path: "/v1/messages/count_tokens", Summary: "Count input tokens without a completion", Auth: "anthropic",
				Params: []param{version, beta}, Body: ref("MessagesRequest"),
				Example:  map[string]any{"model": "mock/echo", "messages": []map[string]string{{"role": "user", "content": "Hello!"}}},
				Response: object("", "input_tokens*", integer("Input tokens: the upstream's count for Anthropic models, a local count otherwise.")),
				Errors:   []int{400, 401, 403, 404}},
		}}
}

func header(name, desc string) param { return param{Name: name, In: "header", Desc: desc} }

func anthropicSchemas() S {
	return S{
		"AnthropicError": object("Anthropic's error body, used by the Messages API.",
			"type*", enum("", "error"),
			"error*", object("", "type*", str("invalid_request_error, authentication_error, billing_error, permission_error, not_found_error, "+
				"request_too_large, rate_limit_error, api_error, timeout_error or overloaded_error."), "message*", str("What went wrong."))),
		"MessagesRequest": object("A Messages request; fields not listed are accepted and, to Anthropic models, forwarded.",
			"model*", str("Any name llmservice resolves."), "max_tokens", integer("Required for /v1/messages."),
			"messages*", array(S{"type": "object"}), "system", S{"description": "A string or text blocks."},
			"tools", array(S{"type": "object"}), "tool_choice", S{"type": "object"}, "stream", boolean(""),
			"temperature", S{"type": "number"}, "top_p", S{"type": "number"}, "stop_sequences", array(str("")),
			"thinking", S{"type": "object"}),
		"AnthropicMessage": object("A Messages answer.",
			"id*", str(""), "type*", enum("", "message"), "role*", enum("", "assistant"), "model*", str("The model asked for."),
			"content*", array(S{"type": "object"}), "stop_reason*", str(""), "stop_sequence", str(""), "usage*", S{"type": "object"}),
	}
}
