package apidoc

// schemas are the shared component schemas of the OpenAPI document.
func schemas() S {
	s := S{
		"OpenAIError": object("OpenAI's error body, used by the OpenAI-compatible, admin and Athena APIs.",
			"error*", object("", "message*", str("What went wrong."), "type*", str("Error class, e.g. invalid_request_error."),
				"param", str("The request field at fault, when there is one."), "code", str("Machine-readable code."))),
		"StackForDevsError": object("StackForDevs error body: OpenAI's shape, with code always set.",
			"error*", object("", "message*", str("What went wrong."), "type*", str("Error class."),
				"code*", str("Machine-readable code, e.g. unauthorized, tenant_mismatch, invalid_request, not_found, provider_not_configured."),
				"param", str("The request field or header at fault."))),
		"LlmEndpointError": object("LlmEndpoint error body; message is the seed's documented wording.",
			"success*", boolean("Always false."), "message*", str("E.g. 'Invalid API key', 'Insufficient credits'."),
			"detail", str("What exactly is wrong, for invalid requests."), "param", str("The field at fault.")),
		"DetailError": object("Error body of the jobs and Django APIs.", "detail*", anyJSON("A message, or a list of field errors.")),

		"ChatMessage": object("One turn of a conversation, OpenAI style.",
			"role*", enum("Who speaks.", "system", "developer", "user", "assistant", "tool"),
			"content*", anyJSON("Text, or a list of content parts ({type: text|image_url, ...})."),
			"name", str("Optional speaker name."), "tool_calls", array(S{"type": "object"}), "tool_call_id", str("The call a tool turn answers.")),
		"Usage": object("Token counts.", "prompt_tokens*", integer(""), "completion_tokens*", integer(""), "total_tokens*", integer("")),
		"ChatCompletionRequest": object("OpenAI chat completion request. Unknown fields are passed on to OpenAI-protocol providers.",
			"model*", str("A model, a catalog name or a model group, e.g. gpt-4o-mini, claude-3-5-haiku-latest, ollama/llama3.1, mock/echo."),
			"messages*", array(ref("ChatMessage")), "max_tokens", integer(""), "max_completion_tokens", integer(""),
			"temperature", number("0 to 2."), "top_p", number(""), "frequency_penalty", number(""), "presence_penalty", number(""),
			"stop", anyJSON("A string or a list of up to 4."), "n", integer(""), "seed", integer(""), "user", str(""),
			"stream", boolean("Answer as server-sent events."), "stream_options", object("", "include_usage", boolean("")),
			"tools", array(S{"type": "object"}), "tool_choice", anyJSON(""), "response_format", S{"type": "object"}),
		"ChatCompletion": object("A chat.completion.",
			"id*", str(""), "object*", enum("", "chat.completion"), "created*", integer("Unix seconds."), "model*", str("The model asked for."),
			"choices*", array(object("", "index*", integer(""), "message*", object("", "role*", str(""), "content", str(""), "tool_calls", array(S{"type": "object"})),
				"finish_reason*", str("stop, length, tool_calls or content_filter."))),
			"usage", ref("Usage")),
		"ChatCompletionChunk": object("One server-sent event of a streamed chat completion (data: {...}), ending with data: [DONE].",
			"id*", str(""), "object*", enum("", "chat.completion.chunk"), "created*", integer(""), "model*", str(""),
			"choices*", array(object("", "index*", integer(""), "delta*", object("", "role", str(""), "content", str("")), "finish_reason", str(""))),
			"usage", ref("Usage")),
		"CompletionRequest": object("Legacy completion (prompt) or a StackForDevs completion (messages): send one of the two.",
			"model*", str(""), "prompt", anyJSON("Text or a list of texts (legacy form)."), "messages", array(ref("ChatMessage")),
			"max_tokens", integer(""), "temperature", number("0 to 2 (StackForDevs default 0.7)."), "top_p", number(""),
			"stop", anyJSON(""), "n", integer(""), "stream", boolean(""), "user", str("")),
		"TextCompletion": object("A legacy text_completion (answer to a prompt).",
			"id*", str(""), "object*", enum("", "text_completion"), "created*", integer(""), "model*", str(""),
			"choices*", array(object("", "text*", str(""), "index*", integer(""), "finish_reason", str(""))), "usage", ref("Usage")),
		"EmbeddingRequest": object("", "model*", str(""), "input*", anyJSON("Text or a list of texts."),
			"encoding_format", enum("", "float", "base64"), "dimensions", integer("")),
		"EmbeddingResponse": object("", "object*", enum("", "list"), "model*", str(""),
			"data*", array(object("", "object*", str(""), "index*", integer(""), "embedding*", anyJSON("Floats, or base64."))), "usage", ref("Usage")),
		"Model":     object("", "id*", str(""), "object*", enum("", "model"), "created", integer(""), "owned_by", str("")),
		"ModelList": object("", "object*", enum("", "list"), "data*", array(ref("Model"))),
	}
	for k, v := range adminSchemas() {
		s[k] = v
	}
	for k, v := range anthropicSchemas() {
		s[k] = v
	}
	for k, v := range geminiSchemas() {
		s[k] = v
	}
	for k, v := range seedSchemas() {
		s[k] = v
	}
	return s
}

