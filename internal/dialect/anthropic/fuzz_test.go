package anthropic

import (
	"encoding/json"
	"testing"

	"github.com/llmservice/llmservice"
)

// FuzzDecode: any body decodes to a request or to a client error, never a
// panic; a decoded request has the fields validation promised.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","max_tokens":10,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]},{"role":"system","content":"env"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"redacted_thinking","data":"d"},{"type":"tool_use","id":"1","name":"x","input":{"a":1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"1","content":[{"type":"text","text":"r"}],"is_error":true}]}],"tools":[{"name":"x","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search"}],"tool_choice":{"type":"tool","name":"x"}}`,
		`{"model":"m","messages":[{"role":"user","content":[]}]}`,
		`{"model":"m","max_tokens":0}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, countOnly bool) {
		req, lr, err := decode(body, countOnly)
		if err != nil {
			if k := llmservice.AsError(err).Kind; k != llmservice.Invalid {
				t.Fatalf("decode(%q) error kind %v; want Invalid", body, k)
			}
			return
		}
		if req.Model == "" || len(req.Messages) == 0 || lr.Model != req.Model {
			t.Fatalf("decode(%q) = %+v without model or messages", body, req)
		}
		if !countOnly && (lr.MaxTokens == nil || *lr.MaxTokens < 1) {
			t.Fatalf("decode(%q): max_tokens %v", body, lr.MaxTokens)
		}
		for _, m := range lr.Messages {
			for _, tc := range m.ToolCalls {
				if !json.Valid([]byte(tc.Arguments)) {
					t.Fatalf("decode(%q): tool call arguments %q are not JSON", body, tc.Arguments)
				}
			}
		}
	})
}
