package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmservice/llmservice/internal/provider/providertest"
)

// geminiEnv starts the agent fakes (Anthropic Messages, OpenAI-compatible)
// and a Gemini fake, and a server in front of them.
func geminiEnv(t *testing.T) (srv *testServer, key string, gm *providertest.GeminiFake, oa *providertest.Fake, an *providertest.MessagesFake) {
	t.Helper()
	an = providertest.NewAnthropicMessages(t)
	oa = providertest.NewOpenAIAgent(t)
	gm = providertest.NewGeminiAgent(t)
	srv = startServer(t, map[string]string{
		"ANTHROPIC_API_KEY": "sk-upstream-anthropic", "ANTHROPIC_BASE_URL": an.URL,
		"OPENAI_API_KEY": "sk-upstream-openai", "OPENAI_BASE_URL": oa.URL + "/v1",
		"GEMINI_API_KEY": "upstream-gemini-key", "GEMINI_BASE_URL": gm.URL,
	})
	if st := do(t, "POST", srv.URL+"/admin/models", testAdminKey, map[string]any{"name": "gm-alias", "provider": "gemini",
		"upstream_model": "gemini-fake-upstream", "input_per_mtok": 0.3, "output_per_mtok": 2.5}, nil); st != http.StatusCreated {
		t.Fatalf("POST /admin/models: %d", st)
	}
	_, key, _ = newKey(t, srv.URL, "acme", nil)
	return srv, key, gm, oa, an
}

