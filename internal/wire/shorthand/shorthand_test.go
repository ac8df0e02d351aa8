package shorthand

import (
	"reflect"
	"testing"
)

type part struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func text(s string) part { return part{Type: "text", Text: s} }

func TestList(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []part
		wantErr bool
	}{
		{in: `"hi"`, want: []part{text("hi")}},
		{in: ` "a\"b" `, want: []part{text(`a"b`)}},
		{in: `[{"type":"image","text":""},{"type":"text","text":"x"}]`, want: []part{{Type: "image"}, text("x")}},
		{in: `[]`, want: []part{}},
		{in: `null`, want: nil},
		{in: `"unterminated`, wantErr: true},
		{in: `{"type":"text"}`, wantErr: true},
		{in: `7`, wantErr: true},
	} {
		old := []part{text("before")}
		got := old
		err := List([]byte(tc.in), &got, text)
		if tc.wantErr {
			if err == nil || !reflect.DeepEqual(got, old) {
				t.Errorf("%s: got %v, %v; want an error and the list untouched", tc.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzList: any input decodes or fails without a panic, and a success
// never leaves a string unwrapped.
func FuzzList(f *testing.F) {
	for _, s := range []string{`"x"`, `[{"type":"text","text":"y"}]`, `null`, `[`, `"\u00e9"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got []part
		if err := List(b, &got, text); err != nil && got != nil {
			t.Fatalf("%q: error %v but list set to %v", b, err, got)
		}
	})
}
