package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConvertMatch(t *testing.T) {
	tests := []struct {
		in   string
		want match
	}{
		{`{"equals":"GPT-4o"}`, match{Equals: "gpt-4o"}},
		{`{"starts_with":"MiniMax-M"}`, match{StartsWith: "minimax-m"}},
		{`{"ends_with":"gemini-2.0-flash"}`, match{EndsWith: "gemini-2.0-flash"}},
		{`{"contains":"claude"}`, match{Contains: "claude"}},
		// Regexes keep their case: \D and \d differ.
		{`{"regex":"^grok-4\\.3-\\d{8}$"}`, match{Regex: `^grok-4\.3-\d{8}$`}},
		{`{"or":[{"equals":"a"},{"and":[{"contains":"b"},{"ends_with":"c"}]}]}`,
			match{Or: []match{{Equals: "a"}, {And: []match{{Contains: "b"}, {EndsWith: "c"}}}}}},
	}
	for _, tt := range tests {
		got, err := convertMatch(json.RawMessage(tt.in))
		if err != nil {
			t.Errorf("convertMatch(%s): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("convertMatch(%s) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestConvertMatchErrors(t *testing.T) {
	for _, in := range []string{
		`{}`,
		`{"equals":"a","contains":"b"}`,
		`{"fuzzy":"a"}`,
		`{"equals":""}`,
		`{"regex":"(?<=x)y"}`, // look-behind: valid in Python, not in RE2
		`{"or":[{"nope":"x"}]}`,
		`{"or":"x"}`,
		`"gpt-4o"`,
	} {
		if got, err := convertMatch(json.RawMessage(in)); err == nil {
			t.Errorf("convertMatch(%s) = %+v; want an error", in, got)
		}
	}
}

func TestConvertPrices(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []outPrice
	}{
		{"plain", `{"input_mtok":2.5,"cache_read_mtok":1.25,"output_mtok":10,"cache_write_mtok":3,"input_audio_mtok":40,"requests_kcount":1}`,
			[]outPrice{{In: 2.5, Out: 10, CacheRead: 1.25}}},
		{"empty (free)", `{}`, []outPrice{{}}},
		{"text-only names", `{"input_text_mtok":1,"output_text_mtok":2,"cache_text_read_mtok":0.1}`,
			[]outPrice{{In: 1, Out: 2, CacheRead: 0.1}}},
		{"tiered uses base", `{"input_mtok":{"base":0.075,"tiers":[{"start":128000,"price":0.15}]},"output_mtok":{"base":0.3,"tiers":[{"start":128000,"price":0.6}]}}`,
			[]outPrice{{In: 0.075, Out: 0.3}}},
		{"float noise dropped", `{"input_mtok":0.18000000000000002}`, []outPrice{{In: 0.18}}},
		{"start date kept", `[{"prices":{"input_mtok":2,"output_mtok":10}},{"constraint":{"start_date":"2026-09-01"},"prices":{"input_mtok":3,"output_mtok":15}}]`,
			[]outPrice{{In: 2, Out: 10}, {From: "2026-09-01", In: 3, Out: 15}}},
		// DeepSeek: off-peak discount first, standard rate in a daily window.
		{"time of day uses standard rate", `[{"prices":{"input_mtok":0.135,"output_mtok":0.55}},{"constraint":{"start_time":"00:30:00Z","end_time":"16:30:00Z"},"prices":{"input_mtok":0.27,"output_mtok":1.1}}]`,
			[]outPrice{{In: 0.27, Out: 1.1}}},
		{"unconstrained hides earlier", `[{"constraint":{"start_date":"2025-01-01"},"prices":{"input_mtok":1}},{"prices":{"input_mtok":2}}]`,
			[]outPrice{{In: 2}}},
		{"no-op dated entry dropped", `[{"prices":{"input_mtok":{"base":5,"tiers":[{"start":200000,"price":10}]}}},{"constraint":{"start_date":"2026-03-13"},"prices":{"input_mtok":5}}]`,
			[]outPrice{{In: 5}}},
	}
	for _, tt := range tests {
		got, err := convertPrices(json.RawMessage(tt.in))
		if err != nil {
			t.Errorf("%s: convertPrices: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: convertPrices mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestConvertPricesErrors(t *testing.T) {
	for _, in := range []string{
		`[]`,
		`{"input_mtok":"cheap"}`,
		`{"input_mtok":-1}`,
		`{"input_mtok":{"tiers":[]}}`,
		`[{"constraint":{"start_date":"next week"},"prices":{}}]`,
		`[{"constraint":{"weekday":"monday"},"prices":{}}]`,
	} {
		if got, err := convertPrices(json.RawMessage(in)); err == nil {
			t.Errorf("convertPrices(%s) = %+v; want an error", in, got)
		}
	}
}

func TestGenerateFormat(t *testing.T) {
	in := `[{"id":"p","name":"P","api_pattern":"x","model_match":{"contains":"m"},"fallback_model_providers":["q"],
"models":[{"id":"m1","match":{"equals":"m1"},"context_window":8,"prices":{"input_mtok":1,"output_mtok":2}},
{"id":"m2","match":{"equals":"m2"},"prices":{}}]},
{"id":"q","name":"Q","api_pattern":"y","models":[]}]`
	want := `{"source":"genai-prices","providers":[
{"id":"p","model_match":{"contains":"m"},"fallback":["q"],"models":[
{"id":"m1","match":{"equals":"m1"},"ctx":8,"prices":[{"in":1,"out":2}]},
{"id":"m2","match":{"equals":"m2"},"prices":[{"in":0,"out":0}]}
]},
{"id":"q","models":[
]}
]}
`
	got, err := generate([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("generate mismatch (-want +got):\n%s", diff)
	}
	if !json.Valid(got) {
		t.Errorf("generate output is not valid JSON")
	}
}

// TestGeneratedUpToDate fails when prices.json was not regenerated after the
// shared data file changed. Run `go generate ./internal/pricing` to fix.
func TestGeneratedUpToDate(t *testing.T) {
	src, err := os.ReadFile("../../../../shared/data/genai-prices.json")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("shared/data/genai-prices.json is not beside the repository")
	}
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../prices.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("internal/pricing/prices.json is stale; run go generate ./internal/pricing")
	}
}
