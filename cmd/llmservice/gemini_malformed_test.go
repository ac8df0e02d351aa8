package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// malformedGemini returns 64 broken generateContent bodies: wrong types and
// missing fields named by the API, and a valid body cut short at every few
// bytes.
func malformedGemini() []string {
	u := `{"role":"user","parts":[{"text":"hi"}]}`
	cases := []string{
		``, `null`, `[]`, `"text"`, `42`, `{}`, "\xff\xfe{}", `{"contents":null}`,
		`{"contents":[]}`, `{"contents":"hi"}`, `{"contents":[1]}`, `{"contents":[{}]}`,
		`{"contents":[{"parts":[]}]}`, `{"contents":[{"parts":"hi"}]}`, `{"contents":[{"parts":[{}]}]}`,
		`{"contents":[{"parts":[{"text":""}]}]}`, `{"contents":[{"parts":[{"text":5}]}]}`,
		`{"contents":[{"role":"system","parts":[{"text":"hi"}]}]}`, `{"contents":[{"role":5,"parts":[{"text":"hi"}]}]}`,
		`{"contents":[{"parts":[{"inlineData":{"mimeType":"image/png"}}]}]}`,
		`{"contents":[{"parts":[{"inlineData":"AAAA"}]}]}`,
		`{"contents":[{"parts":[{"fileData":{"mimeType":"image/png"}}]}]}`,
		`{"contents":[{"parts":[{"fileData":{"fileUri":"file:///etc/passwd"}}]}]}`,
		`{"contents":[{"parts":[{"functionCall":{"name":"x","args":{}}}]}]}`,
		`{"contents":[{"role":"model","parts":[{"functionCall":{"args":{}}}]}]}`,
		`{"contents":[{"role":"model","parts":[{"functionCall":{"name":"x","args":"str"}}]}]}`,
		`{"contents":[{"role":"model","parts":[{"functionCall":{"name":"x","args":[1]}}]}]}`,
		`{"contents":[{"parts":[{"functionResponse":{"response":{}}}]}]}`,
		`{"contents":[{"parts":[{"functionResponse":{"name":"x","response":"ok"}}]}]}`,
		`{"contents":[{"role":"model","parts":[{"functionResponse":{"name":"x","response":{}}}]}]}`,
		`{"contents":[{"parts":[{"thought":"yes","text":"hi"}]}]}`,
		`{"contents":[` + u + `],"systemInstruction":"be brief"}`,
		`{"contents":[` + u + `],"systemInstruction":{"parts":[{"inlineData":{"mimeType":"image/png","data":"AA=="}}]}}`,
		`{"contents":[` + u + `],"generationConfig":[]}`,
		`{"contents":[` + u + `],"generationConfig":{"maxOutputTokens":0}}`,
		`{"contents":[` + u + `],"generationConfig":{"maxOutputTokens":"many"}}`,
		`{"contents":[` + u + `],"generationConfig":{"maxOutputTokens":1e999}}`,
		`{"contents":[` + u + `],"generationConfig":{"temperature":9}}`,
		`{"contents":[` + u + `],"generationConfig":{"temperature":"hot"}}`,
		`{"contents":[` + u + `],"generationConfig":{"topP":1.5}}`,
		`{"contents":[` + u + `],"generationConfig":{"candidateCount":0}}`,
		`{"contents":[` + u + `],"generationConfig":{"stopSequences":"END"}}`,
		`{"contents":[` + u + `],"generationConfig":{"stopSequences":["a","b","c","d","e","f"]}}`,
		`{"contents":[` + u + `],"generationConfig":{"seed":99999999999}}`,
		`{"contents":[` + u + `],"generationConfig":{"responseMimeType":"text/x-weird"}}`,
		`{"contents":[` + u + `],"generationConfig":{"responseJsonSchema":{"type":"object"}}}`,
		`{"contents":[` + u + `],"generationConfig":{"responseMimeType":"application/json","responseJsonSchema":[1]}}`,
		`{"contents":[` + u + `],"tools":{}}`,
		`{"contents":[` + u + `],"tools":[{"functionDeclarations":[{"description":"no name"}]}]}`,
		`{"contents":[` + u + `],"tools":[{"functionDeclarations":[{"name":"x","parametersJsonSchema":"str"}]}]}`,
		`{"contents":[` + u + `],"tools":[{"functionDeclarations":[{"name":"x","parameters":{"type":"OBJECT"},"parametersJsonSchema":{"type":"object"}}]}]}`,
		`{"contents":[` + u + `],"tools":[{"functionDeclarations":[{"name":"x"}]}],"toolConfig":{"functionCallingConfig":{"mode":"SOMETIMES"}}}`,
		`{"contents":[` + u + `],"toolConfig":{"functionCallingConfig":"AUTO"}}`,
		`{"contents":[` + u + `]`,
		`{"contents":[` + u + `]}}`,
		`{"contents" [` + u + `]}`,
	}
	valid := `{"contents":[{"role":"user","parts":[{"text":"hello"}]}]}`
	for i := 3; len(cases) < 64; i += 4 {
		cases = append(cases, valid[:i])
	}
	return cases
}

// TestGeminiMalformed: every broken body gets a 4xx in Google's error
// shape, never a 5xx or a dropped connection, on each method and in both
// lanes (gpt-4o-mini translates, gm-alias passes through); bad paths too.
func TestGeminiMalformed(t *testing.T) {
	srv, key, gm, _, _ := geminiEnv(t)
	cases := malformedGemini()
	if len(cases) != 64 {
		t.Fatalf("%d cases; want 64", len(cases))
	}
	check := func(url, body string) {
		t.Helper()
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("x-goog-api-key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("%s %q: %v", url, body, err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error struct {
				Code    int
				Message string
				Status  string
			}
		}
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || json.Unmarshal(b, &e) != nil || e.Error.Code != resp.StatusCode || e.Error.Status == "" || e.Error.Message == "" {
			t.Errorf("%s %q: %d %s; want a 4xx in Google's shape", url, body, resp.StatusCode, b)
		}
	}
	before := len(gm.Requests())
	for _, model := range []string{"gpt-4o-mini", "gm-alias"} {
		for _, m := range []string{":generateContent", ":streamGenerateContent?alt=sse", ":streamGenerateContent"} {
			for _, body := range cases {
				check(srv.URL+"/v1beta/models/"+model+m, body)
			}
		}
		// countTokens takes the same body as its generateContentRequest.
		for _, body := range cases {
			check(srv.URL+"/v1/models/"+model+":countTokens", `{"generateContentRequest":`+body+`}`)
		}
	}
	if n := len(gm.Requests()) - before; n != 0 {
		t.Errorf("%d malformed requests reached the Gemini upstream", n)
	}
	ok := `{"contents":[{"parts":[{"text":"hi"}]}]}`
	for _, p := range []string{"/v1beta/models/gpt-4o-mini", "/v1beta/models/:generateContent", "/v1beta/models/gpt-4o-mini:",
		"/v1beta/models/gpt-4o-mini:embedContent", "/v1beta/models/no-such-model:generateContent", "/v1/models/a%20b:generateContent"} {
		check(srv.URL+p, ok)
	}
}
