package athena

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
)

// BenchmarkPrepareTurn measures building the prompt of a new message in a
// conversation of 2000 stored messages: the store cuts the history to the
// window by the token counts kept at insert, so the cost should not grow
// with the conversation's length.
func BenchmarkPrepareTurn(b *testing.B) {
	for _, window := range []int{8192, 128000} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) {
			e := newEnv(b)
			e.h.DefaultContextWindow = window
			ctx := context.Background()
			conv := &llmservice.Conversation{TeamID: "team-a", Model: "gpt-5-mini", SystemMessage: "You are terse."}
			if err := e.db.CreateConversation(ctx, conv); err != nil {
				b.Fatal(err)
			}
			text := strings.Repeat("lorem ipsum dolor sit amet ", 8)
			var msgs []*llmservice.ConversationMessage
			for i := range 2000 {
				role := "user"
				if i%2 == 1 {
					role = "assistant"
				}
				msgs = append(msgs, &llmservice.ConversationMessage{Role: role, Content: text, Tokens: 45})
			}
			if err := e.db.AppendConversationMessages(ctx, "team-a", conv.ID, msgs); err != nil {
				b.Fatal(err)
			}
			c := &caller{p: mustPrincipal(b, e)}
			in := &turnInput{Content: "and now?"}
			b.ResetTimer()
			for b.Loop() {
				t, err := e.h.prepareTurn(ctx, c, conv.ID, in)
				if err != nil {
					b.Fatal(err)
				}
				if t.trimmed == 0 && window == 8192 {
					b.Fatal("nothing trimmed")
				}
			}
		})
	}
}

func mustPrincipal(b *testing.B, e *testEnv) *gateway.Principal {
	p, err := e.gw.Authenticate(context.Background(), keyA)
	if err != nil {
		b.Fatal(err)
	}
	return p
}
