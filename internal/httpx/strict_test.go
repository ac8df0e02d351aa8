package httpx_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
)

type strictInner struct {
	RPM int `json:"rpm"`
}

// strictOptional mimics the admin API's PATCH fields: its UnmarshalJSON
// decodes strictly too.
type strictOptional struct{ V strictInner }

func (o *strictOptional) UnmarshalJSON(b []byte) error { return httpx.StrictRaw(b, &o.V) }

type strictBody struct {
	MaxBudgetUSD *float64                   `json:"max_budget_usd"`
	Limits       map[string]strictInner     `json:"limits"`
	Opt          strictOptional             `json:"opt"`
	Raw          map[string]json.RawMessage `json:"raw"`
}

func TestUnmarshalStrict(t *testing.T) {
	tests := []struct {
		name, body string
		param      string // "" = accepted
		message    string
	}{
		{"known fields", `{"max_budget_usd": 5, "limits": {"a": {"rpm": 1}}, "opt": {"rpm": 2}, "raw": {"x": 1}}`, "", ""},
		{"a typo", `{"max_budget_usd": 5, "max_budget_usdd": 5}`, "max_budget_usdd", "unknown field 'max_budget_usdd'"},
		{"inside a map", `{"limits": {"a": {"rpmm": 1}}}`, "rpmm", "unknown field 'rpmm'"},
		{"inside an UnmarshalJSON", `{"opt": {"rpm": 1, "tpm": 2}}`, "tpm", "unknown field 'tpm'"},
		{"wrong type inside an UnmarshalJSON", `{"opt": {"rpm": "x"}}`, "rpm", "expected an integer"},
		{"two values", `{} {}`, "", "more than one JSON value"},
		{"not JSON", `{"max_budget_usd": }`, "", "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v strictBody
			err := httpx.UnmarshalStrict([]byte(tt.body), &v)
			if tt.param == "" && tt.message == "" {
				if err != nil {
					t.Fatalf("UnmarshalStrict(%s) = %v; want nil", tt.body, err)
				}
				return
			}
			e := llmservice.AsError(err)
			if err == nil || e.Kind != llmservice.Invalid || e.Param != tt.param || !strings.Contains(e.Message, tt.message) {
				t.Errorf("UnmarshalStrict(%s) = %#v; want Invalid, param %q, message with %q", tt.body, err, tt.param, tt.message)
			}
		})
	}
}