// postGemini sends a Gemini request; header "x-goog-api-key" or "query"
// carries the key.
func postGemini(t *testing.T, url, how, key, body string) (*http.Response, []byte) {
	t.Helper()
	if how == "query" {
		if strings.Contains(url, "?") {
			url += "&key=" + key
		} else {
			url += "?key=" + key
		}
	}
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if how == "x-goog-api-key" {
		req.Header.Set("x-goog-api-key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// geminiChunk is what the tests read of a GenerateContentResponse.
type geminiChunk struct {
	Candidates []struct {
		Content *struct {
			Role  string `json:"role"`
			Parts []struct {
				Text         string `json:"text"`
				Thought      bool   `json:"thought"`
				FunctionCall *struct {
					ID   string          `json:"id"`
					Name string          `json:"name"`
					Args json.RawMessage `json:"args"`
				} `json:"functionCall"`
			} `json:"parts"`
		} `json:"content"`
		FinishReason string `json:"finishReason"`
	} `json:"candidates"`
	UsageMetadata *struct {
		PromptTokenCount     int `json:"promptTokenCount"`
		CandidatesTokenCount int `json:"candidatesTokenCount"`
		TotalTokenCount      int `json:"totalTokenCount"`
	} `json:"usageMetadata"`
	ModelVersion string          `json:"modelVersion"`
	Error        json.RawMessage `json:"error"`
}

func (c *geminiChunk) text() string {
	var b strings.Builder
	for _, cd := range c.Candidates {
		if cd.Content != nil {
			for _, p := range cd.Content.Parts {
				if !p.Thought {
					b.WriteString(p.Text)
				}
			}
		}
	}
	return b.String()
}

// parseGeminiSSE reads data-only SSE events.
func parseGeminiSSE(t *testing.T, b []byte) []geminiChunk {
	t.Helper()
	var out []geminiChunk
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(strings.TrimRight(sc.Text(), "\r"), "data: "); ok {
			var c geminiChunk
			if err := json.Unmarshal([]byte(d), &c); err != nil {
				t.Fatalf("event data is not JSON: %v: %s", err, d)
			}
			out = append(out, c)
		}
	}
	return out
}

// checkGeminiStream checks a stream's shape: chunks, usageMetadata on the
// last (and only there), a finish reason on the last; it returns the text
// and the function calls.
func checkGeminiStream(t *testing.T, cs []geminiChunk, model string) (string, []string) {
	t.Helper()
	if len(cs) == 0 {
		t.Fatal("empty stream")
	}
	var text strings.Builder
	var calls []string
	for i, c := range cs {
		if len(c.Error) > 0 {
			t.Fatalf("error in stream: %s", c.Error)
		}
		if c.ModelVersion != model {
			t.Errorf("chunk %d modelVersion = %q; want %q", i, c.ModelVersion, model)
		}
		text.WriteString(c.text())
		for _, cd := range c.Candidates {
			if cd.Content != nil {
				for _, p := range cd.Content.Parts {
					if p.FunctionCall != nil {
						calls = append(calls, p.FunctionCall.Name+" "+string(p.FunctionCall.Args))
					}
				}
			}
		}
	}
	last := cs[len(cs)-1]
	if last.UsageMetadata == nil || last.UsageMetadata.PromptTokenCount == 0 || last.UsageMetadata.TotalTokenCount == 0 {
		t.Errorf("last chunk has no usageMetadata: %+v", last)
	}
	if len(last.Candidates) == 0 || last.Candidates[0].FinishReason != "STOP" {
		t.Errorf("last chunk has no finishReason STOP: %+v", last)
	}
	return text.String(), calls
}

// TestGeminiTranslation serves generateContent, both stream framings and
// a tool turn from each non-Gemini family: OpenAI, Anthropic, the mock.
func TestGeminiTranslation(t *testing.T) {
	srv, key, _, oa, an := geminiEnv(t)
	tools := `"tools":[{"functionDeclarations":[{"name":"Bash","description":"run","parametersJsonSchema":{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}}]}]`
	for _, model := range []string{"gpt-4o-mini", "claude-sonnet-4-5", "mock/echo"} {
		t.Run(model, func(t *testing.T) {
			base := srv.URL + "/v1beta/models/" + model
			body := `{"contents":[{"role":"user","parts":[{"text":"hello there"}]}],"systemInstruction":{"parts":[{"text":"be brief"}]},"generationConfig":{"maxOutputTokens":100,"thinkingConfig":{"thinkingBudget":0}},"safetySettings":[]}`
			resp, b := postGemini(t, base+":generateContent", "x-goog-api-key", key, body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			var c geminiChunk
			if err := json.Unmarshal(b, &c); err != nil || c.text() == "" || c.ModelVersion != model || c.UsageMetadata == nil || c.UsageMetadata.TotalTokenCount == 0 {
				t.Fatalf("answer = %s (%v)", b, err)
			}
			if c.Candidates[0].Content.Role != "model" || c.Candidates[0].FinishReason != "STOP" {
				t.Errorf("answer = %s", b)
			}
			whole := c.text()

			resp, b = postGemini(t, base+":streamGenerateContent?alt=sse", "query", key, body)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			if text, _ := checkGeminiStream(t, parseGeminiSSE(t, b), model); text != whole {
				t.Errorf("streamed text %q; want %q", text, whole)
			}

			// Without alt=sse: one JSON array of the same chunks.
			resp, b = postGemini(t, srv.URL+"/v1/models/"+model+":streamGenerateContent", "x-goog-api-key", key, body)
			var arr []geminiChunk
			if resp.StatusCode != 200 || json.Unmarshal(b, &arr) != nil {
				t.Fatalf("array stream: status %d: %s", resp.StatusCode, b)
			}
			if text, _ := checkGeminiStream(t, arr, model); text != whole {
				t.Errorf("array-streamed text %q; want %q", text, whole)
			}
		})
	}
	for _, model := range []string{"gpt-4o-mini", "claude-sonnet-4-5"} {
		t.Run(model+"/tool turn", func(t *testing.T) {
			url := srv.URL + "/v1/models/" + model + ":streamGenerateContent?alt=sse"
			resp, b := postGemini(t, url, "x-goog-api-key", key, `{"contents":[{"role":"user","parts":[{"text":"TOOLTEST please"}]}],`+tools+`}`)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			_, calls := checkGeminiStream(t, parseGeminiSSE(t, b), model)
			if len(calls) != 1 || !strings.HasPrefix(calls[0], "Bash ") {
				t.Fatalf("calls = %v\n%s", calls, b)
			}
			var args map[string]string
			if err := json.Unmarshal([]byte(strings.TrimPrefix(calls[0], "Bash ")), &args); err != nil || args["command"] != providertest.AgentCommand {
				t.Errorf("args = %s (%v)", calls[0], err)
			}
			// The result goes back as a functionResponse without an id,
			// as older Gemini models' clients send it.
			resp, b = postGemini(t, strings.Replace(url, ":streamGenerateContent?alt=sse", ":generateContent", 1), "x-goog-api-key", key,
				`{"contents":[{"role":"user","parts":[{"text":"TOOLTEST please"}]},`+
					`{"role":"model","parts":[{"functionCall":{"name":"Bash","args":{"command":"ls"}},"thoughtSignature":"c2ln"}]},`+
					`{"role":"user","parts":[{"functionResponse":{"name":"Bash","response":{"output":"made-file"}}}]}],`+tools+`}`)
			var c geminiChunk
			if resp.StatusCode != 200 || json.Unmarshal(b, &c) != nil || !strings.Contains(c.text(), "made-file") {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
		})
	}
	_ = oa
	_ = an
}

// TestGeminiPassThrough sends Gemini requests to a Gemini model: the
// upstream receives the body byte for byte at its own model's path, and
// the client receives the upstream's answer byte for byte apart from
// modelVersion; countTokens is the upstream's own count.
func TestGeminiPassThrough(t *testing.T) {
	srv, key, gm, _, _ := geminiEnv(t)
	body := `{"contents":[{"role":"user","parts":[{"text":"Say pong \u00e9"}]}],  "systemInstruction":{"parts":[{"text":"be brief"}]},` +
		`"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}],"generationConfig":{"maxOutputTokens":100,"thinkingConfig":{"includeThoughts":true,"thinkingLevel":"HIGH"}}}`
	for _, tc := range []struct{ method, query string }{{"generateContent", ""}, {"streamGenerateContent", "?alt=sse"}} {
		t.Run(tc.method, func(t *testing.T) {
			n := len(gm.Requests())
			resp, got := postGemini(t, srv.URL+"/v1beta/models/gm-alias:"+tc.method+tc.query, "x-goog-api-key", key, body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			reqs := gm.Requests()
			if len(reqs) != n+1 {
				t.Fatalf("upstream got %d requests; want 1", len(reqs)-n)
			}
			up := reqs[n]
			if up.Path != "/v1beta/models/gemini-fake-upstream:"+tc.method || "?"+up.RawQuery != map[bool]string{true: "?alt=sse", false: "?"}[tc.query != ""] {
				t.Errorf("upstream path %s?%s", up.Path, up.RawQuery)
			}
			if string(up.Body) != body {
				t.Errorf("upstream body differs from the client's:\n got %s\nwant %s", up.Body, body)
			}
			if v := up.Header.Get("x-goog-api-key"); v != "upstream-gemini-key" {
				t.Errorf("x-goog-api-key upstream = %q; want the gateway's", v)
			}
			want := bytes.ReplaceAll(sentAnswer(t, gm.Sent, n), []byte(`"modelVersion":"gemini-fake-upstream"`), []byte(`"modelVersion":"gm-alias"`))
			if !bytes.Equal(got, want) {
				t.Errorf("answer differs from the upstream's apart from modelVersion:\n got %q\nwant %q", got, want)
			}
			if resp.Header.Get("X-Llmservice-Provider") != "gemini" {
				t.Errorf("served by %q", resp.Header.Get("X-Llmservice-Provider"))
			}
		})
	}
	t.Run("array framing", func(t *testing.T) {
		resp, b := postGemini(t, srv.URL+"/v1/models/gm-alias:streamGenerateContent", "x-goog-api-key", key, body)
		var arr []geminiChunk
		if resp.StatusCode != 200 || json.Unmarshal(b, &arr) != nil {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		checkGeminiStream(t, arr, "gm-alias")
	})
	t.Run("countTokens", func(t *testing.T) {
		cb := `{"contents":[{"parts":[{"text":"count these four"}]}]}`
		resp, b := postGemini(t, srv.URL+"/v1beta/models/gm-alias:countTokens", "x-goog-api-key", key, cb)
		up := gm.Last(t)
		if resp.StatusCode != 200 || string(b) == "" || up.Path != "/v1beta/models/gemini-fake-upstream:countTokens" || string(up.Body) != cb {
			t.Fatalf("status %d %s; upstream %s %s", resp.StatusCode, b, up.Path, up.Body)
		}
		var out struct {
			TotalTokens int `json:"totalTokens"`
		}
		if json.Unmarshal(b, &out) != nil || out.TotalTokens != 3 {
			t.Errorf("count = %s; the fake counts 3", b)
		}
	})
}

// TestGeminiErrors: errors come back in Google's shape with the status
// name matching the code.
func TestGeminiErrors(t *testing.T) {
	srv, key, _, _, _ := geminiEnv(t)
	ok := `{"contents":[{"parts":[{"text":"hi"}]}]}`
	for _, tc := range []struct {
		name, url, how, key, body string
		code                      int
		status                    string
	}{
		{"no key", "/v1beta/models/gpt-4o-mini:generateContent", "", "", ok, 401, "UNAUTHENTICATED"},
		{"bad key", "/v1beta/models/gpt-4o-mini:generateContent", "x-goog-api-key", "sk-nope", ok, 401, "UNAUTHENTICATED"},
		{"unknown model", "/v1beta/models/nope-model:generateContent", "x-goog-api-key", key, ok, 404, "NOT_FOUND"},
		{"unknown method", "/v1beta/models/gpt-4o-mini:embedThings", "x-goog-api-key", key, ok, 404, "NOT_FOUND"},
		{"no contents", "/v1beta/models/gpt-4o-mini:generateContent", "query", key, `{"contents":[]}`, 400, "INVALID_ARGUMENT"},
		{"bad role", "/v1/models/gpt-4o-mini:generateContent", "x-goog-api-key", key, `{"contents":[{"role":"system","parts":[{"text":"x"}]}]}`, 400, "INVALID_ARGUMENT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := postGemini(t, srv.URL+tc.url, tc.how, tc.key, tc.body)
			var e struct {
				Error struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
					Status  string `json:"status"`
				} `json:"error"`
			}
			if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != tc.code || e.Error.Code != tc.code || e.Error.Status != tc.status || e.Error.Message == "" {
				t.Errorf("got %d %s; want %d %s", resp.StatusCode, b, tc.code, tc.status)
			}
		})
	}
}

// TestGeminiModels: GET /v1beta/models, and GET /v1/models with
// x-goog-api-key, answer in Gemini's shape; without it /v1/models stays
// OpenAI's.
func TestGeminiModels(t *testing.T) {
	srv, key, _, _, _ := geminiEnv(t)
	for _, path := range []string{"/v1beta/models", "/v1/models"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("x-goog-api-key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Models []struct {
				Name                       string   `json:"name"`
				SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
			} `json:"models"`
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || len(list.Models) == 0 || !strings.HasPrefix(list.Models[0].Name, "models/") {
			t.Errorf("%s: %d %+v (%v)", path, resp.StatusCode, list, err)
		}
	}
	var oai struct {
		Object string `json:"object"`
	}
	if st := do(t, "GET", srv.URL+"/v1/models", key, nil, &oai); st != 200 || oai.Object != "list" {
		t.Errorf("GET /v1/models with a bearer key: %d %+v", st, oai)
	}
}

// TestGeminiCountTokensLocal: counting for a non-Gemini model is local:
// no request reaches its upstream.
func TestGeminiCountTokensLocal(t *testing.T) {
	srv, key, _, oa, _ := geminiEnv(t)
	before := len(oa.Requests())
	for _, body := range []string{
		`{"contents":[{"parts":[{"text":"count these words please"}]}]}`,
		`{"generateContentRequest":{"contents":[{"parts":[{"text":"count these words please"}]}],"systemInstruction":{"parts":[{"text":"be brief"}]}}}`,
	} {
		resp, b := postGemini(t, srv.URL+"/v1beta/models/gpt-4o-mini:countTokens", "x-goog-api-key", key, body)
		var out struct {
			TotalTokens int `json:"totalTokens"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || out.TotalTokens <= 0 {
			t.Fatalf("countTokens: %d %s", resp.StatusCode, b)
		}
	}
	if got := len(oa.Requests()) - before; got != 0 {
		t.Errorf("counting tokens sent %d requests upstream; want none", got)
	}
}

// TestGoogleGenAI runs the official @google/genai SDK's scenarios
// (test/agents/google-genai.mjs) through llmservice against every
// upstream family: pass-through to the Gemini fake, translation to the
// others; under /v1 (the SDK's default) and /v1beta.
func TestGoogleGenAI(t *testing.T) {
	script := agentBinary(t, filepath.Join("..", "google-genai.mjs"))
	agentBinary(t, filepath.Join("@google", "genai", "package.json"))
	srv, key := familiesEnv(t)
	runs := []struct{ name, model, version string }{
		{"gemini", "gemini-2.0-flash", "v1"},
		{"gemini/v1beta", "gemini-2.0-flash", "v1beta"},
		{"anthropic", "claude-sonnet-4-5", "v1"},
		{"openai", "gpt-4o-mini", "v1"},
		{"openai/v1beta", "gpt-4o-mini", "v1beta"},
		{"ollama", "ollama/llama3.1", "v1"},
		{"mock", "mock/echo", "v1"},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) { runScenarios(t, script, srv.URL, key, r.model, r.version) })
	}
}

// TestGeminiUsage: every generate call is in the ledger once, with its
// tokens and cost, in both lanes, JSON and streamed; countTokens is not.
func TestGeminiUsage(t *testing.T) {
	srv, key, gm, _, _ := geminiEnv(t)
	body := `{"contents":[{"parts":[{"text":"a few words to answer"}]}]}`
	for _, u := range []string{"/v1beta/models/gm-alias:generateContent", "/v1beta/models/gm-alias:streamGenerateContent?alt=sse",
		"/v1/models/gpt-4o-mini:streamGenerateContent?alt=sse", "/v1/models/gm-alias:countTokens", "/v1/models/gpt-4o-mini:countTokens"} {
		if resp, b := postGemini(t, srv.URL+u, "x-goog-api-key", key, body); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", u, resp.StatusCode, b)
		}
	}
	var usage struct {
		Data []struct {
			Group            string  `json:"group"`
			Requests         int     `json:"requests"`
			PromptTokens     int     `json:"prompt_tokens"`
			CompletionTokens int     `json:"completion_tokens"`
			CostUSD          float64 `json:"cost_usd"`
		} `json:"data"`
	}
	if st := do(t, "GET", srv.URL+"/admin/usage?group_by=model", testAdminKey, nil, &usage); st != 200 {
		t.Fatalf("GET /admin/usage: %d", st)
	}
	byModel := map[string]int{}
	for _, g := range usage.Data {
		byModel[g.Group] = g.Requests
		if g.PromptTokens == 0 || g.CompletionTokens == 0 || (g.Group == "gm-alias" && g.CostUSD == 0) {
			t.Errorf("%s usage = %+v; want tokens and cost", g.Group, g)
		}
	}
	if byModel["gm-alias"] != 2 || byModel["gpt-4o-mini"] != 1 || len(gm.Requests()) != 3 {
		t.Errorf("ledger requests per model = %v; want gm-alias 2, gpt-4o-mini 1 (Gemini upstream requests: %d, one a count)", byModel, len(gm.Requests()))
	}
}

// TestGeminiStreamFailure: an upstream that breaks after the stream has
// started ends the client's stream with an error in Google's shape, in
// both lanes and both framings.
func TestGeminiStreamFailure(t *testing.T) {
	srv, key, gm, oa, _ := geminiEnv(t)
	body := `{"contents":[{"parts":[{"text":"several words to stream here"}]}]}`
	for _, tc := range []struct {
		model, query string
		fail         func()
	}{
		{"gm-alias", "?alt=sse", func() { gm.FailNext(providertest.Failure{AfterChunks: 1}) }},
		{"gm-alias", "", func() { gm.FailNext(providertest.Failure{AfterChunks: 1}) }},
		{"gpt-4o-mini", "?alt=sse", func() { oa.FailNext(providertest.Failure{AfterChunks: 2}) }},
		{"gpt-4o-mini", "", func() { oa.FailNext(providertest.Failure{AfterChunks: 2}) }},
	} {
		t.Run(tc.model+tc.query, func(t *testing.T) {
			tc.fail()
			resp, b := postGemini(t, srv.URL+"/v1beta/models/"+tc.model+":streamGenerateContent"+tc.query, "x-goog-api-key", key, body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			var cs []geminiChunk
			if tc.query != "" {
				cs = parseGeminiSSE(t, b)
			} else if err := json.Unmarshal(b, &cs); err != nil {
				t.Fatalf("not a JSON array: %v\n%s", err, b)
			}
			if len(cs) < 2 || len(cs[len(cs)-1].Error) == 0 {
				t.Fatalf("stream does not end with an error element:\n%s", b)
			}
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Status  string `json:"status"`
			}
			if err := json.Unmarshal(cs[len(cs)-1].Error, &e); err != nil || e.Code < 400 || e.Status == "" || e.Message == "" {
				t.Errorf("error element = %s", cs[len(cs)-1].Error)
			}
		})
	}
}
