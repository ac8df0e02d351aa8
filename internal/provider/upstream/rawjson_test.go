package upstream

import (
	"encoding/json"
	"testing"
)

func TestSetString(t *testing.T) {
	tests := []struct {
		doc   string
		path  []string
		want  string
		found bool
	}{
		{`{"model":"a","x":1}`, []string{"model"}, `{"model":"b","x":1}`, true},
		{`{ "x" : {"model":"a"}, "model" :  "a" }`, []string{"model"}, `{ "x" : {"model":"a"}, "model" :  "b" }`, true},
		{`{"type":"message_start","message":{"id":"m","model":"a","usage":{}}}`, []string{"message", "model"}, `{"type":"message_start","message":{"id":"m","model":"b","usage":{}}}`, true},
		{`{"model":"a","model":"c"}`, []string{"model"}, `{"model":"b","model":"b"}`, true},
		{`{"x":"\u00e9 \"model\":\"a\""}`, []string{"model"}, `{"x":"\u00e9 \"model\":\"a\""}`, false},
		{`{"message":"str"}`, []string{"message", "model"}, `{"message":"str"}`, false},
		{`{"model":1.50e3}`, []string{"model"}, `{"model":"b"}`, true},
	}
	for _, tt := range tests {
		got, found, err := SetString([]byte(tt.doc), tt.path, "b")
		if err != nil || found != tt.found || string(got) != tt.want {
			t.Errorf("SetString(%s, %v) = %s, %v, %v; want %s, %v", tt.doc, tt.path, got, found, err, tt.want, tt.found)
		}
	}
	for _, bad := range []string{``, `[]`, `{"model":`, `{"a":1}}`, `"s"`} {
		if _, found, err := SetString([]byte(bad), []string{"model"}, "b"); found || (err == nil && bad != `{"a":1}}`) {
			t.Errorf("SetString(%s) = found %v, err %v; want an error", bad, found, err)
		}
	}
}

// FuzzSetString: a valid document stays valid with the value replaced and
// nothing else changed; anything else gives an error or no change.
func FuzzSetString(f *testing.F) {
	for _, s := range []string{`{"model":"a","x":[1,{"model":"z"}]}`, `{"message":{"model":"a"}}`, `{}`, `{"model":null}`, `[1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, found, err := SetString(doc, []string{"model"}, "new\"value")
		if err != nil || !found {
			if string(got) != string(doc) {
				t.Fatalf("SetString(%q) changed a document it did not edit", doc)
			}
			return
		}
		if !json.Valid(doc) {
			return // a trailing mistake after the object is not this function's to find
		}
		var v map[string]json.RawMessage
		if err := json.Unmarshal(got, &v); err != nil {
			t.Fatalf("SetString(%q) = %q, not JSON: %v", doc, got, err)
		}
		var m string
		if json.Unmarshal(v["model"], &m) != nil || m != "new\"value" {
			t.Fatalf("SetString(%q) = %q: model %s", doc, got, v["model"])
		}
	})
}
