package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/llm"
)

func TestLogMode(t *testing.T) {
	tests := []struct {
		team, server, dialect, want string
	}{
		{"", "", "", llmservice.LogBodiesOff},
		{"", "", "full", "full"},
		{"", "redacted", "full", "redacted"},
		{"off", "redacted", "full", "off"},
		{"full", "", "", "full"},
	}
	for _, tt := range tests {
		g := &Gateway{logBodies: tt.server}
		c := &Call{Principal: &Principal{Team: &llmservice.Team{LogBodies: tt.team}}, LogBodies: tt.dialect}
		if got := g.logMode(c); got != tt.want {
			t.Errorf("team %q server %q dialect %q: %q; want %q", tt.team, tt.server, tt.dialect, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"write to jane.doe@example.com today", "write to [email] today"},
		{"key sk-abcdefghijklmnop1234 leaked", "key [secret] leaked"},
		{"aws AKIAABCDEFGHIJKLMNOP here", "aws [secret] here"},
		{"card 4111111111111111 ok", "card [number] ok"},
		{"call (555) 123-4567 now", "call [phone] now"},
		{"card 4111 1111 1111 1111 ok", "card [number] ok"},
		{"call 555.123.4567", "call [phone]"},
		{"nothing to hide", "nothing to hide"},
		{"sk-short", "sk-short"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// A team that keeps bodies gets the prompt (as JSON turns) and the answer
// in its records, redacted when it asks; the default keeps nothing.
func TestKeepBodies(t *testing.T) {
	tests := []struct {
		mode             string
		prompt, response string
	}{
		{llmservice.LogBodiesOff, "", ""},
		{llmservice.LogBodiesFull, `[{"role":"system","content":"be brief"},{"role":"user","content":"mail bob@example.com"}]`, "sent to bob@example.com"},
		{llmservice.LogBodiesRedacted, `[{"role":"system","content":"be brief"},{"role":"user","content":"mail [email]"}]`, "sent to [email]"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			h := newHarness(t, env{
				instances: []Instance{one("mock", "mock", &fakeProvider{chat: answer("sent to bob@example.com", nil)})},
				team:      &llmservice.Team{ID: "t1", LogBodies: tt.mode},
			})
			req := &llm.ChatRequest{Messages: []llm.Message{llm.TextMessage(llm.RoleSystem, "be brief"), llm.TextMessage(llm.RoleUser, "mail bob@example.com")}}
			if _, err := h.g.Chat(context.Background(), h.call("mock/echo"), req); err != nil {
				t.Fatal(err)
			}
			if rec := h.meter.only(t); rec.Prompt != tt.prompt || rec.Response != tt.response {
				t.Errorf("kept %q / %q; want %q / %q", rec.Prompt, rec.Response, tt.prompt, tt.response)
			}
		})
	}
}

// A stream keeps the text it relayed, within its bound, for the body log.
func TestStreamKeepsBodies(t *testing.T) {
	up := &fakeStream{chunks: helloChunks(nil)}
	h := newHarness(t, env{
		instances: []Instance{one("mock", "mock", &fakeProvider{stream: streamOf(up)})},
		team:      &llmservice.Team{ID: "t1", LogBodies: llmservice.LogBodiesFull},
	})
	s, err := h.g.ChatStream(context.Background(), h.call("mock/echo"), userSays("hi"))
	if err != nil {
		t.Fatal(err)
	}
	drain(t, s)
	s.Close()
	if rec := h.meter.only(t); rec.Prompt != `[{"role":"user","content":"hi"}]` || rec.Response != "Hello" {
		t.Errorf("kept %q / %q", rec.Prompt, rec.Response)
	}
}

func TestStreamTextBounded(t *testing.T) {
	m := &meteredStream{}
	m.keep(string(make([]byte, maxStreamText-3)))
	m.keep("abcdef")
	m.keep("ghi")
	if m.text.Len() != maxStreamText || m.dropped != 6 || m.text.String()[maxStreamText-3:] != "abc" {
		t.Errorf("kept %d bytes, dropped %d; want %d and 6", m.text.Len(), m.dropped, maxStreamText)
	}
}

func TestResponseText(t *testing.T) {
	tests := []struct {
		resp *llm.ChatResponse
		want string
	}{
		{&llm.ChatResponse{Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "one")}}}, "one"},
		{&llm.ChatResponse{Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "a")}, {Message: llm.TextMessage(llm.RoleAssistant, "b")}}}, "ab"},
		{&llm.ChatResponse{Choices: []llm.Choice{{Message: llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{Name: "f", Arguments: `{"x":1}`}}}}}}, `f{"x":1}`},
		{&llm.ChatResponse{}, ""},
	}
	for i, tt := range tests {
		if got := responseText(tt.resp); got != tt.want {
			t.Errorf("case %d: %q; want %q", i, got, tt.want)
		}
	}
}

// FlushUsage waits for the meter's flush at most UsageFlushWait and says
// whether the read that follows may miss records.
func TestFlushUsage(t *testing.T) {
	if FlushUsage(context.Background(), nil) {
		t.Error("nil flush: partial")
	}
	if FlushUsage(context.Background(), func(context.Context) error { return nil }) {
		t.Error("a flush that worked: partial")
	}
	if !FlushUsage(context.Background(), func(context.Context) error { return errors.New("db down") }) {
		t.Error("a failed flush: not partial")
	}
	var deadline time.Time
	FlushUsage(context.Background(), func(ctx context.Context) error {
		deadline, _ = ctx.Deadline()
		return nil
	})
	if d := time.Until(deadline); deadline.IsZero() || d > UsageFlushWait {
		t.Errorf("flush deadline in %v; want one within %v", d, UsageFlushWait)
	}
}
