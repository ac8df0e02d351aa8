package meter_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/meter"
)

func TestStorable(t *testing.T) {
	long := strings.Repeat("é", meter.MaxLabelBytes) // 2 bytes a rune
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain", "mock/echo", "mock/echo"},
		{"NUL removed", "mock/a\x00b", "mock/ab"},
		{"invalid UTF-8 replaced", "proj\xff\xfe", "proj\uFFFD"},
		{"capped at a rune boundary", "x" + long, "x" + long[:meter.MaxLabelBytes-2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := meter.Storable(llmservice.UsageRecord{RequestedModel: tc.in, Project: tc.in})
			if got.RequestedModel != tc.want || got.Project != tc.want {
				t.Errorf("Storable(%q) = %q, %q; want %q", tc.in, got.RequestedModel, got.Project, tc.want)
			}
		})
	}
}

func FuzzStorable(f *testing.F) {
	f.Add("mock/a\x00b", "\xff")
	f.Add(strings.Repeat("ü", 700), "")
	f.Fuzz(func(t *testing.T, model, body string) {
		r := meter.Storable(llmservice.UsageRecord{RequestedModel: model, Prompt: body})
		for _, s := range []string{r.RequestedModel, r.Prompt} {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				t.Errorf("Storable left %q", s)
			}
		}
		if len(r.RequestedModel) > meter.MaxLabelBytes {
			t.Errorf("model of %d bytes; want at most %d", len(r.RequestedModel), meter.MaxLabelBytes)
		}
		if again := meter.Storable(r); again != r {
			t.Errorf("Storable is not idempotent: %q then %q", r.RequestedModel, again.RequestedModel)
		}
	})
}
