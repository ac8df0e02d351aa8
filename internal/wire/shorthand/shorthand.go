// Package shorthand decodes the JSON shorthand the vendors' APIs share: a
// string standing for a list of one element (Anthropic's content and
// system, the Responses API's input and content). Every dialect and wire
// package that reads one decodes it here, so the rule is written once.
package shorthand

import (
	"bytes"
	"encoding/json"
)

// List decodes b, a JSON array of T or a string that one turns into the
// array's single element, into *dst. null leaves *dst nil; on an error
// *dst is left as it was.
func List[T any](b []byte, dst *[]T, one func(s string) T) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*dst = []T{one(s)}
		return nil
	}
	var v []T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*dst = v
	return nil
}
