package gateway

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

// wholeCodec is a RawCache whose answers are the same bytes whole or
// streamed, and which replays them itself (RawReplayer), noting the calls.
type wholeCodec struct{ replays *int }

func (wholeCodec) Key(body []byte) ([]byte, bool)        { return body, true }
func (wholeCodec) Whole(b []byte, _ bool) ([]byte, bool) { return b, len(b) > 0 }
func (wholeCodec) Stream(whole []byte) []byte            { return whole }
func (c wholeCodec) Replay(kept []byte, _, stream bool, _ llm.Usage) ([]byte, bool) {
	*c.replays++
	if stream {
		return append([]byte("stream:"), kept...), true
	}
	return kept, true
}

// undecoded is an exchange as the OpenAI dialect makes it: no Chat, a
// Decode for when an attempt translates, and the cache offered.
func undecoded(stream bool, codec RawCache) *Exchange {
	return &Exchange{
		Raw:    &llm.RawRequest{Protocol: llm.OpenAIChat, Body: []byte(`{"model":"x","q":1}`), Stream: stream},
		Decode: func() (*llm.ChatRequest, error) { r := userSays("hello"); r.Stream = stream; return r, nil },
		Prompt: 10,
		Cache:  codec,
	}
}

func readAll(t *testing.T, r io.ReadCloser) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	return b
}

// With the cache on, an undecoded exchange whose dialect offers the cache
// stays in the pass-through lane: its answer is kept as it passes and a
// repeat is replayed by the dialect's codec, in the framing it asks for.
func TestUndecodedExchangeCachedInPassThrough(t *testing.T) {
	fw, _ := forwarding("raw answer", &llm.Usage{PromptTokens: 4, CompletionTokens: 6}, answer("translated", nil))
	h, fc := cacheHarness(t, fw, llmservice.Limits{})
	fw.forwards = func(p llm.Protocol) bool { return p == llm.OpenAIChat }
	var replays int
	codec := wholeCodec{replays: &replays}
	ctx := context.Background()

	first, err := h.g.Exchange(ctx, h.cachedCall("priced"), undecoded(false, codec))
	if err != nil {
		t.Fatal(err)
	}
	if first.Raw == nil || first.Cache != CacheMiss {
		t.Fatalf("first: %+v; want a raw miss", first)
	}
	if b := readAll(t, first.Raw.Body); string(b) != "raw answer" || fc.Len() != 1 {
		t.Fatalf("first read %q, %d entries kept", b, fc.Len())
	}
	for _, stream := range []bool{false, true} {
		ans, err := h.g.Exchange(ctx, h.cachedCall("priced"), undecoded(stream, codec))
		if err != nil {
			t.Fatal(err)
		}
		want := "raw answer"
		if stream {
			want = "stream:raw answer"
		}
		if ans.Raw == nil || ans.Cache != CacheHit {
			t.Fatalf("stream %v: %+v; want a raw hit", stream, ans)
		}
		if b := readAll(t, ans.Raw.Body); string(b) != want {
			t.Fatalf("stream %v: replay %q, want %q", stream, b, want)
		}
	}
	if fw.nfwd.Load() != 1 || replays != 2 {
		t.Fatalf("%d forwards, %d replays; want 1 and 2", fw.nfwd.Load(), replays)
	}
}

// An undecoded exchange whose attempt translated (a fallback to another
// family) keeps the translated answer; a repeat, streamed or not, is
// replayed from it although the dialect never decoded the repeat.
func TestUndecodedExchangeReplaysTranslatedEntry(t *testing.T) {
	fw := &fakeForwarder{fakeProvider: &fakeProvider{}, forwards: func(p llm.Protocol) bool { return p == llm.OpenAIChat }}
	fw.forward = func(context.Context, *llm.RawRequest, string) (*llm.RawResponse, error) { return nil, errUpstream503 }
	other := &fakeProvider{chat: answer("from the fallback", &llm.Usage{PromptTokens: 2, CompletionTokens: 3})}
	fc := newFakeCache()
	h := newHarness(t, env{
		instances: []Instance{one("openai", "openai", fw), one("claude", "anthropic", other)},
		models: []*llmservice.Model{
			{Name: "primary", Provider: "openai", UpstreamModel: "gpt"},
			{Name: "fallback", Provider: "claude", UpstreamModel: "claude-x"},
		},
		groups: []*llmservice.ModelGroup{{Name: "grp", Models: []string{"primary", "fallback"}}},
		policy: routePolicy(4),
		team:   &llmservice.Team{ID: "t1", Cache: &llmservice.CachePolicy{TTL: "1h"}},
		cache:  fc,
	})
	var replays int
	ctx := context.Background()
	first, err := h.g.Exchange(ctx, h.cachedCall("grp"), undecoded(false, wholeCodec{replays: &replays}))
	if err != nil {
		t.Fatal(err)
	}
	if first.Result == nil || first.Cache != CacheMiss || fc.Len() != 1 {
		t.Fatalf("first: %+v, %d entries; want a translated miss, kept", first, fc.Len())
	}
	whole, err := h.g.Exchange(ctx, h.cachedCall("grp"), undecoded(false, wholeCodec{replays: &replays}))
	if err != nil {
		t.Fatal(err)
	}
	if whole.Result == nil || whole.Cache != CacheHit || whole.Result.Response.Choices[0].Message.Text() != "from the fallback" {
		t.Fatalf("whole repeat: %+v; want the kept translated answer", whole)
	}
	stream, err := h.g.Exchange(ctx, h.cachedCall("grp"), undecoded(true, wholeCodec{replays: &replays}))
	if err != nil {
		t.Fatal(err)
	}
	if stream.Stream == nil || stream.Cache != CacheHit {
		t.Fatalf("streamed repeat: %+v; want a replayed stream", stream)
	}
	var text bytes.Buffer
	for {
		ch, err := stream.Stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString(ch.Text)
	}
	if text.String() != "from the fallback" || other.Calls() != 1 || replays != 0 {
		t.Fatalf("replayed %q after %d fallback calls, %d raw replays", text.String(), other.Calls(), replays)
	}
}
