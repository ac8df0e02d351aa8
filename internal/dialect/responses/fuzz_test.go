package responses

import (
	"encoding/json"
	"testing"

	"github.com/llmservice/llmservice"
)

// FuzzDecode: any body decodes to a request or to a client error, never a
// panic; a decoded request has a model and JSON tool arguments.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(codexTurn), false)
	for _, s := range malformed {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Add([]byte(`{"model":"m","input":"hi"}`), true)
	f.Fuzz(func(t *testing.T, body []byte, countOnly bool) {
		d, err := decode(body, countOnly)
		if err != nil {
			if k := llmservice.AsError(err).Kind; k != llmservice.Invalid {
				t.Fatalf("decode(%q) error kind %v; want Invalid", body, k)
			}
			return
		}
		if d.req.Model == "" || d.chat.Model != d.req.Model {
			t.Fatalf("decode(%q): no model", body)
		}
		for _, m := range d.chat.Messages {
			for _, tc := range m.ToolCalls {
				if tc.Name == "" {
					t.Fatalf("decode(%q): tool call without a name", body)
				}
			}
		}
		if _, err := json.Marshal(newResponse(d, 0)); err != nil {
			t.Fatal(err)
		}
	})
}
