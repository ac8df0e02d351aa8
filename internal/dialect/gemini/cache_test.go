package gemini

import (
	"bytes"
	"testing"
)

// FuzzCacheWhole: whatever an upstream sends, the cache's reading of it
// never panics, and a whole answer it accepts replays as a stream that
// reads back to an answer it accepts again.
func FuzzCacheWhole(f *testing.F) {
	f.Add([]byte(`data: {"candidates":[{"content":{"parts":[{"text":"h"}]}}]}\n\ndata: {"candidates":[{"content":{"parts":[{"text":"i"}]},"finishReason":"STOP"}]}\n\n`), true)
	f.Add([]byte(`{}`), false)
	f.Fuzz(func(t *testing.T, body []byte, stream bool) {
		var c generateCache
		whole, ok := c.Whole(body, stream)
		if !ok {
			return
		}
		s := c.Stream(whole)
		if _, ok := c.Whole(s, true); !ok {
			t.Fatalf("the replay of an accepted answer is refused:\n%s\n%s", whole, s)
		}
		if len(s) > 0 && !bytes.HasSuffix(s, []byte("\n\n")) {
			t.Fatalf("replay not ended by a blank line: %q", s)
		}
	})
}
