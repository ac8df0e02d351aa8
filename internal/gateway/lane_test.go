package gateway

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

// forwarding returns a forwarder of OpenAI chat whose upstream answers
// body, with the usage its scanner reads at the end.
func forwarding(body string, u *llm.Usage, chat func(context.Context, *llm.ChatRequest) (*llm.ChatResponse, error)) (*fakeForwarder, *[]*fakeRawBody) {
	var bodies []*fakeRawBody
	fw := &fakeForwarder{
		fakeProvider: &fakeProvider{chat: chat},
		forwards:     func(p llm.Protocol) bool { return p == llm.OpenAIChat },
	}
	fw.forward = func(_ context.Context, req *llm.RawRequest, model string) (*llm.RawResponse, error) {
		b := &fakeRawBody{data: []byte(body), usage: u, text: "forwarded text"}
		bodies = append(bodies, b)
		return &llm.RawResponse{Status: 200, Header: map[string][]string{"X-Up": {model}}, Body: b}, nil
	}
	return fw, &bodies
}

func exchange(stream bool, proto llm.Protocol) *Exchange {
	req := userSays("hello")
	req.Stream = stream
	return &Exchange{Raw: &llm.RawRequest{Protocol: proto, Body: []byte(`{"model":"x"}`), Stream: stream}, Chat: req}
}

// Each attempt takes the pass-through lane when its provider forwards the
// client's protocol, and the translation lane otherwise.
func TestExchangeLane(t *testing.T) {
	tests := []struct {
		name     string
		proto    llm.Protocol
		stream   bool
		noRaw    bool
		wantLane string // raw, result or stream
	}{
		{"the provider forwards the protocol", llm.OpenAIChat, false, false, "raw"},
		{"a forwarded stream", llm.OpenAIChat, true, false, "raw"},
		{"another protocol: translated", llm.AnthropicMessages, false, false, "result"},
		{"another protocol, streamed: translated", llm.AnthropicMessages, true, false, "stream"},
		{"no raw request: translated", llm.OpenAIChat, false, true, "result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw, bodies := forwarding("raw answer", &llm.Usage{PromptTokens: 4, CompletionTokens: 6}, answer("translated", &llm.Usage{PromptTokens: 3, CompletionTokens: 1}))
			up := &fakeStream{chunks: helloChunks(&llm.Usage{PromptTokens: 3, CompletionTokens: 2})}
			fw.stream = streamOf(up)
			h := newHarness(t, env{instances: []Instance{one("mock", "openai", fw)}, models: pricedModels()})
			x := exchange(tt.stream, tt.proto)
			if tt.noRaw {
				x.Raw = nil
			}
			ans, err := h.g.Exchange(context.Background(), h.call("priced"), x)
			if err != nil {
				t.Fatal(err)
			}
			lane := ""
			switch {
			case ans.Raw != nil && ans.Result == nil && ans.Stream == nil:
				lane = "raw"
			case ans.Result != nil && ans.Raw == nil && ans.Stream == nil:
				lane = "result"
			case ans.Stream != nil && ans.Raw == nil && ans.Result == nil:
				lane = "stream"
			}
			if lane != tt.wantLane {
				t.Fatalf("answer %+v; want the %s lane alone", ans, tt.wantLane)
			}
			if ans.Public != "priced" || ans.Instance != "mock" || ans.Model != "echo" {
				t.Errorf("served %+v", ans.Served)
			}
			var wantUsage [2]int
			switch lane {
			case "raw":
				if ans.Raw.Status != 200 || ans.Raw.Header["X-Up"][0] != "echo" {
					t.Errorf("raw answer %d %v; want 200 from the upstream model echo", ans.Raw.Status, ans.Raw.Header)
				}
				if len(h.meter.Records()) != 0 {
					t.Error("a forwarded answer settled before its body was read")
				}
				b, err := io.ReadAll(ans.Raw.Body)
				if err != nil || string(b) != "raw answer" {
					t.Fatalf("body %q, %v", b, err)
				}
				ans.Raw.Body.Close()
				ans.Raw.Body.Close()
				if n := (*bodies)[0].closes.Load(); n != 1 {
					t.Errorf("upstream body closed %d times; want 1", n)
				}
				if fw.Calls() != 0 {
					t.Errorf("%d translated calls; want none", fw.Calls())
				}
				wantUsage = [2]int{4, 6}
			case "result":
				if got := ans.Result.Response.Choices[0].Message.Text(); got != "translated" {
					t.Errorf("answer %q", got)
				}
				if fw.nfwd.Load() != 0 {
					t.Error("forwarded as well")
				}
				wantUsage = [2]int{3, 1}
			case "stream":
				if text, err := drain(t, ans.Stream); text != "Hello" || err != nil {
					t.Errorf("stream %q, %v", text, err)
				}
				ans.Stream.Close()
				wantUsage = [2]int{3, 2}
			}
			rec := h.meter.only(t)
			if rec.Status != 200 || rec.PromptTokens != wantUsage[0] || rec.CompletionTokens != wantUsage[1] ||
				rec.Cost != llmservice.Nanos(wantUsage[0]*1000+wantUsage[1]*2000) || rec.Stream != tt.stream {
				t.Errorf("record %+v; want usage %v", rec, wantUsage)
			}
			if tt.stream && lane == "raw" && rec.TTFTMS != 0 {
				t.Errorf("ttft %d", rec.TTFTMS)
			}
		})
	}
}

