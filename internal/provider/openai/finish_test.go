package openai

import (
	"slices"
	"testing"
)

func TestAppendFinishReasons(t *testing.T) {
	for _, c := range []struct {
		name, choices string
		want          []string
	}{
		{"null in a chunk", `[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]`, nil},
		{"stop", `[{"index":0,"delta":{},"finish_reason":"stop"}]`, []string{"stop"}},
		{"spaces", `[{"index":0,"finish_reason" : "length"}]`, []string{"length"}},
		{"two choices", `[{"finish_reason":"stop"},{"finish_reason":"tool_calls"}]`, []string{"stop", "tool_calls"}},
		{"uncommon, escaped", `[{"finish_reason":"my\"reason"}]`, []string{`my"reason`}},
		{"the key inside content", `[{"message":{"content":"say \"finish_reason\":\"stop\""},"finish_reason":"length"}]`, []string{"length"}},
		{"cut off", `[{"finish_reason":"sto`, nil},
		{"empty", `[]`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := appendFinishReasons(nil, []byte(c.choices)); !slices.Equal(got, c.want) {
				t.Errorf("appendFinishReasons(%s) = %q; want %q", c.choices, got, c.want)
			}
		})
	}
}
