package cli

import (
	"bytes"
	"flag"
	"io"
	"slices"
	"testing"
)

func TestBar(t *testing.T) {
	for _, tc := range []struct {
		v, top float64
		want   string
	}{
		{0, 10, ""},
		{10, 10, "████████████████████████████████████████"},
		{5, 10, "████████████████████"},
		{1, 3, "█████████████▍"},
		{1, 1000, "▏"},
		{1, 0, ""},
	} {
		if got := bar(tc.v, tc.top); got != tc.want {
			t.Errorf("bar(%v, %v) = %q; want %q", tc.v, tc.top, got, tc.want)
		}
	}
}

func TestBarChart(t *testing.T) {
	var b bytes.Buffer
	barChart(&b, "requests by model", []string{"gpt-4o-mini", "claude"}, []float64{318, 159}, func(v float64) string { return group(int64(v)) })
	want := "requests by model\n" +
		"  gpt-4o-mini ████████████████████████████████████████ 318\n" +
		"  claude      ████████████████████                     159\n"
	if b.String() != want {
		t.Errorf("barChart =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestProgressAndGroup(t *testing.T) {
	if got := progress(5, 10); got != "[###############...............] 5/10" {
		t.Errorf("progress(5, 10) = %q", got)
	}
	if got := progress(0, 0); got != "[..............................] 0/1" {
		t.Errorf("progress(0, 0) = %q", got)
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q; want %q", n, got, want)
		}
	}
}

// Flags may come before, between or after the positional arguments, as
// people type them.
func TestParseInterleaved(t *testing.T) {
	for _, args := range [][]string{{"acme", "--json"}, {"--json", "acme"}, {"--json=true", "acme"}} {
		fs := flag.NewFlagSet("teams get", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		j := fs.Bool("json", false, "")
		pos, err := parse(fs, args, "ID")
		if err != nil || !slices.Equal(pos, []string{"acme"}) || !*j {
			t.Errorf("parse(%q) = %q, json %v, %v; want [acme], json", args, pos, *j, err)
		}
	}
	fs := flag.NewFlagSet("teams get", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parse(fs, []string{"a", "b"}, "ID"); err == nil {
		t.Error("parse of two positional arguments for one: no error")
	}
	if _, err := parse(fs, []string{"--nope"}); err == nil {
		t.Error("parse of an unknown flag: no error")
	}
}