// A fallback from a forwarding provider to one of another family simply
// translates.
func TestExchangeFallbackTranslates(t *testing.T) {
	fw := &fakeForwarder{fakeProvider: &fakeProvider{}, forwards: func(p llm.Protocol) bool { return p == llm.OpenAIChat }}
	fw.forward = func(context.Context, *llm.RawRequest, string) (*llm.RawResponse, error) { return nil, errUpstream503 }
	other := &fakeProvider{chat: answer("from the fallback", nil)}
	h := newHarness(t, env{
		instances: []Instance{one("openai", "openai", fw), one("claude", "anthropic", other)},
		models: []*llmservice.Model{
			{Name: "primary", Provider: "openai", UpstreamModel: "gpt"},
			{Name: "fallback", Provider: "claude", UpstreamModel: "claude-x"},
		},
		groups: []*llmservice.ModelGroup{{Name: "grp", Models: []string{"primary", "fallback"}}},
		policy: routePolicy(4),
	})
	ans, err := h.g.Exchange(context.Background(), h.call("grp"), exchange(false, llm.OpenAIChat))
	if err != nil {
		t.Fatal(err)
	}
	if ans.Result == nil || ans.Public != "fallback" || ans.Instance != "claude" || ans.Attempts != 3 {
		t.Fatalf("answer %+v; want the fallback's translated result after 3 attempts", ans)
	}
	if fw.nfwd.Load() != 2 || !slices.Equal(other.Models(), []string{"claude-x"}) {
		t.Errorf("%d forwards, fallback asked for %q", fw.nfwd.Load(), other.Models())
	}
	if rec := h.meter.only(t); rec.AttemptLog != "openai/gpt=upstream openai/gpt=upstream claude/claude-x=ok" {
		t.Errorf("attempt log %q", rec.AttemptLog)
	}
}

