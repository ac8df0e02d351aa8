package cache

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCanonicalBody(t *testing.T) {
	tests := []struct {
		name, body string
		drop       []string
		want       string // "" when refused
	}{
		{"sorted at every depth", `{"b":1,"a":{"d":[{"y":true,"x":null}],"c":"s"}}`, nil, `{"a":{"c":"s","d":[{"x":null,"y":true}]},"b":1}`},
		{"spaces go", " {\n\t\"a\" : [ 1 , 2.50 , -3e+2 ] ,\r\n \"b\":{ } , \"c\":[ ]} ", nil, `{"a":[1,2.50,-3e+2],"b":{},"c":[]}`},
		{"numbers and strings as written", `{"n":1.0,"s":"\u00e9\n"}`, nil, `{"n":1.0,"s":"\u00e9\n"}`},
		{"top-level fields dropped", `{"stream":true,"m":{"stream":1},"user":"u"}`, []string{"stream", "user"}, `{"m":{"stream":1}}`},
		{"a key given twice keeps its order", `{"b":2,"a":1,"b":3}`, nil, `{"a":1,"b":2,"b":3}`},
		{"empty object", `{}`, nil, `{}`},
		{"not an object", `[1]`, nil, ""},
		{"trailing garbage", `{"a":1} x`, nil, ""},
		{"cut short", `{"a":[1,2`, nil, ""},
		{"bad literal", `{"a":tru}`, nil, ""},
		{"leading zero", `{"a":01}`, nil, ""},
		{"bad escape", `{"a":"\x"}`, nil, ""},
		{"control character in a string", "{\"a\":\"\x01\"}", nil, ""},
		{"trailing comma", `{"a":1,}`, nil, ""},
		{"too deep", `{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := CanonicalBody([]byte(tt.body), tt.drop...)
			if !ok {
				got = nil
			}
			if string(got) != tt.want {
				t.Fatalf("CanonicalBody(%s) = %s (%v); want %s", tt.body, got, ok, tt.want)
			}
		})
	}
}

func decodeNumbers(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// FuzzCanonicalBody: a JSON object is accepted exactly when encoding/json
// accepts it (within the depth bound), its canonical form decodes to the
// same value without the dropped fields, and reformatting the body does
// not change it.
func FuzzCanonicalBody(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":{"d":[{"y":true,"x":null}],"c":"s"}}`, `{"stream":true,"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"a":"\u00e9\"","b":-0.5e-3}`, `{"a":1,"a":2}`, `{}`, `{"a":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) || bytes.Count(body, []byte("["))+bytes.Count(body, []byte("{")) > 60 {
			return
		}
		got, ok := CanonicalBody(body, "stream")
		want, err := decodeNumbers(body)
		m, isObject := want.(map[string]any)
		if valid := json.Valid(body) && err == nil && isObject; ok != valid {
			t.Fatalf("accepted %v, encoding/json %v: %q", ok, valid, body)
		}
		if !ok {
			return
		}
		delete(m, "stream")
		back, err := decodeNumbers(got)
		if err != nil || !reflect.DeepEqual(back, any(m)) {
			t.Fatalf("canonical %s decodes to %v (%v); want %v", got, back, err, m)
		}
		var indented bytes.Buffer
		if json.Indent(&indented, body, " ", "\t") == nil {
			again, ok := CanonicalBody(indented.Bytes(), "stream")
			if !ok || !bytes.Equal(again, got) {
				t.Fatalf("reformatted: %s; want %s", again, got)
			}
		}
	})
}
