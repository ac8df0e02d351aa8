package gemini

import (
	"encoding/json"
	"testing"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

// FuzzDecode: any body decodes to a request or to a client error, never a
// panic; a decoded request has a turn to send and JSON tool arguments, and
// every tool result answers a call id.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"contents":[{"parts":[{"text":"hi"}]}]}`,
		`{"contents":[{"role":"user","parts":[{"text":"a"},{"inlineData":{"mimeType":"image/png","data":"AA=="}},{"fileData":{"fileUri":"https://x/y.png"}}]},` +
			`{"role":"model","parts":[{"text":"t","thought":true,"thoughtSignature":"s"},{"functionCall":{"name":"x","args":{"a":1}},"thoughtSignature":"s2"},{"functionCall":{"id":"c2","name":"y"}}]},` +
			`{"role":"user","parts":[{"functionResponse":{"name":"x","response":{"r":1}}},{"functionResponse":{"id":"c2","name":"y","response":{}}}]}],` +
			`"systemInstruction":{"parts":[{"text":"s"}]},"tools":[{"functionDeclarations":[{"name":"x","parameters":{"type":"OBJECT","properties":{"a":{"type":"INTEGER"}}}}]},{"googleSearch":{}}],` +
			`"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["x"]}},` +
			`"generationConfig":{"maxOutputTokens":5,"temperature":1,"topP":0.5,"candidateCount":2,"stopSequences":["x"],"seed":3,"responseMimeType":"application/json","responseJsonSchema":{"type":"OBJECT"}}}`,
		`{"generateContentRequest":{"contents":[{"parts":[{"text":"hi"}]}]}}`,
		`{"contents":[]}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, count bool) {
		var (
			lr  *llm.ChatRequest
			err error
		)
		if count {
			lr, err = decodeCount(body, "m")
		} else {
			lr, err = decode(body, "m", true)
		}
		if err != nil {
			if k := llmservice.AsError(err).Kind; k != llmservice.Invalid {
				t.Fatalf("decode(%q) error kind %v; want Invalid", body, k)
			}
			return
		}
		if lr.Model != "m" || !hasTurn(lr.Messages) {
			t.Fatalf("decode(%q) = %+v without a model or a turn", body, lr)
		}
		if lr.MaxTokens != nil && *lr.MaxTokens < 1 {
			t.Fatalf("decode(%q): maxOutputTokens %d", body, *lr.MaxTokens)
		}
		calls := map[string]bool{}
		for _, m := range lr.Messages {
			for _, tc := range m.ToolCalls {
				if !json.Valid([]byte(tc.Arguments)) || tc.ID == "" {
					t.Fatalf("decode(%q): tool call %+v", body, tc)
				}
				calls[tc.ID] = true
			}
			if m.Role == llm.RoleTool && m.ToolCallID == "" {
				t.Fatalf("decode(%q): tool result without a call id", body)
			}
		}
		for _, tl := range lr.Tools {
			if !json.Valid(tl.Parameters) {
				t.Fatalf("decode(%q): tool schema %q", body, tl.Parameters)
			}
		}
	})
}
