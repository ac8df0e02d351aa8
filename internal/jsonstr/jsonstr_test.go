package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAppendUnquoted(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`""`, ""},
		{`"plain"`, "plain"},
		{`"a\"b\\c\/d"`, `a"b\c/d`},
		{`"\b\f\n\r\t"`, "\b\f\n\r\t"},
		{`"\u00e9t\u00C9"`, "étÉ"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\ud83d"`, "\uFFFD"},
		{`"\ud83dx"`, "\uFFFDx"},
		{`"\ude00\ud83d"`, "\uFFFD\uFFFD"},
		{`"\ud83d\u0041"`, "\uFFFDA"},
		{"\"caf\xc3\xa9\"", "café"},
		{"\"bad \xff byte\"", "bad \uFFFD byte"},
	} {
		got := string(AppendUnquoted([]byte("pre"), []byte(tc.in[1:len(tc.in)-1])))
		if got != "pre"+tc.want {
			t.Errorf("AppendUnquoted(%q) = %q; want %q", tc.in, got, "pre"+tc.want)
		}
		var std string
		if err := json.Unmarshal([]byte(tc.in), &std); err != nil || std != tc.want {
			t.Errorf("the table's want for %q is not encoding/json's %q (%v)", tc.in, std, err)
		}
	}
}

// FuzzAppendUnquoted: for every string literal encoding/json accepts,
// AppendUnquoted gives the value encoding/json decodes.
func FuzzAppendUnquoted(f *testing.F) {
	for _, s := range []string{`"a"`, `"\u00e9"`, `"\ud83d\ude00"`, `"\ud83d"`, "\"\xff\"", `"\n\\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var std string
		lit := strings.TrimRight(in, " \t\r\n") // encoding/json allows whitespace after the value
		if len(lit) < 2 || lit[0] != '"' || json.Unmarshal([]byte(in), &std) != nil {
			return
		}
		if got := string(AppendUnquoted(nil, []byte(lit[1:len(lit)-1]))); got != std {
			t.Fatalf("AppendUnquoted(%q) = %q; encoding/json decodes %q", in, got, std)
		}
	})
}

func TestHex4(t *testing.T) {
	for in, want := range map[string]rune{"0000": 0, "00e9": 0xe9, "00E9": 0xe9, "FFFF": 0xffff, "d83d": 0xd83d} {
		if !IsHex4([]byte(in)) || Hex4([]byte(in)) != want {
			t.Errorf("IsHex4/Hex4(%q) = %v, %#x; want true, %#x", in, IsHex4([]byte(in)), Hex4([]byte(in)), want)
		}
	}
	for _, in := range []string{"00g0", "-001", "00 0"} {
		if IsHex4([]byte(in)) {
			t.Errorf("IsHex4(%q) = true", in)
		}
	}
}
