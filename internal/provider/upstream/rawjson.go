package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// SetString returns doc with the string value at path (object keys from the
// top) replaced by value, every other byte left as it was: the pass-through
// lane edits the model field of a body it must not re-encode, since
// re-encoding would reorder keys, re-escape strings and drop nothing a
// signature could notice but everything a byte comparison would. found is
// false, and doc is returned unchanged, when the path is absent or a value
// on it is not an object. A key that appears several times is replaced at
// each place, so that no JSON reader sees the old value.
func SetString(doc []byte, path []string, value string) (out []byte, found bool, err error) {
	enc, err := json.Marshal(value)
	if err != nil {
		return doc, false, err
	}
	return setRaw(doc, path, enc)
}

func setRaw(doc []byte, path []string, value []byte) ([]byte, bool, error) {
	spans, err := fieldSpans(doc, path[0])
	if err != nil || len(spans) == 0 {
		return doc, false, err
	}
	var b bytes.Buffer
	b.Grow(len(doc) + len(value))
	prev, found := 0, false
	for _, s := range spans {
		repl := value
		if len(path) > 1 {
			sub, ok, err := setRaw(doc[s[0]:s[1]], path[1:], value)
			if errors.Is(err, errNotObject) {
				continue // a value on the path that is no object holds no such field
			}
			if err != nil {
				return doc, false, err
			}
			if !ok {
				continue
			}
			repl = sub
		}
		found = true
		b.Write(doc[prev:s[0]])
		b.Write(repl)
		prev = s[1]
	}
	if !found {
		return doc, false, nil
	}
	b.Write(doc[prev:])
	return b.Bytes(), true, nil
}

// errNotObject is returned when a document is not a JSON object.
var errNotObject = errors.New("not a JSON object")

// fieldSpans returns the byte spans of the values of key in the JSON
// object doc.
func fieldSpans(doc []byte, key string) ([][2]int, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}
	var spans [][2]int
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := kt.(string)
		start := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		end := int(dec.InputOffset())
		if k != key {
			continue
		}
		// The offset after a key sits before the colon; the value starts
		// at the first byte that is neither space nor colon.
		for start < end && (doc[start] == ':' || doc[start] == ' ' || doc[start] == '\t' || doc[start] == '\n' || doc[start] == '\r') {
			start++
		}
		spans = append(spans, [2]int{start, end})
	}
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return spans, nil
}
