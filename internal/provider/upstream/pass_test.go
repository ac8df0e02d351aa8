package upstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/llmservice/llmservice"
)

// TestRelay: Open reads up to the first event with data and refuses an
// error there; Read then hands out every event as next returned it.
func TestRelay(t *testing.T) {
	refusal := &llmservice.Error{Kind: llmservice.Unavailable, Message: "refused"}
	refuse := func(data []byte) error {
		if string(data) == "error" {
			return refusal
		}
		return nil
	}
	for _, tc := range []struct {
		name, in, want string
		err            error
		wantKind       llmservice.Kind
	}{
		{name: "comment then data", in: ": ping\n\ndata: a\n\ndata: b\n\n", want: ": ping\n\ndata: a\n\ndata: b\n\n"},
		{name: "refused first", in: ": ping\n\ndata: error\n\n", err: refusal},
		{name: "error later passes", in: "data: a\n\ndata: error\n\n", want: "data: a\n\ndata: error\n\n"},
		{name: "no data at all", in: ": ping\n\n", wantKind: llmservice.Upstream},
		{name: "empty", in: "", wantKind: llmservice.Upstream},
	} {
		t.Run(tc.name, func(t *testing.T) {
			closed := false
			body := closer{Reader: strings.NewReader(tc.in), closed: &closed}
			br := bufio.NewReader(body)
			next := func() ([]byte, []byte, error) {
				f, err := ReadRawFrame(br)
				if err != nil {
					return nil, nil, err
				}
				return f, FrameData(f, nil), nil
			}
			var r Relay
			err := r.Open(context.Background(), body, next, refuse)
			switch {
			case tc.err != nil || tc.wantKind != 0:
				if tc.err != nil && !errors.Is(err, tc.err) || tc.wantKind != 0 && llmservice.ErrorKind(err) != tc.wantKind {
					t.Fatalf("Open = %v; want %v / kind %v", err, tc.err, tc.wantKind)
				}
				if !closed {
					t.Error("body not closed after a failed Open")
				}
				return
			case err != nil:
				t.Fatalf("Open = %v", err)
			}
			out, err := io.ReadAll(&r)
			if err != nil || string(out) != tc.want {
				t.Errorf("read %q, %v; want %q", out, err, tc.want)
			}
		})
	}
}

type closer struct {
	io.Reader
	closed *bool
}

func (c closer) Close() error { *c.closed = true; return nil }

// FuzzFrameData: any raw event yields its data without a panic, and a
// rewritten event carries exactly the rewritten data.
func FuzzFrameData(f *testing.F) {
	f.Add([]byte("event: x\ndata: {\"model\":\"a\"}\n\n"))
	f.Add([]byte("data:{\"model\":\"a\"}\r\n\r\n"))
	f.Add([]byte("data: {\"model\":\n data: \"a\"}\n\n"))
	f.Add([]byte(": comment\n\n"))
	f.Fuzz(func(t *testing.T, frame []byte) {
		data := FrameData(frame, nil)
		if data == nil {
			return
		}
		out := SetFrameString(frame, data, []string{"model"}, "public")
		if bytes.Equal(out, frame) {
			return
		}
		want, ok, err := SetString(data, []string{"model"}, "public")
		if err != nil || !ok {
			t.Fatalf("frame rewritten though its data has no model: %q -> %q", frame, out)
		}
		if got := FrameData(out, nil); !bytes.Equal(got, want) {
			t.Fatalf("rewritten data %q; want %q", got, want)
		}
	})
}
