package anthropic

import (
	"bytes"
	"testing"
)

// FuzzCacheWhole: whatever an upstream sends, the cache's reading of it
// never panics, and a whole answer it accepts replays as a stream that
// reads back to an answer it accepts again.
func FuzzCacheWhole(f *testing.F) {
	f.Add([]byte(`event: message_start\ndata: {"type":"message_start","message":{"type":"message","content":[],"usage":{"input_tokens":3}}}\n\nevent: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}\n\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}\n\ndata: {"type":"message_stop"}\n\n`), true)
	f.Add([]byte(`{}`), false)
	f.Fuzz(func(t *testing.T, body []byte, stream bool) {
		var c messagesCache
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