// A forwarded answer abandoned before its end is a 499, with the text seen
// counted locally; one that breaks settles as the error.
func TestExchangeRawEnds(t *testing.T) {
	tests := []struct {
		name       string
		read       int // bytes read before Close; -1 to the end
		end        error
		wantStatus int
		wantType   string
	}{
		{"abandoned", 3, nil, 499, "client_closed"},
		{"broken", -1, &llmservice.Error{Kind: llmservice.Upstream, Message: "reset"}, 502, "upstream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw, bodies := forwarding("0123456789", nil, nil)
			inner := fw.forward
			fw.forward = func(ctx context.Context, req *llm.RawRequest, model string) (*llm.RawResponse, error) {
				r, err := inner(ctx, req, model)
				r.Body.(*fakeRawBody).end = tt.end
				return r, err
			}
			h := newHarness(t, env{instances: []Instance{one("mock", "openai", fw)}})
			ans, err := h.g.Exchange(context.Background(), h.call("mock/echo"), exchange(true, llm.OpenAIChat))
			if err != nil {
				t.Fatal(err)
			}
			if tt.read >= 0 {
				buf := make([]byte, tt.read)
				if _, err := io.ReadFull(ans.Raw.Body, buf); err != nil {
					t.Fatal(err)
				}
			} else if _, err := io.ReadAll(ans.Raw.Body); !errors.Is(err, tt.end) {
				t.Fatalf("read error %v; want %v", err, tt.end)
			}
			ans.Raw.Body.Close()
			rec := h.meter.only(t)
			if rec.Status != tt.wantStatus || rec.ErrorType != tt.wantType || !rec.TokensEstimated || rec.CompletionTokens != 3 {
				t.Errorf("record %+v; want %d %s with the 3 tokens of %q", rec, tt.wantStatus, tt.wantType, (*bodies)[0].text)
			}
			if n := inflight(t, h.g); n != 0 {
				t.Errorf("in flight after close: %d", n)
			}
		})
	}
}

// Exchange refuses as Chat does: access, limits and budgets, with the
// refusal recorded.
func TestExchangeRefusals(t *testing.T) {
	fw, _ := forwarding("x", nil, nil)
	h := newHarness(t, env{
		instances: []Instance{one("mock", "openai", fw)},
		key:       &llmservice.Key{ID: "k1", TeamID: "t1", Models: []string{"mock/allowed"}, Limits: llmservice.Limits{RPM: 1}},
	})
	if _, err := h.g.Exchange(context.Background(), h.call("mock/other"), exchange(false, llm.OpenAIChat)); llmservice.ErrorKind(err) != llmservice.Forbidden {
		t.Errorf("a model outside the key's list: %v; want forbidden", err)
	}
	ans, err := h.g.Exchange(context.Background(), h.call("mock/allowed"), exchange(false, llm.OpenAIChat))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, ans.Raw.Body)
	ans.Raw.Body.Close()
	_, err = h.g.Exchange(context.Background(), h.call("mock/allowed"), exchange(false, llm.OpenAIChat))
	var re *RateError
	if !errors.As(err, &re) || llmservice.ErrorKind(err) != llmservice.RateLimited {
		t.Errorf("over the RPM: %v; want a RateError", err)
	}
	var statuses []int
	for _, r := range h.meter.Records() {
		statuses = append(statuses, r.Status)
	}
	if want := []int{403, 200, 429}; !slices.Equal(statuses, want) {
		t.Errorf("recorded %v; want %v", statuses, want)
	}
	if fw.nfwd.Load() != 1 {
		t.Errorf("%d forwards; want 1", fw.nfwd.Load())
	}
}

