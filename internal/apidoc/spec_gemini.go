package apidoc

func geminiAPI() api {
	std := []int{400, 401, 403, 404, 413, 429, 502, 504}
	methods := "The last path segment is {model}:{method}, method generateContent, streamGenerateContent (?alt=sse for SSE, " +
		"else one JSON array) or countTokens; {model} is any name llmservice resolves."
	call := func(prefix string) operation {
		return operation{Method: "POST", Path: prefix + "/models/{modelMethod}", Summary: "generateContent, streamGenerateContent or countTokens. " + methods,
			Auth: "gemini", Body: ref("GenerateContentRequest"),
			Example:  map[string]any{"contents": []map[string]any{{"role": "user", "parts": []map[string]string{{"text": "Hello!"}}}}},
			Response: ref("GenerateContentResponse"), AltType: sseType, Alt: S{"type": "object", "description": "GenerateContentResponse chunks, usageMetadata on the last."},
			Errors: std}
	}
	return api{Tag: "Gemini", Error: "GeminiError",
		Description: "Google's Gemini API, for Gemini CLI and @google/genai: set the SDK's httpOptions.baseUrl (or GOOGLE_GEMINI_BASE_URL) to <base>. " +
			"Calls to Gemini models pass through byte for byte apart from modelVersion; calls to any other model are translated. " +
			"GET /v1/models answers Gemini's shape when the request carries x-goog-api-key.",
		Ops: []operation{
			call("/v1beta"), call("/v1"),
			{Method: "GET", Path: "/v1beta/models", Summary: "List models in Gemini's shape", Auth: "gemini", Response: ref("GeminiModelList"), Errors: []int{401}},
			{Method: "GET", Path: "/v1beta/models/{model}", Summary: "Get one model in Gemini's shape", Auth: "gemini", Response: S{"type": "object"}, Errors: []int{401, 404}},
		}}
}

func geminiSchemas() S {
	return S{
		"GeminiError": object("Google's error body, used by the Gemini API.",
			"error*", object("", "code*", integer("The HTTP status."), "message*", str("What went wrong."),
				"status*", str("INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE or DEADLINE_EXCEEDED."))),
		"GenerateContentRequest": object("A generateContent request (or, for countTokens, {contents} or {generateContentRequest}); fields not listed are accepted and, to Gemini models, forwarded.",
			"contents*", array(S{"type": "object"}), "systemInstruction", S{"type": "object"}, "tools", array(S{"type": "object"}),
			"toolConfig", S{"type": "object"}, "generationConfig", S{"type": "object"}, "safetySettings", array(S{"type": "object"})),
		"GenerateContentResponse": object("A generateContent answer (countTokens: {totalTokens}).",
			"candidates", array(S{"type": "object"}), "usageMetadata", S{"type": "object"}, "modelVersion", str("The model asked for."), "responseId", str("")),
		"GeminiModelList": object("Models in Gemini's shape.", "models*", array(S{"type": "object"})),
	}
}
