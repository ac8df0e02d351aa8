package anthropic

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestContentsDecodesStringOrBlocks(t *testing.T) {
	tests := []struct {
		in   string
		want Contents
	}{
		{`"Hello"`, Contents{{Type: BlockText, Text: "Hello"}}},
		{` [{"type":"text","text":"a"},{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]`,
			Contents{{Type: BlockText, Text: "a"}, {Type: BlockImage, Source: &ImageSource{Type: SourceURL, URL: "https://x/y.png"}}}},
		{`null`, nil},
	}
	for _, tt := range tests {
		var got Contents
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Fatalf("Unmarshal(%s): %v", tt.in, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Unmarshal(%s) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
	var bad Contents
	if err := json.Unmarshal([]byte(`42`), &bad); err == nil {
		t.Errorf("Unmarshal(42) = nil error; want one")
	}
}

func TestContentsEncodesAsArray(t *testing.T) {
	b, err := json.Marshal(MessageParam{Role: RoleUser, Content: Contents{{Type: BlockText, Text: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"role":"user","content":[{"type":"text","text":"hi"}]}`; string(b) != want {
		t.Errorf("Marshal = %s; want %s", b, want)
	}
}