// Every entry point times out alike: a whole answer when the deadline
// passes, a stream (forwarded or translated) when its first frame is
// late; each is a 504 with code upstream_timeout, in the error the client
// gets and in the ledger.
func TestTimeoutAcrossEntryPoints(t *testing.T) {
	const whole, first = "The upstream did not answer in time", "The upstream did not send its first chunk in time"
	tests := []struct {
		name    string
		run     func(g *Gateway, c *Call) error
		wantMsg string
	}{
		{"Chat", func(g *Gateway, c *Call) error {
			_, err := g.Chat(context.Background(), c, userSays("hello"))
			return err
		}, whole},
		{"ChatStream", func(g *Gateway, c *Call) error {
			_, err := g.ChatStream(context.Background(), c, userSays("hello"))
			return err
		}, first},
		{"Exchange forwarded", func(g *Gateway, c *Call) error {
			_, err := g.Exchange(context.Background(), c, exchange(false, llm.OpenAIChat))
			return err
		}, whole},
		{"Exchange forwarded stream", func(g *Gateway, c *Call) error {
			_, err := g.Exchange(context.Background(), c, exchange(true, llm.OpenAIChat))
			return err
		}, first},
		{"Exchange translated", func(g *Gateway, c *Call) error {
			_, err := g.Exchange(context.Background(), c, exchange(false, llm.AnthropicMessages))
			return err
		}, whole},
		{"Exchange translated stream", func(g *Gateway, c *Call) error {
			_, err := g.Exchange(context.Background(), c, exchange(true, llm.AnthropicMessages))
			return err
		}, first},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cancelled := func(ctx context.Context) error {
				<-ctx.Done()
				return &llmservice.Error{Kind: llmservice.Upstream, Code: "cancelled", Message: "cancelled", Err: ctx.Err()}
			}
			fw := &fakeForwarder{
				fakeProvider: &fakeProvider{
					chat:   func(ctx context.Context, _ *llm.ChatRequest) (*llm.ChatResponse, error) { return nil, cancelled(ctx) },
					stream: func(ctx context.Context, _ *llm.ChatRequest) (llm.Stream, error) { return nil, cancelled(ctx) },
				},
				forwards: func(p llm.Protocol) bool { return p == llm.OpenAIChat },
				forward: func(ctx context.Context, _ *llm.RawRequest, _ string) (*llm.RawResponse, error) {
					return nil, cancelled(ctx)
				},
			}
			h := newHarness(t, env{instances: []Instance{one("mock", "openai", fw)}, timeout: time.Nanosecond})
			e := llmservice.AsError(tt.run(h.g, h.call("mock/echo")))
			if e.Kind != llmservice.UpstreamTimeout || e.Code != "upstream_timeout" || e.Message != tt.wantMsg {
				t.Errorf("err %s %q %q; want upstream_timeout %q", e.Kind, e.Code, e.Message, tt.wantMsg)
			}
			if rec := h.meter.only(t); rec.Status != 504 || rec.ErrorType != "upstream_timeout" {
				t.Errorf("recorded %d %q; want 504 upstream_timeout", rec.Status, rec.ErrorType)
			}
		})
	}
}

// Every entry point leaves thinking another family signed out of a
// translated request (its own family's stays).
func TestForeignThinkingAcrossEntryPoints(t *testing.T) {
	msgs := []llm.Message{
		llm.TextMessage(llm.RoleUser, "q"),
		{Role: llm.RoleAssistant, Content: []llm.Part{
			{Type: llm.PartThinking, Text: "mine", Family: "openai"},
			{Type: llm.PartThinking, Text: "theirs", Family: "anthropic"},
			{Type: llm.PartText, Text: "answer"},
		}},
		llm.TextMessage(llm.RoleUser, "and?"),
	}
	tests := []struct {
		name string
		run  func(g *Gateway, c *Call, req *llm.ChatRequest) error
	}{
		{"Chat", func(g *Gateway, c *Call, req *llm.ChatRequest) error {
			_, err := g.Chat(context.Background(), c, req)
			return err
		}},
		{"ChatStream", func(g *Gateway, c *Call, req *llm.ChatRequest) error {
			s, err := g.ChatStream(context.Background(), c, req)
			if err == nil {
				s.Close()
			}
			return err
		}},
		{"Exchange translated", func(g *Gateway, c *Call, req *llm.ChatRequest) error {
			ans, err := g.Exchange(context.Background(), c, &Exchange{Raw: &llm.RawRequest{Protocol: llm.AnthropicMessages}, Chat: req})
			if err == nil && ans.Result == nil {
				t.Fatal("not translated")
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][]llm.Part
			note := func(req *llm.ChatRequest) { got = append(got, req.Messages[1].Content) }
			pv := &fakeProvider{
				chat: func(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
					note(req)
					return answer("fine", nil)(ctx, req)
				},
				stream: func(_ context.Context, req *llm.ChatRequest) (llm.Stream, error) {
					note(req)
					return &fakeStream{chunks: helloChunks(nil)}, nil
				},
			}
			h := newHarness(t, env{instances: []Instance{one("mock", "openai", pv)}})
			if err := tt.run(h.g, h.call("mock/echo"), &llm.ChatRequest{Messages: msgs}); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d upstream requests; want 1", len(got))
			}
			var kept []string
			for _, p := range got[0] {
				kept = append(kept, p.Text)
			}
			if want := []string{"mine", "answer"}; !slices.Equal(kept, want) {
				t.Errorf("upstream got %q; want %q", kept, want)
			}
		})
	}
}