func adminSchemas() S {
	limits := []any{"rpm", integer("Requests per minute (0: no limit)."), "tpm", integer("Tokens per minute."),
		"max_budget_usd", number("Spend limit in US dollars."), "budget_period", enum("", "", "daily", "weekly", "monthly")}
	team := append([]any{"id*", str(""), "name", str(""), "models", array(str("")), "model_groups", array(str("")),
		"log_bodies", enum("Keep prompts and responses for the logs: off, full or redacted ('' = server default LLMSERVICE_LOG_BODIES).", "", "off", "full", "redacted"),
		"credits", integer("Credit balance."), "created_at", str("")}, limits...)
	key := append([]any{"id*", str(""), "team_id*", str(""), "name", str(""), "prefix", str(""), "models", array(str("")),
		"ip_allowlist", array(str("CIDR or address.")), "model_limits", S{"type": "object"}, "expires_at", str(""),
		"revoked_at", str(""), "created_at", str("")}, limits...)
	keyPatch := append([]any{"name", str(""), "models", array(str("")), "expires_at", str("RFC 3339."),
		"ip_allowlist", array(str("")), "model_limits", S{"type": "object"}}, limits...)
	teamPatch := append([]any{"name", str(""), "models", array(str("")), "model_groups", array(str("")),
		"log_bodies", enum("", "", "off", "full", "redacted")}, limits...)
	return S{
		"Team":       object("A tenant: owns keys, usage, credits and provider keys.", team...),
		"TeamCreate": object("", append([]any{"id*", str(""), "name", str(""), "credits", integer("Initial credits."), "models", array(str("")), "model_groups", array(str("")), "log_bodies", str("")}, limits...)...),
		"TeamPatch":  object("Fields to change; absent fields stay, null clears.", teamPatch...),
		"Key":        object("A virtual API key (its secret parts are never shown again).", key...),
		"KeyCreate":  object("", append([]any{"team_id*", str("")}, keyPatch...)...),
		"KeyCreated": object("The only answer that shows the key and its secret.", append([]any{"key*", str("The API key (sk-...)."), "secret*", str("The secret (sks-...), for StackForDevs' x-secret-key.")}, key...)...),
		"KeyPatch":   object("", keyPatch...),
		"CatalogModel": object("A public model name mapped to a provider instance.",
			"name*", str(""), "provider*", str("Instance name."), "upstream_model", str(""), "input_per_mtok", number("USD per million input tokens."),
			"output_per_mtok", number(""), "cache_read_per_mtok", number("USD per million prompt tokens read from the prompt cache."),
			"cache_write_per_mtok", number("USD per million prompt tokens written to the prompt cache (5-minute lifetime)."),
			"rpm", integer(""), "tpm", integer(""), "context_window", integer(""),
			"deployments", array(object("", "provider*", str(""), "upstream_model", str(""), "weight", integer(""), "priority", integer(""))),
			"strategy", enum("", "weighted", "least-outstanding", "lowest-latency"),
			"cache", object("Response cache policy for the model's calls when neither the key nor the team has one; null: off.", "ttl*", str("How long an answer is kept, a Go duration such as \"1h\"."))),
		"ModelGroup": object("Models tried in order: the primary, then fallbacks.", "name*", str(""), "models*", array(str("")), "strategy", str("")),
		"CreditAdd":  object("", "amount*", integer("Credits to add (negative to remove)."), "reason", str("")),
		"CreditMovement": object("", "id", integer(""), "team_id", str(""), "amount", integer(""), "balance_after", integer(""),
			"reason", str(""), "ref", str(""), "time", str("")),
		"UsageTotal": object("", "group", str(""), "requests", integer(""), "errors", integer(""), "prompt_tokens", integer(""),
			"completion_tokens", integer(""), "total_tokens", integer(""), "cache_read_tokens", integer("Prompt tokens read from the provider's prompt cache."),
			"cache_write_tokens", integer("Prompt tokens written to the prompt cache (5-minute lifetime)."),
			"cache_write_1h_tokens", integer("Prompt tokens written to the prompt cache (1-hour lifetime)."),
			"reasoning_tokens", integer("Completion tokens spent reasoning."), "cost_usd", number(""), "avg_latency_ms", number(""),
			"cache_hits", integer("Calls the response cache answered (cost 0)."), "saved_usd", number("What the cache hits cost when first served.")),
		"List": object("A list answer.", "object*", enum("", "list"), "data*", array(S{"type": "object"})),
	}
}