// Thinking signed by another family is left out of a translated request;
// the family's own is kept, and the caller's request is not changed.
func TestTranslatedDropsForeignThinking(t *testing.T) {
	msgs := []llm.Message{
		llm.TextMessage(llm.RoleUser, "q"),
		{Role: llm.RoleAssistant, Content: []llm.Part{
			{Type: llm.PartThinking, Text: "mine", Family: "anthropic"},
			{Type: llm.PartThinking, Text: "theirs", Family: "gemini"},
			{Type: llm.PartRedactedThinking, Data: "x", Family: "gemini"},
			{Type: llm.PartText, Text: "answer"},
		}},
	}
	req := &llm.ChatRequest{Model: "public", Messages: msgs}
	r := translated(req, "upstream", "anthropic")
	if r.Model != "upstream" || req.Model != "public" {
		t.Errorf("models %q, %q", r.Model, req.Model)
	}
	var kept []string
	for _, p := range r.Messages[1].Content {
		kept = append(kept, p.Text+p.Data)
	}
	if want := []string{"mine", "answer"}; !slices.Equal(kept, want) {
		t.Errorf("kept %q; want %q", kept, want)
	}
	if len(req.Messages[1].Content) != 4 {
		t.Error("the caller's request was changed")
	}
	if r2 := translated(&llm.ChatRequest{Messages: msgs[:1]}, "m", "openai"); &r2.Messages[0] != &msgs[0] {
		t.Error("a request without foreign thinking was copied")
	}
}

// Token counts ask a forwarding upstream first and count locally when it
// cannot answer or the model is another family's.
func TestCountTokens(t *testing.T) {
	tests := []struct {
		name    string
		forward func(context.Context, *llm.RawRequest, string) (*llm.RawResponse, error)
		proto   llm.Protocol
		want    int
	}{
		{"the upstream counts", func(context.Context, *llm.RawRequest, string) (*llm.RawResponse, error) {
			return &llm.RawResponse{Status: 200, Body: &fakeRawBody{data: []byte("{}"), usage: &llm.Usage{PromptTokens: 42}}}, nil
		}, llm.AnthropicMessages, 42},
		{"the upstream fails: local count", func(context.Context, *llm.RawRequest, string) (*llm.RawResponse, error) {
			return nil, errUpstream503
		}, llm.AnthropicMessages, -1},
		{"the upstream answers no count: local count", func(context.Context, *llm.RawRequest, string) (*llm.RawResponse, error) {
			return &llm.RawResponse{Status: 200, Body: &fakeRawBody{data: []byte("{}")}}, nil
		}, llm.AnthropicMessages, -1},
		{"another protocol: local count", nil, llm.OpenAIChat, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := &fakeForwarder{fakeProvider: &fakeProvider{}, forwards: func(p llm.Protocol) bool { return p == llm.AnthropicMessages }, forward: tt.forward}
			h := newHarness(t, env{instances: []Instance{one("claude", "anthropic", fw)},
				key: &llmservice.Key{ID: "k1", TeamID: "t1", Limits: llmservice.Limits{RPM: 1}}})
			x := exchange(false, tt.proto)
			x.Chat.Tools = []llm.Tool{{Name: "lookup", Description: "find a thing", Parameters: []byte(`{"type":"object"}`)}}
			want := tt.want
			if want < 0 {
				want = CountLocally("model", x.Chat)
			}
			for range 3 { // counts take no rate limit
				n, err := h.g.CountTokens(context.Background(), h.call("claude/model"), x)
				if err != nil || n != want {
					t.Fatalf("count %d, %v; want %d", n, err, want)
				}
			}
			if len(h.meter.Records()) != 0 {
				t.Error("a count was recorded")
			}
		})
	}
}

func TestCountLocally(t *testing.T) {
	req := userSays("hello world")
	base := CountLocally("gpt-4o", req)
	if base <= 2 {
		t.Fatalf("count %d", base)
	}
	req.Tools = []llm.Tool{{Name: "lookup"}}
	if got := CountLocally("gpt-4o", req); got != base+1 {
		t.Errorf("with a tool named lookup: %d; want %d", got, base+1)
	}
}
